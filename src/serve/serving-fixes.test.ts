/**
 * Serving fixes of issue 12 item 6: cluster top items in the order of the score shown, age filters counted from
 * the version's data time, a limit above approxTop honoured and echoed, cosines clamped into [−1, 1].
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { clampCosine, SimClustersAnn } from '../ann/simclusters.ts';
import { CsrMatrix } from '../core/csr.ts';
import { exportArtifacts } from '../pipeline/export.ts';
import { type TestArtifactSpec, writeTestArtifacts } from '../query/test-fixtures.ts';
import { openArtifactStore } from '../store/open.ts';
import { buildApp } from './app.ts';

/** 2024-06-01T00:00:00Z: generated data lives in the past, so the wall clock is far from its events. */
const T = 1717200000;

const SPEC: TestArtifactSpec = {
  k: 2,
  case: 'catalogue',
  users: ['u1', 'u2'],
  items: ['i1', 'i2', 'i3', 'i4'],
  producers: ['i1', 'i2', 'i3', 'i4'],
  knownFor: { i1: [0, 1], i2: [0, 0.5] },
  interestedIn: { u1: [[0, 1]], u2: [[1, 1]] },
  itemEmbeddings: { i1: [[0, 0.9]], i2: [[0, 0.5]], i3: [[0, 0.7]], i4: [[0, 0.3]] },
  // Stored in another order than the scores' (as a cosine-ordered index would be).
  clusterItems: {
    0: [
      ['i2', 0.5],
      ['i4', 0.3],
      ['i1', 0.9],
      ['i3', 0.7],
    ],
  },
  engagements: { u1: [], u2: ['i4'] },
  itemCreatedTs: { i1: T, i2: T - 1800, i3: T - 7200, i4: T - 86400 },
};

/** The fields of the answers these tests read. */
interface Answer {
  candidates: { itemId: string }[];
  params: { now?: number; limit: number; approxTop: number };
  topItems: { itemId: string; score: number }[];
}

async function withApp(
  fn: (inject: (url: string, body?: object) => Promise<Answer>, dir: string) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-serving-fixes-'));
  try {
    await writeTestArtifacts(dir, SPEC);
    const app = await buildApp({ artifacts: dir, pollMs: 0, docs: false });
    try {
      await fn(async (url, body) => {
        const res = await app.inject(body ? { method: 'POST', url, payload: body } : { method: 'GET', url });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as Answer;
      }, dir);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const candidates = (body: object) => ['/v1/candidates/simclusters', body] as const;

test('cluster top items and the exported cluster index are ranked by the score they show', () =>
  withApp(async (inject, dir) => {
    const c = await inject('/v1/clusters/0?limit=3');
    assert.deepEqual(c.topItems, [
      { itemId: 'i1', score: 0.9 },
      { itemId: 'i3', score: 0.7 },
      { itemId: 'i2', score: 0.5 },
    ]);
    const store = openArtifactStore(dir);
    const reader = await store.openVersion();
    try {
      const file = join(dir, 'index.csv');
      await exportArtifacts(reader, { what: 'cluster-index', format: 'csv' }, file);
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), [
        'cluster_id,item_id,score,rank',
        '0,i1,0.9,1',
        '0,i3,0.7,2',
        '0,i2,0.5,3',
        '0,i4,0.3,4',
      ]);
    } finally {
      await reader.close();
      await store.close();
    }
  }));

test('age filters count from the version data time (the latest time it holds) unless the request gives now', () =>
  withApp(async (inject) => {
    const ids = (a: Answer) => a.candidates.map((c) => c.itemId).sort();
    // i1 is as new as the data, i2 half an hour older; i3 two hours, i4 a day.
    const fresh = await inject(...candidates({ source: { userId: 'u1' }, params: { maxAgeHours: 1 } }));
    assert.deepEqual(ids(fresh), ['i1', 'i2']);
    assert.equal(fresh.params.now, T);
    const old = await inject(...candidates({ source: { userId: 'u1' }, params: { minAgeHours: 1 } }));
    assert.deepEqual(ids(old), ['i3', 'i4']);
    const given = await inject(
      ...candidates({ source: { userId: 'u1' }, params: { maxAgeHours: 3, now: T + 2 * 3600 } }),
    );
    assert.deepEqual(ids(given), ['i1', 'i2']);
    assert.equal(given.params.now, T + 2 * 3600);
    const unfiltered = await inject(...candidates({ source: { userId: 'u1' } }));
    assert.equal(unfiltered.params.now, undefined);
  }));

test('a limit above approxTop raises approxTop to it, and the answer echoes what was applied', () =>
  withApp(async (inject) => {
    const a = await inject(...candidates({ source: { userId: 'u1' }, params: { approxTop: 1, limit: 3 } }));
    assert.equal(a.candidates.length, 3);
    assert.equal(a.params.limit, 3);
    assert.equal(a.params.approxTop, 3);
    const b = await inject(...candidates({ source: { userId: 'u1' }, params: { approxTop: 2, limit: 1 } }));
    assert.equal(b.params.approxTop, 2);
  }));

test('an item queried with its own embedding scores exactly 1, approximately and exactly', () => {
  // Found by search: this vector's float32 norm makes the unclamped approximate cosine 1.0000001.
  const v = Float32Array.of(
    4.21859073638916,
    3.7535312175750732,
    0.0002189390070270747,
    0.8251903057098389,
    0.2178030163049698,
    0.0006390150520019233,
  );
  const n = v.length;
  const cl = Int32Array.from({ length: n }, (_, j) => j);
  const ann = new SimClustersAnn({
    itemEmbeddings: new CsrMatrix(1, n, Int32Array.of(0, n), cl, v),
    clusterItems: {
      nClusters: n,
      nEntities: 1,
      indptr: Int32Array.from({ length: n + 1 }, (_, j) => j),
      ids: new Int32Array(n),
      scores: v,
    },
  });
  for (const params of [{}, { rerank: 'none' as const }, { mode: 'exact' as const }]) {
    const r = ann.query({ ids: cl, values: v }, params);
    assert.equal(r.scores[0], 1, JSON.stringify(params));
    assert.ok(r.approxScores[0] <= 1, JSON.stringify(params));
  }
  assert.equal(clampCosine(1.0000001), 1);
  assert.equal(clampCosine(-1.5), -1);
  assert.equal(clampCosine(0.25), 0.25);
});
