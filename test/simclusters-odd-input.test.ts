/**
 * Bad and odd inputs to the SimClusters build (issue 5): each gives a defined result or a clear error, never a
 * crash or a NaN in an artifact.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimrecError } from '../src/core/errors.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { openArtifactStore } from '../src/store/open.ts';

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'simrec-odd-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

/** Two cliques of 12 producers, each followed by the same 15 consumers: enough followers to take part. */
function twoCommunities(extraRows: string[] = []): string {
  const rows = ['consumer_id,producer_id'];
  for (let g = 0; g < 2; g++) {
    for (let c = 0; c < 15; c++) for (let p = 0; p < 12; p++) rows.push(`c${g}_${c},p${g}_${p}`);
  }
  return `${[...rows, ...extraRows].join('\n')}\n`;
}

async function build(data: string, extra: Record<string, unknown> = {}) {
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  const result = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, { threads: 1, ...extra }),
  });
  return { out, result };
}

/** Every float array stored in the version is free of NaN. */
async function assertNoNaN(out: string): Promise<void> {
  const store = openArtifactStore(out);
  const r = await store.openVersion();
  for (const e of r.manifest.entries) {
    if (e.kind === 'csr' || e.kind === 'sparse-rows') {
      const m = await r.csr(e.key);
      if (m.values) for (const v of m.values) assert.ok(Number.isFinite(v), `${e.key} holds ${v}`);
    } else if (e.kind === 'typed-array' && e.key.startsWith('sc/')) {
      const a = await r.typedArray(e.key);
      for (const v of a) assert.ok(!Number.isNaN(v), `${e.key} holds NaN`);
    }
  }
  await r.close();
  await store.close();
}

test('empty follow graph: a clear INPUT_EMPTY error, nothing published', async () => {
  const data = dir({ 'follows.csv': 'consumer_id,producer_id\n' });
  const out = mkdtempSync(join(tmpdir(), 'simrec-art-'));
  await assert.rejects(
    runBuild({ data, out, config: resolveBuildConfig(undefined, {}) }),
    (e: unknown) => e instanceof SimrecError && (e.code === 'INPUT_EMPTY' || e.code === 'INPUT_MISSING'),
  );
  const store = openArtifactStore(out);
  assert.equal(await store.currentVersionId(), null);
  await store.close();
});

test('two planted cliques are found; self-follows and duplicate edges are dropped and counted', async () => {
  const data = dir({ 'follows.csv': twoCommunities(['c0_0,c0_0', 'c0_0,p0_0', 'c0_1,p0_1']) });
  const { out, result } = await build(data, {
    simclusters: { similarity: { minFollowers: 5 }, knownFor: { k: 2 } },
  });
  const sc = result.simclusters!;
  assert.equal(result.manifest.counts.selfFollowsDropped, 1);
  assert.equal(result.manifest.counts.duplicateFollowsMerged, 2);
  assert.equal(sc.k, 2);
  const cl = sc.output.knownFor.cluster;
  const idOf = (p: number) => sc.producerIds(p);
  const group = new Map<string, number>();
  for (let p = 0; p < cl.length; p++) group.set(idOf(p), cl[p]);
  assert.notEqual(group.get('p0_0'), group.get('p1_0'));
  for (let q = 1; q < 12; q++) {
    assert.equal(group.get(`p0_${q}`), group.get('p0_0'));
    assert.equal(group.get(`p1_${q}`), group.get('p1_0'));
  }
  await assertNoNaN(out);
});

test("a producer below minFollowers takes its co-followed producers' community; no NaN anywhere", async () => {
  // A consumer-only user (no producer follows it) and a producer followed once (below minFollowers), by a
  // member of community 0's audience: everything else that follower follows is in p0's community.
  const data = dir({ 'follows.csv': twoCommunities(['lonely,rare', 'c0_0,rare']) });
  const { out, result } = await build(data, {
    simclusters: { similarity: { minFollowers: 5 }, knownFor: { k: 2 } },
  });
  const sc = result.simclusters!;
  let rare = -1;
  for (let p = 0; p < sc.producers; p++) if (sc.producerIds(p) === 'rare') rare = p;
  assert.ok(rare >= 0);
  const id = (name: string) => [...Array(sc.producers).keys()].find((p) => sc.producerIds(p) === name)!;
  const kf = sc.output.knownFor;
  assert.equal(kf.cluster[rare], kf.cluster[id('p0_0')]);
  assert.notEqual(kf.cluster[rare], kf.cluster[id('p1_0')]);
  // An extended member scores below the members MH placed (share 1 × the community's mean score).
  assert.ok(kf.score[rare] > 0 && kf.score[rare] <= kf.score[id('p0_0')]);
  assert.equal(sc.clusters.extended, 1);
  await assertNoNaN(out);
});

test('a graph smaller than k: every community holds at most what exists, no crash', async () => {
  const data = dir({ 'follows.csv': twoCommunities() });
  const { out, result } = await build(data, {
    simclusters: { similarity: { minFollowers: 5 }, knownFor: { k: 500 } },
  });
  const sc = result.simclusters!;
  assert.ok(sc.producersWithKnownFor <= 24);
  const used = new Set([...sc.output.knownFor.cluster].filter((c) => c >= 0));
  assert.ok(used.size >= 1 && used.size <= 24);
  await assertNoNaN(out);
});

test('nobody reaches minFollowers: an empty but valid SimClusters result', async () => {
  const data = dir({ 'follows.csv': 'consumer_id,producer_id\na,b\nb,c\nc,a\n' });
  const { out, result } = await build(data);
  assert.equal(result.simclusters!.producersWithKnownFor, 0);
  assert.equal(result.simclusters!.output.interestedIn.stats.usersWithEmbedding, 0);
  await assertNoNaN(out);
});
