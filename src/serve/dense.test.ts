import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ServingModel } from '../query/serving-model.ts';
import { MF_FIXTURE, SIMCLUSTERS_KEYS, SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { openArtifactStore } from '../store/open.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { assertError, assertRanked } from './test-assertions.ts';

// Servers over MF_FIXTURE (answers worked out in test-fixtures.ts) with exact and with HNSW item indexes,
// one over SMALL_FIXTURE, which has no MF vectors, and one over MF_FIXTURE without its SimClusters outputs
// (what a build with simclusters.enabled false writes).
let root: string;
let exact: SimrecFastify;
let hnsw: SimrecFastify;
let noMf: SimrecFastify;
let mfOnly: SimrecFastify;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-serve-dense-'));
  await writeTestArtifacts(join(root, 'exact'), MF_FIXTURE);
  await writeTestArtifacts(join(root, 'hnsw'), { ...MF_FIXTURE, mf: { ...MF_FIXTURE.mf!, index: 'hnsw' } });
  await writeTestArtifacts(join(root, 'none'), SMALL_FIXTURE);
  await writeTestArtifacts(join(root, 'mf-only'), { ...MF_FIXTURE, omit: SIMCLUSTERS_KEYS });
  exact = await buildApp({ artifacts: join(root, 'exact'), pollMs: 0, docs: false });
  hnsw = await buildApp({ artifacts: join(root, 'hnsw'), pollMs: 0, docs: false });
  noMf = await buildApp({ artifacts: join(root, 'none'), pollMs: 0, docs: false });
  mfOnly = await buildApp({ artifacts: join(root, 'mf-only'), pollMs: 0, docs: false });
});

after(async () => {
  await exact?.close();
  await hnsw?.close();
  await noMf?.close();
  await mfOnly?.close();
  rmSync(root, { recursive: true, force: true });
});

const dense = (app: SimrecFastify, payload: unknown) =>
  app.inject({ method: 'POST', url: '/v1/candidates/dense', payload: payload as object });

function ranked(res: LightMyRequestResponse): [string, number][] {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().candidates as { itemId: string; score: number }[]).map((c) => [c.itemId, c.score]);
}

const DAVE: [string, number][] = [
  ['i2', 2.6],
  ['i0', 1.1],
  ['i3', 1.1],
  ['i5', -0.3],
  ['i4', -0.9],
];
const ERIN: [string, number][] = [
  ['i1', 1],
  ['i2', 0.5],
  ['i0', 0],
  ['i4', 0],
];
const SIMILAR_I0: [string, number][] = [
  ['i2', 1],
  ['i3', Math.SQRT1_2],
  ['i5', 0.6],
  ['i1', 0],
  ['i4', -1],
];
const RAW: [string, number][] = [
  ['i1', 1],
  ['i3', 1],
  ['i2', 0.5],
  ['i0', 0],
  ['i4', 0],
  ['i5', -0.2],
];

test('user source: the MF score by inner product, engaged items excluded', async () => {
  const res = await dense(exact, { source: { userId: 'dave' } });
  assertRanked(ranked(res), DAVE, 1e-6);
  const body = res.json();
  assert.equal(body.source, 'mf:user');
  assert.deepEqual(body.params, { limit: 50, mode: 'ann', excluded: 1 });
  assert.deepEqual(body.stats, { index: 'exact', indexSize: 6 });
  assertRanked(ranked(await dense(exact, { source: { userId: 'erin' } })), ERIN, 1e-6);
  // a user without a vector of their own scores every item by its bias
  assertRanked(
    ranked(await dense(exact, { source: { userId: 'alice' }, params: { limit: 2 } })),
    [
      ['i2', 0.5],
      ['i0', 0],
    ],
    1e-6,
  );
  // a known user's items are excluded on top of their engagements
  const more = await dense(exact, { source: { userId: 'dave', items: ['i2', 'nope'] } });
  assertRanked(ranked(more), DAVE.slice(1), 1e-6);
  assert.equal(more.json().params.excluded, 2);
});

