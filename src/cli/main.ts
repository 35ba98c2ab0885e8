/**
 * The `simrec` command line. Each subcommand lives in its own module and exports a `Command`, loaded only when
 * it runs (commands.ts).
 */
import { SimrecError } from '../core/errors.ts';
import { commands } from './commands.ts';

export async function main(argv: string[]): Promise<number> {
  // `simrec export ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    const { CODE_VERSION } = await import('../core/version.ts');
    process.stdout.write(`${CODE_VERSION}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`simrec: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof SimrecError) {
      process.stderr.write(`simrec ${name}: error ${e.code}: ${e.toString()}\n`);
      return e.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    throw e;
  }
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: simrec <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'simrec <command> --help' for a command's options.\n`;
}
