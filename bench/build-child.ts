/**
 * Child process of bench/build.ts: runs the `simrec` CLI in this process (argv after the result file), then
 * writes what only the process itself knows — its peak RSS and CPU time, all threads included — to the result
 * file as JSON. The manifest goes to stdout as usual (`--json`).
 */
import { writeFileSync } from 'node:fs';
import { main } from '../src/cli/main.ts';

const [resultFile, ...argv] = process.argv.slice(2);
const t0 = performance.now();
const code = await main(argv);
const u = process.resourceUsage();
writeFileSync(
  resultFile,
  JSON.stringify({
    code,
    mainSeconds: (performance.now() - t0) / 1000,
    // performance.now() starts at process start, so this is Node's and tsx's start-up plus module loading.
    startupSeconds: t0 / 1000,
    maxRssMiB: u.maxRSS / 1024,
    userSeconds: u.userCPUTime / 1e6,
    systemSeconds: u.systemCPUTime / 1e6,
  }),
);
process.exitCode = code;