test('item source: cosine over the embedding part, the item itself excluded; GET similar?source=mf', async () => {
  const res = await dense(exact, { source: { itemId: 'i0' } });
  assertRanked(ranked(res), SIMILAR_I0, 1e-6);
  assert.equal(res.json().source, 'mf:item');
  const get = await exact.inject({ method: 'GET', url: '/v1/items/i0/similar?source=mf&limit=3' });
  assertRanked(ranked(get), SIMILAR_I0.slice(0, 3), 1e-6);
  assert.equal(get.json().source, 'mf:item');
  // the default source is still SimClusters (i0's longest embedding is c1 only: i2 alone)
  const sc = await exact.inject({ method: 'GET', url: '/v1/items/i0/similar' });
  assertRanked(ranked(sc), [['i2', 1]], 1e-6);
  assert.equal(sc.json().source, 'item:longest');
  const explicit = await exact.inject({ method: 'GET', url: '/v1/items/i0/similar?source=simclusters' });
  assert.deepEqual(explicit.json(), sc.json());
});

test('vector source: a user-side folded vector, inner product', async () => {
  const res = await dense(exact, { source: { vector: [0, 1, 0, 1] } });
  assertRanked(ranked(res), RAW, 1e-6);
  assert.equal(res.json().source, 'raw');
  assert.equal(res.json().params.excluded, 0);
});

test('exclude and allow lists; limit', async () => {
  const res = await dense(exact, {
    source: { userId: 'dave' },
    params: { allow: ['i3', 'i4', 'i1', 'zzz'], exclude: ['i3', 'yyy'] },
  });
  // i1 is dave's, i3 excluded: of the allow list only i4 remains
  assertRanked(ranked(res), [['i4', -0.9]], 1e-6);
  assert.deepEqual(res.json().params, { limit: 50, mode: 'ann', excluded: 2, allowed: 3 });
  assertRanked(
    ranked(await dense(exact, { source: { userId: 'dave' }, params: { limit: 2 } })),
    DAVE.slice(0, 2),
    1e-6,
  );
  assertRanked(ranked(await dense(exact, { source: { userId: 'dave' }, params: { allow: [] } })), [], 1e-6);
});

test('mode exact scans every item and agrees with the index, exact and HNSW', async () => {
  const sources = [
    { userId: 'dave' },
    { userId: 'erin' },
    { userId: 'carol' },
    { itemId: 'i0' },
    { itemId: 'i3' },
    { itemId: 'i5' },
    { vector: [0, 1, 0, 1] },
    { vector: [-0.5, 0.25, 3, 1] },
  ];
  const lists = [{}, { exclude: ['i2'] }, { allow: ['i0', 'i4', 'i5'] }, { limit: 3 }];
  for (const source of sources)
    for (const filters of lists) {
      const scan = await dense(exact, { source, params: { ...filters, mode: 'exact' } });
      assert.equal(scan.json().stats.index, 'scan');
      for (const app of [exact, hnsw]) {
        const ann = await dense(app, { source, params: filters });
        assert.equal(ann.json().stats.index, app === exact ? 'exact' : 'hnsw');
        const what = `${JSON.stringify(source)} ${JSON.stringify(filters)}`;
        const got = ranked(ann);
        const want = ranked(scan);
        assert.equal(got.length, want.length, what);
        // Same scores; same ids except among items tied at the cut-off, of which a graph may return any.
        const cut = want.length > 0 ? want[want.length - 1][1] : 0;
        for (let j = 0; j < want.length; j++) {
          assert.ok(Math.abs(got[j][1] - want[j][1]) < 1e-5, what);
          if (want[j][1] !== cut) assert.equal(got[j][0], want[j][0], what);
        }
      }
    }
  assertRanked(ranked(await dense(hnsw, { source: { userId: 'dave' } })), DAVE, 1e-6);
  assertRanked(ranked(await dense(hnsw, { source: { itemId: 'i0' } })), SIMILAR_I0, 1e-6);
  const scan = await dense(exact, { source: { userId: 'erin' }, params: { mode: 'exact' } });
  assertRanked(ranked(scan), ERIN, 1e-6);
  // erin's two engaged items are never scored
  assert.deepEqual(scan.json().stats, { index: 'scan', indexSize: 6, itemsScored: 4 });
  assert.equal(
    (
      await dense(exact, { source: { userId: 'erin' }, params: { mode: 'exact', allow: ['i0', 'i0', 'i3'] } })
    ).json().stats.itemsScored,
    1,
  );
});

