/**
 * The HTTP server beyond its capacity (issue 13 case 12): `simrec serve --workers 2` over the social preset,
 * `POST /v1/candidates/simclusters` for rotating users. Capacity (1×) is measured first, closed loop with 64
 * connections, as the rate of answered (2xx) requests; then autocannon offers 1×, 2× and 4× that rate from 1,000 connections (`overallRate`), and a
 * second process probes `/healthz` every 50 ms throughout, a third the same on the health port (`--health-port`,
 * answered by a thread of its own). Each row gives what was accepted (2xx) per second,
 * the p99 and max latency of accepted requests, the share shed (503 SERVER_OVERLOADED), and the server's RSS
 * (primary + workers, peak of 1 s samples), and what the server could accept if every 503 cost as much CPU as
 * a closed-loop /healthz (sheddingEstimate: an estimate, not a bound — under 1,000 connections the event loop reads
 * many requests per wake-up, so a 503 costs less than that, and measured ratios exceed it). A last row offers 2× to a server
 * with shedding off (`--max-queue-ms 0`), the same-run baseline of what shedding buys.
 *
 * autocannon's fixed rate is a quota per connection per second, refilled for all connections at once, so one
 * instance offers each second's requests in one burst at its start. The 1,000 connections are therefore split
 * into 50 instances of 20, started 20 ms apart: 50 smaller bursts a second, each near 20 ms of the server's work
 * at 1×, which is what an offered rate means.
 *
 *   npm run bench -- overload [--seed 1] [--duration 10] [--workers 2] [--pin] [--max-queue-ms MS]
 *
 * --pin runs the server on every CPU but the last (--workers defaults to their count) and this process on the
 * last one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/prng.ts';
import { waitUntilReady } from '../src/serve/server.ts';
import {
  type AutocannonRequest,
  machine,
  type Row,
  sampleIds,
  serveAddress,
  spawnServe,
  table,
} from './lib.ts';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface Instance extends PromiseLike<AutocannonResult> {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  timeout?: number;
  requests: AutocannonRequest[];
}) => Instance;

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CONNECTIONS = 1000;
const GROUPS = 50;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '10' },
      workers: { type: 'string' },
      pin: { type: 'boolean', default: false },
      'max-queue-ms': { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  const duration = Number(values.duration);
  // --pin: the load generator (this process, with the /healthz probe it starts) on the last CPU, the server on
  // the others, so that generating and answering the excess load does not take CPU from the server under test:
  // what a load generator on another host would give, on one machine.
  const nCpus = availableParallelism();
  const pinned = values.pin && nCpus > 1 ? pinLoadGenerator(nCpus) : null;
  const workers = Number(values.workers ?? (pinned ? nCpus - 1 : 2));
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

  const root = resolve('bench/out', `overload-social-s${seed}`);
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  const config = join(root, 'config.json');
  mkdirSync(root, { recursive: true });
  // The route under load reads SimClusters only: MF and the ranker (on by default) would add minutes of build.
  writeFileSync(config, JSON.stringify({ mf: { enabled: false }, ranker: { enabled: false } }));
  // Generated and built once per seed; a later run reuses them.
  if (!existsSync(join(artifacts, 'CURRENT')))
    for (const args of [
      ['generate', '--preset', 'social', '--out', data, '--seed', String(seed)],
      ['build', '--data', data, '--out', artifacts, '--seed', String(seed), '--config', config],
    ]) {
      const r = spawnSync(process.execPath, ['bin/simrec.js', ...args], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`simrec ${args[0]} failed (${r.status})`);
    }
  const { users } = await sampleIds(artifacts, seed);
  const rng = new Rng(seed);
  const request: AutocannonRequest = {
    method: 'POST',
    path: '/v1/candidates/simclusters',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => ({
      ...req,
      body: JSON.stringify({ source: { userId: users[rng.int(users.length)] } }),
    }),
  };

  const rows: Row[] = [];
  let capacity = 0;
  let cheapest = 0;
  let oneX = 0;
  const load = new Set<number>();
  const sampleLoad = setInterval(() => load.add(Math.round(loadavg()[0] * 10) / 10), 5000);
  try {
    const queue = values['max-queue-ms'] === undefined ? [] : ['--max-queue-ms', values['max-queue-ms']];
    await withServer(artifacts, workers, queue, pinned, async (url, server, healthUrl) => {
      // The cheapest request the server answers: what answering a shed request costs, about (both are parsed,
      // routed and answered with a small JSON body; a shed one stops in the first hook).
      const healthz: AutocannonRequest = { method: 'GET', path: '/healthz' };
      await autocannon({ url, connections: 64, duration: 2, requests: [healthz] });
      const h = await autocannon({ url, connections: 64, duration, requests: [healthz] });
      cheapest = Math.round(h.requests.average);
      rows.push({
        offered: 'closed loop, 64 connections: GET /healthz',
        'offered req/s': '—',
        'accepted req/s': cheapest,
        'p99 accepted ms': h.latency.p99,
        'max accepted ms': h.latency.max,
        shed: '—',
        'ratio to 1×': '—',
      });
      await autocannon({ url, connections: 64, duration: 2, requests: [request] });
      const c = await autocannon({ url, connections: 64, duration, requests: [request] });
      // What was answered, not what was shed: 64 requests in flight can queue past --max-queue-ms, and a shed
      // request is cheap, so counting 503s would overstate the capacity by however many were shed in this run.
      capacity = Math.round((c.requests.total - c.non2xx) / duration);
      rows.push({
        offered: 'closed loop, 64 connections',
        'offered req/s': '—',
        'accepted req/s': capacity,
        'p99 accepted ms': c.latency.p99,
        'max accepted ms': c.latency.max,
        shed: `${((100 * c.non2xx) / Math.max(1, c.requests.total)).toFixed(1)}%`,
        'ratio to 1×': '—',
      });
      for (const m of [1, 2, 4]) {
        const row = await offer(autocannon, url, healthUrl, server, request, m * capacity, duration);
        if (m === 1) oneX = row.accepted;
        rows.push({
          ...describe(`${m}× capacity`, m * capacity, row, oneX),
          'ratio if a 503 cost a /healthz': sheddingEstimate(capacity, cheapest, m).toFixed(2),
        });
      }
    });
    await withServer(artifacts, workers, ['--max-queue-ms', '0'], pinned, async (url, server, healthUrl) => {
      await autocannon({ url, connections: 64, duration: 2, requests: [request] });
      const row = await offer(autocannon, url, healthUrl, server, request, 2 * capacity, duration);
      rows.push(describe('2×, shedding off', 2 * capacity, row, oneX));
    });
  } finally {
    clearInterval(sampleLoad);
  }
  const [, x2, x4] = rows.slice(2);
  console.log(
    `\n## Overload — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${machine()}, load ${[...load].join('–')}`,
  );
  console.log(
    `social preset seed ${seed}; simrec serve --workers ${workers} (shedding: --max-queue-ms ${values['max-queue-ms'] ?? '20, the default'}); ` +
      (pinned ? `server pinned to CPU ${pinned}, load generator and probe to CPU ${nCpus - 1}; ` : '') +
      `POST /v1/candidates/simclusters, ${users.length} users rotated; autocannon in this process, 1,000 ` +
      `connections at a fixed rate (${GROUPS} staggered instances), ${duration} s per row after a 2 s warm-up ` +
      `(capacity row: 64 connections, closed loop); /healthz probed every 50 ms from another process\n`,
  );
  console.log(table(rows));
  console.log(
    `goals: accepted at 2× and 4× ≥ 0.9× the 1× figure (got ${x2['ratio to 1×']}, ${x4['ratio to 1×']}; the ` +
      `estimate if a 503 cost a closed-loop /healthz: ${x2['ratio if a 503 cost a /healthz']}, ` +
      `${x4['ratio if a 503 cost a /healthz']}); ` +
      `p99 of accepted ≤ 50 ms (got ${x2['p99 accepted ms']}, ${x4['p99 accepted ms']}; on connections already ` +
      `open ${x2['p99 / max on open connections ms']}, ${x4['p99 / max on open connections ms']} p99 / max); /healthz p99 ≤ 10 ms ` +
      `(got ${x2['/healthz p99 ms']}, ${x4['/healthz p99 ms']} on the request port; ` +
      `${x2['health port p99 / max ms']}, ${x4['health port p99 / max ms']} p99 / max on the health port)`,
  );
}

interface Offered {
  accepted: number;
  /** Latencies of accepted requests on connections that had already been answered once. */
  acceptedMs: number[];
  /** Latencies of accepted first requests of connections (accept-queue wait included). */
  firstMs: number[];
  shed: number;
  other: number;
  total: number;
  timeouts: number;
  health: { ms: number; status: number }[];
  /** The same probe on the health port (`--health-port`). */
  healthPort: { ms: number; status: number }[];
  rssMiB: number;
  seconds: number;
  /** This process's event-loop delay p99 and its CPU share over the row: a saturated generator adds to latency. */
  generatorDelayP99Ms: number;
  generatorCpu: number;
  /** Connections the kernel dropped because the listen queue was full (Linux, machine-wide) during the row. */
  listenDrops: number;
}

