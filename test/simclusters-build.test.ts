import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { KEYS } from '../src/artifacts/keys.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { exportArtifacts } from '../src/pipeline/export.ts';
import { openArtifactStore } from '../src/store/open.ts';

const data = mkdtempSync(join(tmpdir(), 'simrec-small-'));
const ready = generateSynthetic({ preset: 'small', outDir: data, seed: 3 });

// The preset plants communities of ~60 producers, smaller than the default nodesPerCommunity (150), so k is
// given as the planted count, as for the football graph.
async function build(out: string, warmStart?: string) {
  const summary = await ready;
  const k = (summary.params as { communities: number }).communities;
  return runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, {
      seed: 5,
      threads: 1,
      mf: { enabled: false },
      simclusters: { knownFor: { k } },
    }),
    warmStart,
  });
}

async function entries(out: string): Promise<Map<string, string>> {
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  const m = new Map(r.manifest.entries.map((e) => [e.key, e.sha256]));
  await r.close();
  await store.close();
  return m;
}

test('KnownFor recovers the planted communities of the small preset (NMI ≥ 0.9)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const { manifest, simclusters } = await build(out);
  assert.ok(simclusters);
  assert.equal(simclusters.case, 'social');
  const truth = manifest.extra.truth as { nmi: number; ari: number };
  assert.ok(truth.nmi >= 0.9, `NMI ${truth.nmi}`);
  for (const key of [
    KEYS.knownForCluster,
    KEYS.itemEmbeddings,
    KEYS.clusterItems,
    KEYS.producerEmbeddings,
    KEYS.topicEmbeddings,
  ]) {
    assert.ok(
      manifest.entries.some((e) => e.key === key),
      key,
    );
  }
});

test('same seed and one thread give byte-identical SimClusters artifacts', async () => {
  const a = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const b = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await build(a);
  await build(b);
  const ea = await entries(a);
  const eb = await entries(b);
  const sc = [...ea.keys()].filter((k) => k.startsWith('sc/'));
  assert.ok(sc.length >= 10);
  for (const k of sc) assert.equal(ea.get(k), eb.get(k), k);
});

test('export writes KnownFor and the cluster index in the long formats', async () => {
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const { simclusters } = await build(out);
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  const collect = async (
    what: 'known-for' | 'cluster-index' | 'item-embeddings',
    format: 'csv' | 'jsonl',
  ) => {
    const s = new PassThrough();
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const rows = await exportArtifacts(r, { what, format }, s);
    return { rows, lines: Buffer.concat(chunks).toString('utf8').trimEnd().split('\n') };
  };
  const kf = await collect('known-for', 'csv');
  assert.equal(kf.lines[0], 'producer_id,cluster_id,score');
  assert.equal(kf.rows, simclusters!.producersWithKnownFor);
  const [pid, cid, score] = kf.lines[1].split(',');
  assert.ok(pid.length > 0 && Number.isInteger(Number(cid)) && Number(score) >= 0 && Number(score) <= 1);
  const idx = await collect('cluster-index', 'jsonl');
  const first = JSON.parse(idx.lines[0]);
  assert.deepEqual(Object.keys(first), ['cluster_id', 'item_id', 'score', 'rank']);
  assert.equal(first.rank, 1);
  const second = JSON.parse(idx.lines[1]);
  // Ranks follow the index order (by share of the item on the cluster); the score column is W[i,c].
  if (second.cluster_id === first.cluster_id) assert.equal(second.rank, 2);
  assert.ok(first.score > 0);
  const emb = await collect('item-embeddings', 'csv');
  assert.equal(emb.lines[0], 'entity_id,cluster_id,score');
  await r.close();
  await store.close();
});

test('a warm rebuild after 1% new follows keeps ≥ 95% of producers in their cluster', async () => {
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const first = await build(out);
  const before = await clusterOfProducers(out);
  // 1% more follow edges between random existing users (deterministic).
  const follows = readFileSync(join(data, 'follows.csv'), 'utf8').trimEnd().split('\n').slice(1);
  const extra: string[] = [];
  for (let i = 0; i < Math.ceil(follows.length / 100); i++) {
    const a = follows[(i * 7919) % follows.length].split(',');
    const b = follows[(i * 104729 + 13) % follows.length].split(',');
    if (a[0] !== b[1]) extra.push(`${a[0]},${b[1]},${a[2]}`);
  }
  const warmData = mkdtempSync(join(tmpdir(), 'simrec-warm-'));
  const { cpSync } = await import('node:fs');
  cpSync(data, warmData, { recursive: true });
  appendFileSync(join(warmData, 'follows.csv'), `${extra.join('\n')}\n`);
  const out2 = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await runBuild({
    data: warmData,
    out: out2,
    config: resolveBuildConfig(undefined, { seed: 6, threads: 1, mf: { enabled: false } }),
    warmStart: out,
  });
  const after = await clusterOfProducers(out2);
  let same = 0;
  let total = 0;
  for (const [id, c] of before) {
    if (c < 0) continue;
    total++;
    if (after.get(id) === c) same++;
  }
  assert.ok(first.simclusters!.producersWithKnownFor > 0);
  assert.ok(same / total >= 0.95, `${same}/${total} kept their cluster`);
});

async function clusterOfProducers(out: string): Promise<Map<string, number>> {
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  const users = await r.idMap(KEYS.users);
  const producers = await r.typedArray(KEYS.producers, 'int32');
  const cluster = await r.typedArray(KEYS.knownForCluster, 'int32');
  const m = new Map<string, number>();
  for (let p = 0; p < producers.length; p++) m.set(users.id(producers[p]), cluster[p]);
  await r.close();
  await store.close();
  return m;
}

for (const preset of ['tiny', 'small'] as const) {
  test(`default settings recover the ${preset} preset's planted communities (automatic k, NMI ≥ 0.95)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `simrec-${preset}-`));
    const gen = await generateSynthetic({ preset, outDir: dir, seed: 1 });
    const planted = (gen.params as { communities: number }).communities;
    const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
    const { manifest, simclusters } = await runBuild({
      data: dir,
      out,
      config: resolveBuildConfig(undefined, { threads: 1, mf: { enabled: false } }),
    });
    assert.ok(simclusters);
    assert.equal(simclusters.clusters.kMode, 'auto');
    assert.equal(simclusters.clusters.nonEmpty, planted);
    assert.equal(simclusters.k, planted);
    const truth = manifest.extra.truth as { nmi: number };
    assert.ok(truth.nmi >= 0.95, `NMI ${truth.nmi}`);
    assert.deepEqual((manifest.extra.clusters as { warnings: string[] }).warnings, []);
  });
}

test('engagements without timestamps beside follows still give item embeddings (no decay, no age limit)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-nots-'));
  await generateSynthetic({ preset: 'tiny', outDir: dir, seed: 2 });
  const path = join(dir, 'engagements.csv');
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  const ts = cols.indexOf('ts');
  assert.ok(ts >= 0);
  const strip = (line: string) =>
    line
      .split(',')
      .filter((_, i) => i !== ts)
      .join(',');
  writeFileSync(path, `${[header, ...rows].map(strip).join('\n')}\n`);
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const { simclusters } = await runBuild({
    data: dir,
    out,
    config: resolveBuildConfig(undefined, { threads: 1, mf: { enabled: false } }),
  });
  const items = simclusters!.output.items!;
  assert.ok(
    items.stats.itemsWithEmbedding > 0.8 * items.stats.items,
    `${items.stats.itemsWithEmbedding} items`,
  );
  assert.equal(items.stats.skippedTooOld, 0);
  assert.deepEqual(simclusters!.clusters.warnings, []);
});
