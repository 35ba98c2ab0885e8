/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts, which prints a Markdown table of its figures and
 * ratios against a baseline measured in the same run.
 */
import { existsSync, readdirSync } from 'node:fs';

const [name, ...rest] = process.argv.slice(2);
const here = new URL('.', import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f) && !f.endsWith('-child.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !existsSync(new URL(`${name}.ts`, here))) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(name ? 2 : 0);
}
const mod = (await import(new URL(`${name}.ts`, here).href)) as { run(argv: string[]): Promise<void> };
await mod.run(rest);