async function offer(
  autocannon: Autocannon,
  url: string,
  healthUrl: string,
  server: ChildProcess,
  request: AutocannonRequest,
  rate: number,
  duration: number,
): Promise<Offered> {
  // One probe on the request port, one on the health port (answered by a thread of its own).
  const probes = [url, healthUrl].map((at) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./health-probe-child.ts', import.meta.url)), at, '50'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    return { child, out: () => out };
  });
  let rssMiB = 0;
  const sampleRss = setInterval(() => {
    rssMiB = Math.max(rssMiB, treeRssMiB(server.pid ?? 0));
  }, 1000);
  const drops0 = listenDrops();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const acceptedMs: number[] = [];
  const firstMs: number[] = [];
  const answered = new WeakMap<object, number>();
  let shed = 0;
  let other = 0;
  const groups: Promise<AutocannonResult>[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const instance = autocannon({
      url,
      connections: CONNECTIONS / GROUPS,
      // the rate spread over the groups, the remainder to the first ones
      overallRate: Math.floor(rate / GROUPS) + (g < Math.round(rate) % GROUPS ? 1 : 0),
      duration,
      timeout: 10,
      requests: [request],
    });
    instance.on('response', (client, status, _bytes, ms) => {
      // autocannon writes a connection's first request before the connection is accepted, so its latency
      // includes the wait in the kernel's accept queue: kept apart from requests on connections already open.
      const n = (answered.get(client as object) ?? 0) + 1;
      answered.set(client as object, n);
      if (status >= 200 && status < 300) (n === 1 ? firstMs : acceptedMs).push(ms);
      else if (status === 503) shed++;
      else other++;
    });
    groups.push(Promise.resolve(instance));
    await new Promise((r) => setTimeout(r, 1000 / GROUPS));
  }
  const results = await Promise.all(groups);
  delay.disable();
  const cpu = process.cpuUsage(cpu0);
  const generatorCpu = (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
  // Each group offers its share for `duration` seconds; the stagger only shifts when.
  const seconds = duration;
  clearInterval(sampleRss);
  for (const p of probes) p.child.kill('SIGTERM');
  await Promise.all(probes.map((p) => new Promise((r) => p.child.once('exit', r))));
  const [health, healthPort] = probes.map(
    (p) => JSON.parse(p.out().trim() || '[]') as { ms: number; status: number }[],
  );
  return {
    accepted: (acceptedMs.length + firstMs.length) / seconds,
    acceptedMs,
    firstMs,
    shed,
    other,
    total: acceptedMs.length + firstMs.length + shed + other,
    timeouts: results.reduce((n, r) => n + r.timeouts + r.errors, 0),
    health,
    healthPort,
    rssMiB,
    seconds,
    generatorDelayP99Ms: delay.percentile(99) / 1e6,
    listenDrops: listenDrops() - drops0,
    generatorCpu,
  };
}

