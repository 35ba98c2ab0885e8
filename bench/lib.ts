/**
 * Shared benchmark helpers: wall-clock timing, peak RSS, and a plain-text table. Benchmarks print figures and a
 * ratio against a baseline measured in the same run; they never assert on time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { interestedInKey, KEYS } from '../src/artifacts/keys.ts';
import { Rng } from '../src/core/prng.ts';
import { openArtifactStore } from '../src/store/open.ts';

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
  /** A CPU list for `taskset -c` (e.g. "0"): the server and its workers run only there. */
  cpus?: string,
): ChildProcess {
  // BENCH_CPU_PROF=DIR profiles the server and its workers (node:cluster passes execArgv on): one file each.
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const [command, pre] = cpus
    ? ['taskset', ['-c', cpus, process.execPath, ...prof]]
    : [process.execPath, prof];
  return spawn(
    command,
    [
      ...pre,
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

/** The part of autocannon's request API the benchmarks use (it ships no types). */
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}

/** What an autocannon run reports, as far as the benchmarks read it. */
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** autocannon run to completion (closed loop). */
export type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

/** autocannon, typed (it ships no types; it is CommonJS). */
export function loadAutocannon(): Autocannon {
  return createRequire(import.meta.url)('autocannon') as Autocannon;
}

/** The address a `simrec serve` child prints once it listens; rejects if it exits first. */
export function serveAddress(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+?)[ ;(]/.exec(out);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`simrec serve exited (${code}): ${out}`)));
  });
}

/** Users with an InterestedIn and items with an embedding, a seeded sample of each. */
export async function sampleIds(
  artifacts: string,
  seed: number,
  size = 2000,
): Promise<{ users: string[]; items: string[] }> {
  const store = openArtifactStore(artifacts);
  try {
    const r = await store.openVersion();
    const userMap = await r.idMap(KEYS.users);
    const itemMap = await r.idMap(KEYS.items);
    const ii = await r.csr(interestedInKey('logFavScoreClusterNormalized'));
    const emb = await r.csr(KEYS.itemEmbeddings);
    const sample = (n: number, has: (i: number) => boolean, name: (i: number) => string) => {
      const pool: number[] = [];
      for (let i = 0; i < n; i++) if (has(i)) pool.push(i);
      const order = new Rng(seed).permutation(pool.length);
      return Array.from(order.subarray(0, size), (j) => name(pool[j]));
    };
    const users = sample(
      ii.nRows,
      (u) => ii.indptr[u + 1] > ii.indptr[u],
      (u) => userMap.id(u),
    );
    const items = sample(
      emb.nRows,
      (i) => emb.indptr[i + 1] > emb.indptr[i],
      (i) => itemMap.id(i),
    );
    await r.close();
    return { users, items };
  } finally {
    await store.close();
  }
}
