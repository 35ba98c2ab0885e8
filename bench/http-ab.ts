/**
 * The user-candidates route of this checkout against another checkout's (a commit before a change), measured
 * alternately on the same machine state: `simrec serve --workers 2` of each, over the social preset built by
 * each checkout's own code, answers a fixed number of `POST /v1/candidates/simclusters` requests (rotating
 * users, autocannon on loopback), and the CPU time the server's processes spent is read from /proc. CPU per
 * answered request moves far less with other jobs on the machine than req/s does, and alternating the two
 * servers run by run gives both the same conditions. req/s and p99 of each run are reported too.
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)   # or copy node_modules and native/build
 *   npm run bench -- http-ab --baseline /tmp/before [--runs 5] [--requests 20000] [--connections 16] [--seed 1]
 *                            [--same-artifacts]
 *
 * --same-artifacts serves the baseline's build from both checkouts, so the comparison is of serving code alone.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/prng.ts';
import { waitUntilReady } from '../src/serve/server.ts';
import {
  type AutocannonRequest,
  loadAutocannon,
  machine,
  type Row,
  sampleIds,
  serveAddress,
  spawnServe,
  table,
} from './lib.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string' },
      runs: { type: 'string', default: '5' },
      requests: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '16' },
      seed: { type: 'string', default: '1' },
      'same-artifacts': { type: 'boolean', default: false },
    },
  });
  if (!values.baseline)
    throw new Error('--baseline DIR (a checkout of the commit to compare with) is required');
  const baseline = resolve(values.baseline);
  const seed = Number(values.seed);
  const runs = Number(values.runs);
  const amount = Number(values.requests);
  const connections = Number(values.connections);
  // autocannon's `amount` (a fixed number of requests) is not in the shared type.
  const autocannon = loadAutocannon() as unknown as (o: Record<string, unknown>) => Promise<{
    requests: { average: number; total: number };
    latency: { p99: number };
    non2xx: number;
  }>;

  const root = resolve('bench/out', `http-ab-s${seed}`);
  const data = join(root, 'data');
  mkdirSync(root, { recursive: true });
  const config = join(root, 'config.json');
  // MF off: the route reads SimClusters only. A key older checkouts reject (ranker) is left out.
  writeFileSync(config, JSON.stringify({ mf: { enabled: false } }));
  const checkouts = [
    { name: 'baseline', repo: baseline, artifacts: join(root, 'artifacts-baseline') },
    { name: 'this checkout', repo: REPO, artifacts: join(root, 'artifacts-current') },
  ];
  const simrec = (repo: string, args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/simrec.js', ...args], {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`simrec ${args[0]} in ${repo} failed (${r.status})`);
  };
  if (!existsSync(join(data, 'generator.json')))
    simrec(REPO, ['generate', '--preset', 'social', '--out', data, '--seed', String(seed)]);
  for (const c of checkouts)
    if (!existsSync(join(c.artifacts, 'CURRENT')))
      simrec(c.repo, [
        'build',
        '--data',
        data,
        '--out',
        c.artifacts,
        '--seed',
        String(seed),
        '--config',
        config,
      ]);
  // --same-artifacts: both servers answer from the baseline's build (a copy each, since a server keeps its event
  // log in the artifact location), so only the serving code differs, not the version it serves.
  if (values['same-artifacts'])
    for (const c of checkouts) {
      const copy = join(root, `same-${c.name === 'baseline' ? 'baseline' : 'current'}`);
      rmSync(copy, { recursive: true, force: true });
      cpSync(join(root, 'artifacts-baseline'), copy, { recursive: true });
      c.artifacts = copy;
    }
  const { users } = await sampleIds(checkouts[1].artifacts, seed);

  const perRequest: number[][] = [[], []];
  const rows: Row[] = [];
  const load0 = loadavg()[0];
  for (let r = 0; r < runs; r++)
    for (let k = 0; k < 2; k++) {
      const c = checkouts[k];
      const server = spawnServe(c.repo, c.artifacts, 2, 'warn');
      try {
        const url = await serveAddress(server);
        await waitUntilReady(url, 120_000);
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
        await autocannon({ url, connections, duration: 3, requests: [request] });
        const pids = processTree(server.pid ?? 0);
        const cpu0 = cpuSeconds(pids);
        const res = await autocannon({ url, connections, amount, requests: [request] });
        const cpu = cpuSeconds(pids) - cpu0;
        const answered = res.requests.total - res.non2xx;
        const us = (1e6 * cpu) / answered;
        perRequest[k].push(us);
        rows.push({
          run: String(r + 1),
          code: c.name,
          'CPU µs / answered request': Math.round(us),
          'req/s': Math.round(res.requests.average),
          'p99 ms': res.latency.p99,
          'shed (503)': res.non2xx,
        });
      } finally {
        server.kill('SIGTERM');
        await new Promise((done) => server.once('exit', done));
      }
    }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const [b, a] = perRequest.map(med);
  console.log(
    `\n## HTTP A/B — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${machine()}, load ` +
      `${load0.toFixed(1)}–${loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `baseline ${baseline}; social preset seed ${seed} ${values['same-artifacts'] ? 'built by the baseline, served by both' : 'built by each checkout'}; simrec serve --workers 2; ` +
      `${amount} POST /v1/candidates/simclusters per run, ${connections} connections, runs alternated\n`,
  );
  console.log(table(rows));
  console.log(
    `\nmedian CPU per answered request: baseline ${Math.round(b)} µs, this checkout ${Math.round(a)} µs; ` +
      `ratio baseline/this (≥ 1: not slower) ${(b / a).toFixed(3)}`,
  );
}

/** A process and its descendants (Linux /proc). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(d));
      children.set(parent, list);
    } catch {
      // exited while listed
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** User + system CPU seconds of the processes (clock ticks of 1/100 s, Linux's USER_HZ). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids)
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  return ticks / 100;
}