function describe(name: string, rate: number, o: Offered, oneX: number): Row {
  const sorted = Float64Array.from(o.acceptedMs).sort();
  const all = Float64Array.from([...o.acceptedMs, ...o.firstMs]).sort();
  const first = Float64Array.from(o.firstMs).sort();
  const healthMs = Float64Array.from(o.health.map((h) => h.ms)).sort();
  const portMs = Float64Array.from(o.healthPort.map((h) => h.ms)).sort();
  const p99 = (a: Float64Array) => (a.length ? a[Math.min(a.length - 1, Math.floor(0.99 * a.length))] : NaN);
  return {
    offered: name,
    'offered req/s': Math.round(rate),
    'accepted req/s': Math.round(o.accepted),
    'p99 accepted ms': Math.round(p99(all)),
    'max accepted ms': Math.round(all[all.length - 1] ?? NaN),
    'p99 / max on open connections ms': `${Math.round(p99(sorted))} / ${Math.round(sorted[sorted.length - 1] ?? NaN)}`,
    'first request of a connection: accepted, median / max ms': `${first.length}, ${Math.round(first[first.length >> 1] ?? NaN)} / ${Math.round(first[first.length - 1] ?? NaN)}`,
    shed: `${((100 * o.shed) / Math.max(1, o.total)).toFixed(1)}%`,
    'other non-2xx': o.other,
    'errors+timeouts': o.timeouts,
    '/healthz p99 ms': Math.round(p99(healthMs) * 10) / 10,
    '/healthz max ms': Math.round((healthMs[healthMs.length - 1] ?? NaN) * 10) / 10,
    '/healthz non-200': o.health.filter((h) => h.status !== 200).length,
    'health port p99 / max ms': `${Math.round(p99(portMs) * 10) / 10} / ${Math.round((portMs[portMs.length - 1] ?? NaN) * 10) / 10}`,
    'health port non-200': o.healthPort.filter((h) => h.status !== 200).length,
    'server RSS MiB': Math.round(o.rssMiB),
    'ratio to 1×': oneX > 0 ? (o.accepted / oneX).toFixed(2) : '1.00',
    'listen queue drops': Number.isNaN(o.listenDrops) ? '—' : o.listenDrops,
    'generator CPU / loop delay p99 ms': `${Math.round(o.generatorCpu * 100)}% / ${Math.round(o.generatorDelayP99Ms)}`,
  };
}