test('ef: used and reported by an HNSW index only', async () => {
  const res = await dense(hnsw, { source: { userId: 'dave' }, params: { ef: 7 } });
  assertRanked(ranked(res), DAVE, 1e-6);
  assert.equal(res.json().params.ef, 7);
  // the index keeps its own setting for the next request
  assert.equal((await dense(hnsw, { source: { userId: 'dave' } })).json().params.ef, 64);
  assert.equal(
    (await dense(exact, { source: { userId: 'dave' }, params: { ef: 7 } })).json().params.ef,
    undefined,
  );
});

test('error paths name the field', async () => {
  assertError(await dense(exact, { source: { userId: 'zed' } }), 404, 'NOT_FOUND', 'source.userId');
  assertError(await dense(exact, { source: { itemId: 'zed' } }), 404, 'NOT_FOUND', 'source.itemId');
  assertError(
    await dense(exact, { source: { userId: 'zed', items: ['nope', 'nix'] } }),
    404,
    'NOT_FOUND',
    'source.items',
  );
  assertError(await dense(exact, { source: { items: ['nope'] } }), 404, 'NOT_FOUND', 'source.items');
  // known items, but this version stores no MF model to fold in with
  const noModel = await dense(exact, { source: { items: ['i0'] } });
  assertError(noModel, 503, 'ARTIFACT_MISSING');
  assert.match(noModel.json().error.message, /fold/);
  assertError(await dense(exact, { source: { vector: [1, 2, 3] } }), 400, 'CONFIG_INVALID', 'source.vector');
  assertError(
    await dense(exact, { source: { vector: [1, 2, 3, 4, 5] } }),
    400,
    'CONFIG_INVALID',
    'source.vector',
  );
  assertError(
    await dense(exact, { source: { vector: [1, 'x', 3, 4] } }),
    400,
    'REQUEST_INVALID',
    'source.vector.1',
  );
  assertError(
    await dense(exact, { source: { vector: [1, 1e10, 3, 4] } }),
    400,
    'REQUEST_INVALID',
    'source.vector.1',
  );
  assertError(await dense(exact, { source: { vector: [] } }), 400, 'REQUEST_INVALID', 'source.vector');
  assertError(
    await dense(exact, { source: { userId: 'dave' }, params: { limit: 10_001 } }),
    400,
    'REQUEST_INVALID',
    'params.limit',
  );
  assertError(
    await dense(exact, { source: { userId: 'dave' }, params: { limit: 0 } }),
    400,
    'REQUEST_INVALID',
    'params.limit',
  );
  assertError(
    await dense(exact, { source: { userId: 'dave' }, params: { ef: 5000 } }),
    400,
    'REQUEST_INVALID',
    'params.ef',
  );
  assertError(
    await dense(exact, { source: { userId: 'dave' }, params: { mode: 'approx' } }),
    400,
    'REQUEST_INVALID',
    'params.mode',
  );
  assertError(
    await dense(exact, { source: { userId: 'dave', itemId: 'i0' } }),
    400,
    'CONFIG_INVALID',
    'source',
  );
  assertError(
    await dense(exact, { source: { items: ['i0'], vector: [0, 0, 0, 1] } }),
    400,
    'CONFIG_INVALID',
    'source',
  );
  assertError(await dense(exact, { source: {} }), 400, 'REQUEST_INVALID', 'source');
  assertError(await dense(exact, { source: { items: [] } }), 400, 'REQUEST_INVALID', 'source.items');
  assertError(await dense(exact, { source: { embedding: [] } }), 400, 'REQUEST_INVALID', 'source.embedding');
  assertError(await dense(exact, { source: { userId: 'dave' }, extra: 1 }), 400, 'REQUEST_INVALID', 'extra');
  assertError(
    await exact.inject({ method: 'GET', url: '/v1/items/i0/similar?source=dense' }),
    400,
    'REQUEST_INVALID',
    'source',
  );
  assertError(
    await exact.inject({ method: 'GET', url: '/v1/items/zed/similar?source=mf' }),
    404,
    'NOT_FOUND',
    'itemId',
  );
});

