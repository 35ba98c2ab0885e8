/**
 * Two-stage recommendations over HTTP (issue 16): `simrec serve --workers 2` over the social preset built with
 * the default config (`mf.enabled: true` given explicitly, the default since MF became the default strategy's
 * dense source, so ~400–500 candidates are merged per request), driven on loopback by autocannon. `/healthz` (no work) is measured first as the
 * ceiling of Fastify + node:cluster + the load generator on this machine, then
 * `GET /v1/users/:userId/recommendations?limit=20` (default strategy: every source, the trained ranker, 10%
 * exploration) rotating over users with an InterestedIn, and the same with `explain=true`; each row's ratio is
 * against the ceiling. Before the load, a sample of requests reports the candidates merged per request.
 *
 * The load generator runs in this process on the same cores as the server's workers; its CPU is reported.
 * Before the server starts, the same requests run in this process without HTTP: the engine's CPU per request,
 * the floor under what the server can answer per core.
 * The built artifacts are kept in bench/out and reused by a later run unless --rebuild.
 *
 *   npm run bench -- recommend [--seed 1] [--duration 10] [--connections 32] [--workers 2] [--rebuild]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/prng.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { recommend } from '../src/recommend/engine.ts';
import { waitUntilReady } from '../src/serve/server.ts';
import { openArtifactStore } from '../src/store/open.ts';
import {
  type AutocannonRequest,
  fmt,
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
      rebuild: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const workers = Number(values.workers);
  const autocannon = loadAutocannon();

  const root = resolve('bench/out', `recommend-social-s${seed}`);
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  const config = join(root, 'config.json');
  if (values.rebuild || !existsSync(join(root, 'built'))) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    writeFileSync(config, JSON.stringify({ mf: { enabled: true } }));
    for (const args of [
      ['generate', '--preset', 'social', '--out', data, '--seed', String(seed)],
      ['build', '--data', data, '--out', artifacts, '--seed', String(seed), '--config', config, '--quiet'],
    ]) {
      const r = spawnSync(process.execPath, ['bin/simrec.js', ...args], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`simrec ${args[0]} failed (${r.status})`);
    }
    writeFileSync(join(root, 'built'), new Date().toISOString());
  }
  const { users } = await sampleIds(artifacts, seed);
  const floor = await inProcessCost(artifacts, users);

  const server = spawnServe(REPO, artifacts, workers, 'warn');
  try {
    const url = await serveAddress(server);
    await waitUntilReady(url, 120_000);
    // What a request does: candidates merged, sources answering, scoring, over a sample of users.
    let merged = 0;
    let answered = 0;
    let scoring = '';
    const perSource = new Map<string, number>();
    for (const u of users.slice(0, 200)) {
      // /readyz answered from one worker; the other may still be loading the version (503 until then).
      let res = await fetch(`${url}/v1/users/${encodeURIComponent(u)}/recommendations?limit=20`);
      for (let t = 0; res.status === 503 && t < 600; t++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetch(`${url}/v1/users/${encodeURIComponent(u)}/recommendations?limit=20`);
      }
      if (res.status !== 200)
        throw new Error(`GET recommendations for ${u}: ${res.status} ${await res.text()}`);
      const r = (await res.json()) as {
        scoring: string;
        stats: { candidates: number; sources: Record<string, { returned?: number }> };
      };
      merged += r.stats.candidates;
      answered++;
      scoring = r.scoring;
      for (const [s, st] of Object.entries(r.stats.sources))
        perSource.set(s, (perSource.get(s) ?? 0) + (st.returned ?? 0));
    }
    const rng = new Rng(seed);
    const pick = () => users[rng.int(users.length)];
    const low = Math.min(4, connections);
    const routes: { name: string; request: AutocannonRequest; connections: number }[] = [
      { name: 'GET /healthz (ceiling)', request: { method: 'GET', path: '/healthz' }, connections },
      {
        name: 'GET /v1/users/:userId/recommendations?limit=20',
        request: {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/v1/users/${encodeURIComponent(pick())}/recommendations?limit=20`,
          }),
        },
        connections,
      },
      {
        name: '… &explain=true',
        request: {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/v1/users/${encodeURIComponent(pick())}/recommendations?limit=20&explain=true`,
          }),
        },
        connections,
      },
      {
        // Below the shedding point: the latency of a request that is not queued behind 31 others.
        name: `GET …/recommendations?limit=20, ${low} connections`,
        request: {
          method: 'GET',
          setupRequest: (req) => ({
            ...req,
            path: `/v1/users/${encodeURIComponent(pick())}/recommendations?limit=20`,
          }),
        },
        connections: low,
      },
    ];
    const rows: Row[] = [];
    let ceiling = 0;
    const load0 = loadavg()[0];
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for (const { name, request, connections: c } of routes) {
      // Warm-up: JIT, the page cache of the memory-mapped artifacts, connection setup.
      await autocannon({ url, connections: c, duration: 2, requests: [request] });
      const r = await autocannon({ url, connections: c, duration, requests: [request] });
      if (ceiling === 0) ceiling = r.requests.average;
      rows.push({
        route: name,
        connections: c,
        'req/s': Math.round(r.requests.average),
        // Shed requests (503 SERVER_OVERLOADED after --max-queue-ms in the queue) are answered fast and counted
        // in req/s; the answered ones are what a client got.
        '2xx/s': Math.round((r.requests.total - r.non2xx) / duration),
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
    const rec = rows[1];
    const calm = rows[3];
    const sources = [...perSource].map(([s, n]) => `${s} ${fmt(n / answered, 0)}`).join(', ');
    console.log(
      `\n## Two-stage recommendations over HTTP — ${new Date().toISOString().slice(0, 10)}, ${machine()}, ` +
        `load ${load0.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
    );
    console.log(
      `social preset seed ${seed} built with the default config (MF on); simrec serve --workers ${workers}; ` +
        `autocannon ${connections} connections, ${duration} s per route after 2 s warm-up, ${users.length} ` +
        `user ids rotated; scoring ${scoring}; candidates merged per request ${fmt(merged / answered, 0)} ` +
        `(mean of ${answered}; returned per source: ${sources}); load generator CPU ` +
        `${((100 * (cpu.user + cpu.system)) / wall).toFixed(0)}% of one core\n`,
    );
    console.log(table(rows));
    console.log(
      `\nin process, no HTTP (this process, one thread): recommend() for limit 20 costs ` +
        `${floor.cpuMs.toFixed(2)} ms of CPU per request (median of 3 × ${floor.requests} requests), so ${workers} ` +
        `cores answer at most ${Math.round((workers * 1000) / floor.cpuMs)} req/s before any HTTP, JSON or load ` +
        `generator cost`,
    );
    const met = (r: Row) => Number(r['p99 ms']) <= 20 && Number(r['2xx/s']) >= 2000;
    console.log(
      `goal (limit 20): p99 ≤ 20 ms at ≥ 2,000 answered req/s — ${connections} connections: p99 ` +
        `${rec['p99 ms']} ms at ${rec['2xx/s']} 2xx/s (${met(rec) ? 'met' : 'not met'}); ${low} connections: p99 ` +
        `${calm['p99 ms']} ms at ${calm['2xx/s']} 2xx/s (${met(calm) ? 'met' : 'not met'})`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

/**
 * The CPU one recommend() call costs in this process (the engine alone: no HTTP, no JSON), median of three
 * rounds over the same rotated users after a warm-up: the floor under what any number of connections can get.
 */
async function inProcessCost(
  artifacts: string,
  users: string[],
): Promise<{ cpuMs: number; requests: number }> {
  const store = openArtifactStore(artifacts);
  const reader = await store.openVersion();
  try {
    const model = await ServingModel.load(reader);
    const requests = 1000;
    for (let i = 0; i < 300; i++) await recommend(model, { userId: users[i % users.length] }, { limit: 20 });
    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < requests; i++)
        await recommend(model, { userId: users[(7 * i + round) % users.length] }, { limit: 20 });
      const cpu = process.cpuUsage(cpu0);
      rounds.push((cpu.user + cpu.system) / 1000 / requests);
    }
    rounds.sort((a, b) => a - b);
    return { cpuMs: rounds[1], requests };
  } finally {
    await reader.close();
    await store.close();
  }
}