/**
 * What a server could accept at m× its capacity C if each shed request cost what its cheapest request costs in a
 * closed loop (capacity H), as a ratio to C: CPU per second is a/C + (mC − a)/H = 1, so a = C(H − mC)/(H − C).
 * An estimate of what answering 503s costs, not a bound: with many connections one event-loop wake-up reads
 * many requests, so a 503 costs less than a closed-loop /healthz.
 */
function sheddingEstimate(capacity: number, cheapest: number, m: number): number {
  if (m <= 1) return 1;
  if (!(cheapest > capacity)) return 0;
  return Math.max(0, (cheapest - m * capacity) / (cheapest - capacity));
}

/** Pins this process (every thread, and the children it starts) to the last CPU; returns the server's CPU list. */
function pinLoadGenerator(nCpus: number): string {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(nCpus - 1), String(process.pid)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr || r.error}`);
  return nCpus === 2 ? '0' : `0-${nCpus - 2}`;
}

/** TcpExtListenDrops from /proc/net/netstat (NaN elsewhere). */
function listenDrops(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    return Number(values[names.indexOf('ListenDrops')]);
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process and all its descendants, MiB (Linux /proc). */
function treeRssMiB(pid: number): number {
  let kib = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const c of children ? children.split(/\s+/) : []) visit(Number(c));
      }
    } catch {
      // the process exited between listing and reading
    }
  };
  visit(pid);
  return kib / 1024;
}

async function withServer(
  artifacts: string,
  workers: number,
  extra: string[],
  cpus: string | null,
  fn: (url: string, server: ChildProcess, healthUrl: string) => Promise<void>,
): Promise<void> {
  const server = spawnServe(
    REPO,
    artifacts,
    workers,
    'error',
    [...extra, '--health-port', '0'],
    cpus ?? undefined,
  );
  try {
    const healthUrl = new Promise<string>((resolve) => {
      let out = '';
      server.stdout?.on('data', (d) => {
        out += d;
        const m = /health checks also at (http:\/\/\S+)\/healthz/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    const url = await serveAddress(server);
    await waitUntilReady(url, 120_000);
    await fn(url, server, await healthUrl);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}
