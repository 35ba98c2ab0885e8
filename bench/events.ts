/**
 * Events and real time (issue 15), on the social preset with `simrec serve --workers 2`:
 * The version is the social preset built with defaults but MF and the ranker off (events update neither).
 *  - throughput: events/s through `POST /v1/events` (batches of 100 favs, autocannon on loopback, each batch
 *    acknowledged only once fsync'd in the event log) against the same server's `/healthz` in the same run;
 *  - freshness under that load: from the 202 of the favs of a brand-new item (three users whose InterestedIn
 *    passes the item rule's gate) to the item being returned for its faver's top cluster (a SimClusters query
 *    from the one-cluster embedding, allow-listed to the item), p50/p99 over the probes;
 *  - restart: the server killed with SIGKILL once the log holds ≥ `--restart-events` records since the version;
 *    time from the new process's start to every worker reporting zero lag, against the same server's start with
 *    nothing to replay (a copy of the location without its log), both measured in this run.
 *
 * The load generator and the probes run in this process on the same two cores as the two workers.
 *
 *   npm run bench -- events [--seed 1] [--duration 10] [--connections 16] [--restart-events 1000000]
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/prng.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { checkpointKey } from '../src/serve/applier.ts';
import { waitUntilReady } from '../src/serve/server.ts';
import { openArtifactStore, openEventLog } from '../src/store/open.ts';
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
const BATCH = 100;

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function stop(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const gone = new Promise((r) => server.once('exit', r));
  server.kill(signal);
  await gone;
}

/** Polls /readyz until `polls` answers in a row (any worker) report zero lag; returns the seconds it took. */
async function untilCaughtUp(url: string, t0: number, timeoutMs: number, polls = 6): Promise<number> {
  let inRow = 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    const body = res?.ok ? ((await res.json()) as { lag?: { events: number } }) : null;
    if (!res?.ok) await res?.body?.cancel();
    if (body?.lag?.events === 0) {
      if (++inRow >= polls) return (performance.now() - t0) / 1000;
    } else inRow = 0;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the server at ${url} did not catch up with its log within ${timeoutMs / 1000} s`);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      'restart-events': { type: 'string', default: '1000000' },
    },
  });
  const seed = Number(values.seed);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const restartEvents = Number(values['restart-events']);
  const autocannon = loadAutocannon();

  const root = resolve('bench/out', `events-social-s${seed}`);
  rmSync(root, { recursive: true, force: true });
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  mkdirSync(root, { recursive: true });
  // MF and the ranker are off: neither is updated by events, and together they add minutes to the build.
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ mf: { enabled: false }, ranker: { enabled: false } }));
  for (const args of [
    ['generate', '--preset', 'social', '--out', data, '--seed', String(seed)],
    ['build', '--data', data, '--out', artifacts, '--seed', String(seed), '--config', config],
  ]) {
    const r = spawnSync(process.execPath, ['bin/simrec.js', ...args, '--quiet'], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`simrec ${args[0]} failed (${r.status})`);
  }
  // A copy without a log: the restart baseline (the same version, nothing to replay).
  cpSync(artifacts, join(root, 'baseline'), { recursive: true });
  const { users, items } = await sampleIds(artifacts, seed);

  // Favers for the freshness probes: users whose favScore passes the item rule's gate on their top cluster.
  const store = openArtifactStore(artifacts);
  const reader = await store.openVersion();
  const model = await ServingModel.load(reader);
  const byCluster = new Map<number, string[]>();
  for (const u of users) {
    const fs = await model.userEmbedding(u, 'favScore');
    let best = -1;
    for (let j = 0; j < fs.ids.length; j++) if (best < 0 || fs.values[j] > fs.values[best]) best = j;
    if (best < 0 || fs.values[best] < 1) continue;
    const c = fs.ids[best];
    const list = byCluster.get(c) ?? [];
    list.push(u);
    byCluster.set(c, list);
  }
  const dataTime = model.dataTime ?? Math.floor(Date.now() / 1000);
  await reader.close();
  await store.close();
  const probeClusters = [...byCluster.entries()].filter(([, us]) => us.length >= 3);
  if (probeClusters.length === 0) throw new Error('no cluster with three gated users for the probes');

  const rows: Row[] = [];
  const rng = new Rng(seed);
  const pick = (ids: string[]) => ids[rng.int(ids.length)];
  let server = spawnServe(REPO, artifacts, 2, 'warn');
  try {
    let url = await serveAddress(server);
    await waitUntilReady(url, 120_000);
    const healthz: AutocannonRequest = { method: 'GET', path: '/healthz' };
    await autocannon({ url, connections, duration: 2, requests: [healthz] });
    const h = await autocannon({ url, connections, duration, requests: [healthz] });
    rows.push({
      measure: 'GET /healthz (ceiling)',
      'req/s': Math.round(h.requests.average),
      'events/s': '',
      'p50 ms': h.latency.p50,
      'p99 ms': h.latency.p99,
      'non-2xx': h.non2xx,
      ratio: '1.000',
    });

    let batchNo = 0;
    const eventsRequest: AutocannonRequest = {
      method: 'POST',
      path: '/v1/events',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => {
        const b = batchNo++;
        const events = new Array(BATCH);
        for (let j = 0; j < BATCH; j++)
          events[j] = {
            eventId: `load-${b}-${j}`,
            userId: pick(users),
            action: 'fav',
            itemId: pick(items),
            ts: dataTime,
          };
        return { ...req, body: JSON.stringify({ events }) };
      },
    };

    // Freshness probes, run while the load runs.
    const delays: number[] = [];
    const missed: string[] = [];
    let probing = true;
    let probeNo = 0;
    const probes = (async () => {
      while (probing) {
        const [cluster, favers] = probeClusters[probeNo % probeClusters.length];
        const itemId = `fresh-${seed}-${probeNo++}`;
        const post = (path: string, body: unknown) =>
          fetch(`${url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        // A write shed under load (503/429) is retried, as a client honouring Retry-After would.
        const accepted = async (path: string, body: unknown) => {
          for (;;) {
            const res = await post(path, body);
            await res.body?.cancel();
            if (res.status === 202) return;
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        await accepted('/v1/items', { itemId, createdTs: dataTime });
        await accepted('/v1/events', {
          events: favers.slice(0, 3).map((userId) => ({ userId, action: 'fav', itemId, ts: dataTime })),
        });
        const t0 = performance.now();
        for (;;) {
          const q = await post('/v1/candidates/simclusters', {
            source: { embedding: [[cluster, 1]] },
            params: { limit: 1, allow: [itemId] },
          });
          const body = (await q.json()) as { candidates?: { itemId: string }[] };
          if (body.candidates?.some((c) => c.itemId === itemId)) {
            delays.push(performance.now() - t0);
            break;
          }
          if (performance.now() - t0 > 10_000) {
            // Not found: say why (the item's embedding as served), so a miss is told from a slow apply.
            const emb = await fetch(`${url}/v1/items/${itemId}/embedding`);
            missed.push(`${itemId} (cluster ${cluster}): ${(await emb.text()).slice(0, 300)}`);
            delays.push(Number.POSITIVE_INFINITY);
            break;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await autocannon({ url, connections, duration: 2, requests: [eventsRequest] });
    const e = await autocannon({ url, connections, duration, requests: [eventsRequest] });
    probing = false;
    await probes;
    const accepted = e.statusCodeStats['202']?.count ?? 0;
    rows.push({
      measure: `POST /v1/events (${BATCH} favs per batch, durable)`,
      'req/s': Math.round(e.requests.average),
      'events/s': Math.round((accepted * BATCH) / duration),
      'p50 ms': e.latency.p50,
      'p99 ms': e.latency.p99,
      'non-2xx':
        Object.entries(e.statusCodeStats)
          .filter(([code]) => code !== '202')
          .map(([code, v]) => `${v.count}×${code}`)
          .join(' ') || '0',
      ratio: (e.requests.average / h.requests.average).toFixed(3),
    });
    const lost = delays.filter((d) => !Number.isFinite(d)).length;
    rows.push({
      measure:
        `freshness: fav 202 → in its cluster's candidates (${delays.length} probes${lost ? `, ${lost} > 10 s` : ''}` +
        `; found ones: p99 ${quantile(delays.filter(Number.isFinite), 0.99).toFixed(1)} ms)`,
      'req/s': '',
      'events/s': '',
      'p50 ms': quantile(delays, 0.5).toFixed(1),
      'p99 ms': quantile(delays, 0.99).toFixed(1),
      'non-2xx': '',
      ratio: '',
    });

    // Restart: fill the log up to restartEvents records, kill the server, time the new one's catch-up.
    const fill = async (location: string) => {
      const log = openEventLog(location);
      let next = 0;
      while (log.end() < restartEvents) {
        const chunk = [];
        for (let j = 0; j < 1000; j++)
          chunk.push({
            userId: pick(users),
            action: 'fav',
            itemId: pick(items),
            ts: dataTime,
            weight: 1,
            eventId: `fill-${location.length}-${next++}`,
          });
        await log.append(chunk);
      }
      const n = log.end();
      await log.close();
      return n;
    };
    const records = await fill(artifacts);
    await untilCaughtUp(url, performance.now(), 600_000);
    await stop(server, 'SIGKILL');
    const timeToCaughtUp = async (location: string) => {
      const t0 = performance.now();
      server = spawnServe(REPO, location, 2, 'warn');
      url = await serveAddress(server);
      const s = await untilCaughtUp(url, t0, 600_000);
      await stop(server, 'SIGTERM');
      return s;
    };
    const checkpointOf = (location: string) => {
      const log = openEventLog(location);
      const cps: number[] = [];
      const st = openArtifactStore(location);
      return st
        .openVersion()
        .then(async (r) => {
          const cp = log.getCheckpoint(checkpointKey(r.id));
          if (cp) cps.push(cp.offset);
          await r.close();
        })
        .finally(async () => {
          await st.close();
          await log.close();
        })
        .then(() => (cps.length ? cps[0] : null));
    };
    const killedCheckpoint = await checkpointOf(artifacts);
    const baselineDir = join(root, 'baseline');
    const baseline = await timeToCaughtUp(baselineDir);
    const restart = await timeToCaughtUp(artifacts);
    // The same number of records with no checkpoint at all: appended while no server ran.
    const fullRecords = await fill(baselineDir);
    const fullCheckpoint = await checkpointOf(baselineDir);
    const full = await timeToCaughtUp(baselineDir);
    const restartRow = (measure: string, seconds: number) => ({
      measure,
      'req/s': '',
      'events/s': '',
      'p50 ms': (seconds * 1000).toFixed(0),
      'p99 ms': '',
      'non-2xx': '',
      ratio: (seconds / baseline).toFixed(2),
    });
    rows.push(restartRow('restart, nothing to replay (baseline)', baseline));
    rows.push(
      restartRow(
        `restart after SIGKILL, ${records.toLocaleString('en-US')} records since the version` +
          (killedCheckpoint === null
            ? ', no checkpoint'
            : `, checkpoint at ${killedCheckpoint.toLocaleString('en-US')}`),
        restart,
      ),
    );
    rows.push(
      restartRow(
        `restart, ${fullRecords.toLocaleString('en-US')} records since the version, ` +
          (fullCheckpoint === null ? 'no checkpoint (full replay)' : `checkpoint at ${fullCheckpoint}`),
        full,
      ),
    );

    console.log(
      `\n## Events and real time — ${new Date().toISOString().slice(0, 10)}, ${machine()}, load ${loadavg()[0].toFixed(1)}`,
    );
    console.log(
      `social preset seed ${seed}; simrec serve --workers 2; autocannon ${connections} connections, ${duration} s after 2 s ` +
        `warm-up; ${users.length} users × ${items.length} items rotated; probes: ${probeClusters.length} clusters with three gated favers\n`,
    );
    console.log(table(rows));
    for (const m of missed) console.log(`missed probe: ${m}`);
    const eventsRate = rows[1]['events/s'] as number;
    console.log(
      `goals: ≥ 20,000 events/s durable (got ${eventsRate.toLocaleString('en-US')}), freshness p99 ≤ 1 s (got ` +
        `${rows[2]['p99 ms']} ms); restart "p50 ms" column is the time to zero lag on every worker`,
    );
  } finally {
    await stop(server, 'SIGTERM');
  }
}
