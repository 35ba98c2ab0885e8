/**
 * Shared benchmark helpers: wall-clock timing, peak RSS, and a plain-text table. Benchmarks print figures and a
 * ratio against a baseline measured in the same run; they never assert on time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

export interface Row {
  [column: string]: string | number;
}

export function time<T>(fn: () => T): { value: T; seconds: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Peak resident set size of this process so far, in MiB (getrusage's maxrss is in KiB on Linux). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e4) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

/** A Markdown table (so it pastes into BENCHMARKS.md as is). */
export function table(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)\n';
  // Columns of every row, in first-seen order: a row may lack some (e.g. a cached step has no timing).
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) =>
    cols.map((c) => (typeof r[c] === 'number' ? fmt(r[c] as number) : String(r[c] ?? ''))),
  );
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return (
    [line(cols), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n') + '\n'
  );
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** `simrec serve` of `artifacts` on a free port in a child process (stdout piped: it prints the address). */
export function spawnServe(
  repo: string,
  artifacts: string,
  workers: number,
  logLevel: 'warn' | 'error',
  extra: string[] = [],
): ChildProcess {
  return spawn(
    process.execPath,
    [
      'bin/simrec.js',
      'serve',
      '--artifacts',
      artifacts,
      '--port',
      '0',
      '--workers',
      String(workers),
      '--log-level',
      logLevel,
      '--poll-ms',
      '0',
      ...extra,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
}
