/**
 * The HTTP server under load (issue 6): `simrec serve --workers 2` over the social preset's artifacts, driven on
 * loopback by autocannon with 32 connections. `/healthz` (no work: the ceiling of Fastify + node:cluster + the
 * load generator on this machine) is measured first, then `POST /v1/candidates/simclusters` for user sources
 * (rotating over users that have an InterestedIn, default parameters: N 50, M 400, X 200, Y 50) and
 * `GET /v1/items/:itemId/similar`, in the same run; each row's ratio is against the ceiling.
 *
 * The load generator runs in this process on the same two cores as the server's workers, as a real client on
 * the same host would; its CPU is reported so the figures can be read with that in mind.
 *
 * With --dense the build also trains hybrid MF (mf.enabled, ~1.5 min more) and the dense routes are measured
 * too: `POST /v1/candidates/dense` for the same users and `GET /v1/items/:itemId/similar?source=mf` (no goal
 * of their own; the ratio is against the same ceiling).
 *
 *   npm run bench -- http [--seed 1] [--duration 10] [--connections 32] [--workers 2] [--dense]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      workers: { type: 'string', default: '2' },
      dense: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const workers = Number(values.workers);
  const autocannon = loadAutocannon();

  const root = resolve('bench/out', `http-social-s${seed}`);
  rmSync(root, { recursive: true, force: true });
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  const config = join(root, 'config.json');
  mkdirSync(root, { recursive: true });
  writeFileSync(config, JSON.stringify({ mf: { enabled: values.dense } }));
  // Generated and built by child processes, so the load generator below runs in a process without the
  // build's heap.
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
  const { users, items } = await sampleIds(artifacts, seed);

  const server = spawnServe(REPO, artifacts, workers, 'warn');
  try {
    const url = await serveAddress(server);
    await waitUntilReady(url, 120_000);
    const rng = new Rng(seed);
    const pick = (ids: string[]) => ids[rng.int(ids.length)];
    const routes: { name: string; request: AutocannonRequest }[] = [
      { name: 'GET /healthz (ceiling)', request: { method: 'GET', path: '/healthz' } },
      {
        name: 'POST /v1/candidates/simclusters (user)',
        request: {
          method: 'POST',
          path: '/v1/candidates/simclusters',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ source: { userId: pick(users) } }) }),
        },
      },
      {
        name: 'GET /v1/items/:itemId/similar',
        request: {
          method: 'GET',
          setupRequest: (req) => ({ ...req, path: `/v1/items/${encodeURIComponent(pick(items))}/similar` }),
        },
      },
    ];
    if (values.dense)
      routes.push(
        {
          name: 'POST /v1/candidates/dense (user)',
          request: {
            method: 'POST',
            path: '/v1/candidates/dense',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: JSON.stringify({ source: { userId: pick(users) } }) }),
          },
        },
        {
          name: 'GET /v1/items/:itemId/similar?source=mf',
          request: {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: `/v1/items/${encodeURIComponent(pick(items))}/similar?source=mf`,
            }),
          },
        },
      );
    const rows: Row[] = [];
    let ceiling = 0;
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for (const { name, request } of routes) {
      // Warm-up: JIT, the page cache of the memory-mapped artifacts, connection setup.
      await autocannon({ url, connections, duration: 2, requests: [request] });
      const r = await autocannon({ url, connections, duration, requests: [request] });
      if (ceiling === 0) ceiling = r.requests.average;
      rows.push({
        route: name,
        'req/s': Math.round(r.requests.average),
        'p50 ms': r.latency.p50,
        'p99 ms': r.latency.p99,
        'max ms': r.latency.max,
        requests: r.requests.total,
        'non-2xx': r.non2xx,
        errors: r.errors + r.timeouts,
        'ratio to ceiling': (r.requests.average / ceiling).toFixed(3),
      });
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = Number(process.hrtime.bigint() - wall0) / 1e3;
    const candidates = rows[1];
    console.log(
      `\n## HTTP server — ${new Date().toISOString().slice(0, 10)}, ${machine()}, load ${loadavg()[0].toFixed(1)}`,
    );
    console.log(
      `social preset seed ${seed}; simrec serve --workers ${workers}; autocannon ${connections} connections, ` +
        `${duration} s per route after 2 s warm-up, ${users.length} user ids and ${items.length} item ids ` +
        `rotated; load generator CPU ${((100 * (cpu.user + cpu.system)) / wall).toFixed(0)}% of one core\n`,
    );
    console.log(table(rows));
    console.log(
      `goals (user candidates): ≥ 0.25× ceiling (got ${candidates['ratio to ceiling']}×), ` +
        `≥ 6,000 req/s (got ${candidates['req/s']}), p99 ≤ 20 ms (got ${candidates['p99 ms']} ms)`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}
