/**
 * Applying the event log to the live overlay in process (issue 15): records/s through LiveOverlay.apply for the
 * stream `npm run bench -- events` sends — favs of 2,000 sampled users on 2,000 sampled items, every one at the
 * version's data time — on the social preset built once with MF and the ranker off (events update neither).
 * Baseline in the same run: the same stream as `click` records (counters only, no embedding update), so the
 * ratio is what a fav costs over the per-record work every action pays. A checksum of the resulting cluster
 * lists and item rows is printed, so two code versions can be told to leave the same state.
 *
 * Records are applied in reads of --read-batch (the applier's readBatch) after --warmup records of the same
 * stream (JIT, item rows created); each row is timed on a fresh overlay.
 *
 *   npm run bench -- apply [--seed 1] [--records 100000] [--warmup 20000] [--read-batch 4096] [--repeat 3]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoggedRecord, UserEvent } from '../src/core/event.ts';
import { Rng } from '../src/core/prng.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { LiveOverlay } from '../src/query/live/overlay.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { openArtifactStore } from '../src/store/open.ts';
import { machine, type Row, sampleIds, table } from './lib.ts';

/** The cluster lists and item rows an overlay publishes, hashed. */
function stateDigest(overlay: LiveOverlay, k: number): string {
  const h = createHash('sha256');
  for (let c = 0; c < k; c++) {
    const n = overlay.clusterLength(c);
    h.update(new Uint8Array(Int32Array.of(c, n).buffer));
    h.update(new Uint8Array(overlay.clusterIds(c).slice(0, n).buffer));
    h.update(new Uint8Array(overlay.clusterScores(c).slice(0, n).buffer));
  }
  for (let i = 0; i < overlay.itemCount; i++) {
    const row = overlay.itemRow(i);
    if (!row) continue;
    h.update(new Uint8Array(Int32Array.of(i).buffer));
    h.update(new Uint8Array(row.ids.buffer, row.ids.byteOffset, row.ids.byteLength));
    h.update(new Uint8Array(row.values.buffer, row.values.byteOffset, row.values.byteLength));
  }
  h.update(new Uint8Array(overlay.itemNorms.slice(0, overlay.itemCount).buffer));
  return h.digest('hex').slice(0, 16);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      records: { type: 'string', default: '100000' },
      warmup: { type: 'string', default: '20000' },
      'read-batch': { type: 'string', default: '4096' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const seed = Number(values.seed);
  const nRecords = Number(values.records);
  const warmup = Number(values.warmup);
  const readBatch = Number(values['read-batch']);
  const repeat = Number(values.repeat);

  const root = resolve('bench/out', `apply-social-s${seed}`);
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  if (!existsSync(join(artifacts, 'CURRENT'))) {
    mkdirSync(root, { recursive: true });
    await generateSynthetic({ preset: 'social', outDir: data, seed });
    const config = resolveBuildConfig(undefined, {
      seed,
      mf: { enabled: false },
      ranker: { enabled: false },
    });
    await runBuild({ data, out: artifacts, config });
  }
  const { users, items } = await sampleIds(artifacts, seed);
  const store = openArtifactStore(artifacts);
  const reader = await store.openVersion();
  const model = await ServingModel.load(reader);
  const ts = model.dataTime ?? 0;
  const k = model.liveBase().k;

  // The events bench's stream: user and item drawn alternately from one generator.
  const rng = new Rng(seed);
  const total = warmup + nRecords;
  const stream = (action: string): LoggedRecord[] => {
    const out: LoggedRecord[] = new Array(total);
    for (let j = 0; j < total; j++) {
      const userId = users[rng.int(users.length)];
      const itemId = items[rng.int(items.length)];
      out[j] = { offset: j, userId, action, itemId, ts, weight: 1 };
    }
    return out;
  };
  const favs = stream('fav');
  const clicks: LoggedRecord[] = favs.map((r) => ({
    ...(r as UserEvent & { offset: number }),
    action: 'click',
  }));

  const measure = async (records: LoggedRecord[]) => {
    const overlay = await LiveOverlay.create(model);
    for (let j = 0; j < warmup; j += readBatch)
      overlay.apply(records.slice(j, Math.min(warmup, j + readBatch)));
    const t0 = process.hrtime.bigint();
    for (let j = warmup; j < total; j += readBatch)
      overlay.apply(records.slice(j, Math.min(total, j + readBatch)));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, overlay };
  };

  const rows: Row[] = [];
  const loads: number[] = [loadavg()[0]];
  const best = async (name: string, records: LoggedRecord[]) => {
    const times: number[] = [];
    let digest = '';
    for (let r = 0; r < repeat; r++) {
      const { seconds, overlay } = await measure(records);
      times.push(seconds);
      digest = stateDigest(overlay, k);
      loads.push(loadavg()[0]);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    rows.push({
      records: name,
      'records/s (median)': nRecords / median,
      'records/s (best)': nRecords / times[0],
      'µs/record (median)': ((median / nRecords) * 1e6).toFixed(2),
      'state digest': digest,
    });
  };
  await best('click (counters only: baseline)', clicks);
  await best('fav (the events bench load)', favs);
  const base = rows[0]['records/s (median)'] as number;
  for (const r of rows) r['ratio to baseline'] = ((r['records/s (median)'] as number) / base).toFixed(3);

  console.log(
    `\n## Overlay apply — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${machine()}, ` +
      `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  console.log(
    `social preset seed ${seed} (MF and ranker off), ${users.length} users × ${items.length} items; ` +
      `${nRecords.toLocaleString('en-US')} records after ${warmup.toLocaleString('en-US')} of warm-up, ` +
      `reads of ${readBatch}, median of ${repeat} fresh overlays\n`,
  );
  console.log(table(rows));
  await reader.close();
  await store.close();
}