test('a version without MF vectors: the dense routes answer 503, the others as before', async () => {
  for (const source of [{ userId: 'dave' }, { itemId: 'i0' }, { vector: [0, 0, 0, 1] }, { items: ['i0'] }]) {
    const res = await dense(noMf, { source });
    assertError(res, 503, 'ARTIFACT_MISSING');
    assert.match(res.json().error.message, /mf\/items/);
  }
  assertError(
    await noMf.inject({ method: 'GET', url: '/v1/items/i0/similar?source=mf' }),
    503,
    'ARTIFACT_MISSING',
  );
  assert.equal((await noMf.inject({ method: 'GET', url: '/v1/items/i0/similar' })).statusCode, 200);
});

test('a version built with MF only: the dense routes answer, similar items default to mf, the rest 503', async () => {
  assert.equal((await mfOnly.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  assertRanked(ranked(await dense(mfOnly, { source: { userId: 'dave' } })), DAVE);
  assertRanked(ranked(await dense(mfOnly, { source: { itemId: 'i0' } })), SIMILAR_I0);
  const similar = await mfOnly.inject({ method: 'GET', url: '/v1/items/i0/similar' });
  assertRanked(ranked(similar), SIMILAR_I0);
  assert.equal(similar.json().source, 'mf:item');
  const refused: [string, string, object?][] = [
    ['GET', '/v1/items/i0/similar?source=simclusters'],
    ['POST', '/v1/candidates/simclusters', { source: { userId: 'dave' } }],
    ['POST', '/v1/candidates/simclusters', { source: { embedding: [[0, 1]] } }],
    ['GET', '/v1/clusters/0'],
    ['GET', '/v1/users/dave/embedding'],
    ['GET', '/v1/items/i0/embedding'],
    ['GET', '/v1/producers/dave/embedding'],
    ['GET', '/v1/topics/dogs/embedding'],
  ];
  for (const [method, url, payload] of refused) {
    const res = await mfOnly.inject({ method: method as 'GET' | 'POST', url, payload });
    assertError(res, 503, 'ARTIFACT_MISSING');
    assert.match(res.json().error.message, /no SimClusters outputs/, url);
  }
});

test('metrics count dense queries by source kind and mode', async () => {
  await dense(exact, { source: { itemId: 'i4' }, params: { mode: 'exact' } });
  const text = (await exact.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(text, /simrec_dense_queries_total\{source="mf:item",mode="exact"\} [1-9]/);
  assert.match(text, /simrec_dense_queries_total\{source="mf:user",mode="ann"\} [1-9]/);
});

test('ServingModel: the MF part is loaded with the version, its index on the first ANN request', async () => {
  const store = openArtifactStore(join(root, 'hnsw'));
  const reader = await store.openVersion();
  try {
    const m = await ServingModel.load(reader);
    assert.ok(m.hasDense && m.dense);
    assert.equal(m.dense.dim, 4);
    assert.equal(m.dense.size, 6);
    assert.equal(m.dense.indexLoaded, false);
    const scan = await m.denseCandidates({ userId: 'dave' }, { mode: 'exact' });
    assert.equal(m.dense.indexLoaded, false);
    const [a, b] = await Promise.all([
      m.denseCandidates({ userId: 'dave' }),
      m.denseCandidates({ userId: 'dave' }, { limit: 1 }),
    ]);
    assert.equal(m.dense.indexLoaded, true);
    assert.deepEqual([...a.items], [...scan.items]);
    assert.deepEqual([...b.items], [2]);
    await assert.rejects(m.denseCandidates({ userId: 'dave' }, { limit: 1.5 }), {
      detail: { field: 'params.limit' },
    });
    await assert.rejects(m.denseCandidates({ vector: [0, 1, Number.NaN, 1] }), {
      detail: { field: 'source.vector.2' },
    });
    await assert.rejects(m.denseCandidates({ vector: [0, 1, 1e39, 1] }), {
      detail: { field: 'source.vector.2' },
    });
  } finally {
    await reader.close();
    await store.close();
  }
});
