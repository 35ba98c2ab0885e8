import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { KEYS } from '../artifacts/keys.ts';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { assertError, assertRanked } from './test-assertions.ts';

// One server over the hand-sized fixture (answers worked out in test-fixtures.ts) for the whole file.
let root: string;
let app: SimrecFastify;
let version: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-serve-app-'));
  version = await writeTestArtifacts(join(root, 'a'), SMALL_FIXTURE);
  app = await buildApp({ artifacts: join(root, 'a'), pollMs: 0 });
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const post = (payload: unknown) =>
  app.inject({ method: 'POST', url: '/v1/candidates/simclusters', payload: payload as object });
const get = (url: string) => app.inject({ method: 'GET', url });

interface Candidate {
  itemId: string;
  score: number;
  approxScore: number;
}

function ranked(res: LightMyRequestResponse): [string, number][] {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().candidates as Candidate[]).map((c) => [c.itemId, c.score]);
}

// ---- happy paths --------------------------------------------------------------------------------------------

test('healthz, readyz', async () => {
  assert.deepEqual((await get('/healthz')).json(), { status: 'ok' });
  const ready = await get('/readyz');
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'ready', version, lag: { events: 0, seconds: 0 } });
});

test('user source: cosine with InterestedIn, engaged items excluded', async () => {
  const res = await post({ source: { userId: 'dave' } });
  assertRanked(ranked(res), [
    ['i0', 0.96],
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  const body = res.json();
  assert.equal(body.version, version);
  assert.equal(body.source, 'interestedIn:logFavScoreClusterNormalized');
  assert.deepEqual(body.params, {
    topClusters: 50,
    itemsPerCluster: 400,
    approxTop: 200,
    limit: 50,
    minScore: 0,
    scoring: 'itemNormCosine',
    rerank: 'exact',
    shrinkage: 0,
    mode: 'approx',
    excluded: 1,
  });
  assert.deepEqual(body.stats, {
    clustersScanned: 2,
    candidatesScored: 3,
    embeddingsFetched: 3,
    fetchedRatio: 3 / (400 * 50),
  });
  // every item of erin's only cluster is one she engaged with
  assert.deepEqual(ranked(await post({ source: { userId: 'erin' } })), []);
});

test('item source: longest embedding when present, else current; the item itself excluded', async () => {
  const longest = await post({ source: { itemId: 'i0' } });
  assert.equal(longest.json().source, 'item:longest');
  assertRanked(ranked(longest), [['i2', 1]]);
  const current = await post({ source: { itemId: 'i4' } });
  assert.equal(current.json().source, 'item:current');
  assertRanked(ranked(current), [
    ['i1', 0.8],
    ['i0', 0.48],
    ['i3', 0.36],
  ]);
});

test('producer, topic and raw embedding sources', async () => {
  const n = Math.sqrt(0.82);
  assertRanked(ranked(await post({ source: { producerId: 'alice' } })), [
    ['i1', 0.9 / n],
    ['i4', 0.72 / n],
    ['i0', 0.62 / n],
    ['i2', 0.1 / n],
  ]);
  assertRanked(ranked(await post({ source: { topic: 'dogs' } })), [
    ['i5', 1],
    ['i3', 0.8],
  ]);
  // pairs in any order; i1 and i2 tie exactly and the smaller index ranks first
  const raw = await post({
    source: {
      embedding: [
        [1, 0.5],
        [0, 0.5],
      ],
    },
  });
  assert.equal(raw.json().source, 'raw');
  assertRanked(ranked(raw), [
    ['i0', 0.7 / Math.SQRT1_2],
    ['i1', Math.SQRT1_2],
    ['i2', Math.SQRT1_2],
    ['i4', 0.4 / Math.SQRT1_2],
  ]);
  assert.deepEqual(ranked(await post({ source: { embedding: [] } })), []);
  // a topic without an embedding row answers nothing rather than failing
  assert.deepEqual(ranked(await post({ source: { topic: 'fish' } })), []);
});

test('params: limit, minScore, rerank none, exact mode, allow, exclude, age window', async () => {
  const dave = { userId: 'dave' };
  assertRanked(ranked(await post({ source: dave, params: { limit: 1 } })), [['i0', 0.96]]);
  assertRanked(ranked(await post({ source: dave, params: { minScore: 0.62 } })), [
    ['i0', 0.96],
    ['i4', 0.64],
  ]);
  const none = await post({ source: dave, params: { rerank: 'none', scoring: 'dot' } });
  // dot over the scanned clusters: i0 0.96, i4 0.64, i2 0.6; no embedding fetched
  assertRanked(ranked(none), [
    ['i0', 0.96],
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  assert.equal(none.json().stats.embeddingsFetched, 0);
  const exact = await post({ source: dave, params: { mode: 'exact' } });
  assertRanked(ranked(exact), [
    ['i0', 0.96],
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  assert.equal(exact.json().stats.candidatesScored, 6);
  const allow = await post({ source: dave, params: { allow: ['i2', 'i4', 'unknown'] } });
  assertRanked(ranked(allow), [
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  assert.equal(allow.json().params.allowed, 2);
  const exclude = await post({ source: dave, params: { exclude: ['i0', 'unknown'] } });
  assertRanked(ranked(exclude), [
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  assert.equal(exclude.json().params.excluded, 2);
  const now = SMALL_FIXTURE.now as number;
  // created 1 h (i0), 2 h (i1), 10 h (i2), 100 h (i3), 30 h (i4) before now; i5 unknown
  const young = await post({ source: dave, params: { maxAgeHours: 5, now } });
  assertRanked(ranked(young), [['i0', 0.96]]);
  assert.equal(young.json().params.maxAgeHours, 5);
  assertRanked(ranked(await post({ source: dave, params: { minAgeHours: 20, now } })), [['i4', 0.64]]);
  assertRanked(ranked(await post({ source: dave, params: { minAgeHours: 5, maxAgeHours: 50, now } })), [
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
});

test('GET similar: item source with defaults, limit', async () => {
  const res = await get('/v1/items/i4/similar');
  assertRanked(ranked(res), [
    ['i1', 0.8],
    ['i0', 0.48],
    ['i3', 0.36],
  ]);
  assert.equal(res.json().params.limit, 50);
  assertRanked(ranked(await get('/v1/items/i4/similar?limit=2')), [
    ['i1', 0.8],
    ['i0', 0.48],
  ]);
});

test('embeddings of users (any InterestedIn kind), items (current, longest, auto), producers, topics', async () => {
  assert.deepEqual((await get('/v1/users/dave/embedding')).json(), {
    version,
    id: 'dave',
    kind: 'logFavScoreClusterNormalized',
    embedding: [
      [0, 0.8],
      [1, 0.6],
    ],
  });
  assert.deepEqual((await get('/v1/users/dave/embedding?score=favScore')).json().embedding, [
    [0, 2],
    [1, 1],
  ]);
  assert.deepEqual((await get('/v1/users/alice/embedding')).json().embedding, []);
  const item = (q: string) => get(`/v1/items/i0/embedding${q}`).then((r) => r.json());
  assert.deepEqual(await item(''), {
    version,
    id: 'i0',
    kind: 'current',
    embedding: [
      [0, 0.6],
      [1, 0.8],
    ],
  });
  assert.deepEqual(await item('?kind=longest'), { version, id: 'i0', kind: 'longest', embedding: [[1, 1]] });
  assert.deepEqual(await item('?kind=auto'), { version, id: 'i0', kind: 'longest', embedding: [[1, 1]] });
  assert.deepEqual((await get('/v1/items/i1/embedding?kind=auto')).json().kind, 'current');
  assert.deepEqual((await get('/v1/items/i1/embedding?kind=longest')).json().embedding, []);
  assert.deepEqual((await get('/v1/producers/alice/embedding')).json(), {
    version,
    id: 'alice',
    kind: 'producer',
    embedding: [
      [0, 0.9],
      [1, 0.1],
    ],
  });
  assert.deepEqual((await get('/v1/topics/cats/embedding')).json().embedding, [[0, 1]]);
  // ids are path segments: anything URL-encoded round-trips
  assert.equal((await get(`/v1/users/${encodeURIComponent('dave')}/embedding`)).statusCode, 200);
});

test('clusters: KnownFor members and top producers, items, topics', async () => {
  assert.deepEqual((await get('/v1/clusters/0')).json(), {
    version,
    clusterId: 0,
    knownFor: [
      { producerId: 'alice', score: 0.9 },
      { producerId: 'bob', score: 0.5 },
    ],
    topProducers: [
      { producerId: 'alice', score: 0.9 },
      { producerId: 'bob', score: 0.5 },
    ],
    topItems: [
      { itemId: 'i1', score: 1 },
      { itemId: 'i4', score: 0.8 },
      { itemId: 'i0', score: 0.6 },
    ],
    topTopics: [{ topic: 'cats', score: 1 }],
  });
  const c3 = (await get('/v1/clusters/3?limit=1')).json();
  assert.deepEqual(c3.knownFor, []);
  assert.deepEqual(c3.topItems, [{ itemId: 'i5', score: 1 }]);
  assert.deepEqual(c3.topTopics, [{ topic: 'dogs', score: 1 }]);
});

test('OpenAPI at /docs/json lists every route; the UI at /docs', async () => {
  const doc = (await get('/docs/json')).json();
  assert.match(doc.openapi, /^3\./);
  for (const path of [
    '/v1/candidates/simclusters',
    '/v1/candidates/dense',
    '/v1/candidates/{source}',
    '/v1/events',
    '/v1/items',
    '/v1/items/{itemId}/similar',
    '/v1/users/{userId}/embedding',
    '/v1/items/{itemId}/embedding',
    '/v1/producers/{id}/embedding',
    '/v1/topics/{topic}/embedding',
    '/v1/clusters/{clusterId}',
    '/healthz',
    '/readyz',
    '/metrics',
  ])
    assert.ok(doc.paths[path], `${path} documented`);
  assert.ok(doc.paths['/v1/candidates/simclusters'].post.requestBody);
  const dense = doc.paths['/v1/candidates/dense'].post;
  assert.ok(dense.requestBody);
  assert.deepEqual(dense.tags, ['candidates']);
  assert.match(dense.summary, /dense/);
  const similar = doc.paths['/v1/items/{itemId}/similar'].get;
  assert.deepEqual(
    similar.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name),
    ['limit', 'source'],
  );
  const ui = await get('/docs');
  assert.ok(ui.statusCode === 200 || (ui.statusCode >= 300 && ui.statusCode < 400), String(ui.statusCode));
});

test('metrics: latency per route, candidates scored, artifact version', async () => {
  await post({ source: { userId: 'dave' } });
  await get('/v1/clusters/99');
  const res = await get('/metrics');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const text = res.body;
  assert.match(
    text,
    /simrec_http_request_duration_seconds_count\{route="\/v1\/candidates\/simclusters",method="POST",status="200"\} [1-9]/,
  );
  assert.match(
    text,
    /simrec_http_request_duration_seconds_count\{route="\/v1\/clusters\/:clusterId",method="GET",status="404"\} 1/,
  );
  const scored = /simrec_candidates_scored_total (\d+)/.exec(text);
  assert.ok(scored && Number(scored[1]) >= 3, 'candidates scored counted');
  assert.match(text, new RegExp(`simrec_artifact_info\\{version="${version}"\\} 1`));
});

// ---- error paths --------------------------------------------------------------------------------------------

const raw = (payload: string, contentType = 'application/json') =>
  app.inject({
    method: 'POST',
    url: '/v1/candidates/simclusters',
    payload,
    headers: { 'content-type': contentType },
  });

test('malformed, empty or non-object JSON → 400 naming the body', async () => {
  assertError(await raw('{"source": {'), 400, 'REQUEST_INVALID', 'body');
  assertError(await raw(''), 400, 'REQUEST_INVALID', 'body');
  assertError(await raw('[]'), 400, 'REQUEST_INVALID', 'body');
  assertError(await raw('null'), 400, 'REQUEST_INVALID', 'body');
  assertError(await raw('"dave"'), 400, 'REQUEST_INVALID', 'body');
  assertError(await raw('{"source":{"userId":"dave"},"__proto__":{"x":1}}'), 400, 'REQUEST_INVALID', 'body');
  assertError(
    await app.inject({ method: 'POST', url: '/v1/candidates/simclusters' }),
    400,
    'REQUEST_INVALID',
    'body',
  );
});

test('wrong types, missing and unknown fields → 400 naming the field', async () => {
  assertError(await post({}), 400, 'REQUEST_INVALID', 'source');
  assertError(await post({ source: {} }), 400, 'REQUEST_INVALID', 'source');
  assertError(await post({ source: { userId: 'dave', itemId: 'i0' } }), 400, 'REQUEST_INVALID', 'source');
  assertError(await post({ source: { user: 'dave' } }), 400, 'REQUEST_INVALID', 'source.user');
  assertError(await post({ source: { userId: 7 } }), 400, 'REQUEST_INVALID', 'source.userId');
  assertError(await post({ source: { userId: '' } }), 400, 'REQUEST_INVALID', 'source.userId');
  assertError(await post({ source: 'dave' }), 400, 'REQUEST_INVALID', 'source');
  assertError(await post({ source: { userId: 'dave' }, extra: 1 }), 400, 'REQUEST_INVALID', 'extra');
  assertError(
    await post({ source: { userId: 'dave' }, params: { topCluster: 5 } }),
    400,
    'REQUEST_INVALID',
    'params.topCluster',
  );
  assertError(await post({ source: { userId: 'dave' }, params: [] }), 400, 'REQUEST_INVALID', 'params');
  assertError(
    await post({ source: { userId: 'dave' }, params: { limit: '10' } }),
    400,
    'REQUEST_INVALID',
    'params.limit',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { limit: 1.5 } }),
    400,
    'REQUEST_INVALID',
    'params.limit',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { scoring: 'best' } }),
    400,
    'REQUEST_INVALID',
    'params.scoring',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { rerank: true } }),
    400,
    'REQUEST_INVALID',
    'params.rerank',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { mode: 'fast' } }),
    400,
    'REQUEST_INVALID',
    'params.mode',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { minScore: 'high' } }),
    400,
    'REQUEST_INVALID',
    'params.minScore',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { exclude: 'i0' } }),
    400,
    'REQUEST_INVALID',
    'params.exclude',
  );
  assertError(
    await post({ source: { userId: 'dave' }, params: { allow: [1] } }),
    400,
    'REQUEST_INVALID',
    'params.allow.0',
  );
  assertError(await post({ source: { embedding: [[0]] } }), 400, 'REQUEST_INVALID', 'source.embedding.0');
  assertError(
    await post({ source: { embedding: [[0, 1, 2]] } }),
    400,
    'REQUEST_INVALID',
    'source.embedding.0',
  );
  assertError(
    await post({ source: { embedding: [[0, 'x']] } }),
    400,
    'REQUEST_INVALID',
    'source.embedding.0.1',
  );
  assertError(await post({ source: { embedding: { 0: 1 } } }), 400, 'REQUEST_INVALID', 'source.embedding');
});

test('out-of-range and over-cap parameters → 400 naming the field', async () => {
  const dave = { userId: 'dave' };
  for (const [param, value] of [
    ['limit', 0],
    ['limit', 10_001],
    ['topClusters', 0],
    ['topClusters', 1001],
    ['itemsPerCluster', 100_001],
    ['approxTop', -5],
    ['minScore', 1e10],
    ['maxAgeHours', -1],
    ['minAgeHours', 1e9],
    ['now', -1],
  ] as const)
    assertError(
      await post({ source: dave, params: { [param]: value } }),
      400,
      'REQUEST_INVALID',
      `params.${param}`,
    );
  const many = Array.from({ length: 10_001 }, (_, j) => `x${j}`);
  assertError(
    await post({ source: dave, params: { exclude: many } }),
    400,
    'REQUEST_INVALID',
    'params.exclude',
  );
  assertError(await post({ source: dave, params: { allow: many } }), 400, 'REQUEST_INVALID', 'params.allow');
  const pairs = Array.from({ length: 10_001 }, (_, j) => [j % 4, 1]);
  assertError(await post({ source: { embedding: pairs } }), 400, 'REQUEST_INVALID', 'source.embedding');
  assertError(await post({ source: { userId: 'u'.repeat(1025) } }), 400, 'REQUEST_INVALID', 'source.userId');
  // 1e400 parses as Infinity: out of range, not a crash
  assertError(
    await raw('{"source":{"embedding":[[0,1e400]]}}'),
    400,
    'REQUEST_INVALID',
    'source.embedding.0.1',
  );
  assertError(
    await post({ source: { embedding: [[0, 1e10]] } }),
    400,
    'REQUEST_INVALID',
    'source.embedding.0.1',
  );
  // cluster ids are checked against this version's k
  assertError(await post({ source: { embedding: [[4, 1]] } }), 400, 'CONFIG_INVALID', 'source.embedding.0.0');
  assertError(
    await post({ source: { embedding: [[-1, 1]] } }),
    400,
    'CONFIG_INVALID',
    'source.embedding.0.0',
  );
  assertError(
    await post({ source: { embedding: [[0.5, 1]] } }),
    400,
    'CONFIG_INVALID',
    'source.embedding.0.0',
  );
  assertError(
    await post({
      source: {
        embedding: [
          [2, 1],
          [1, 1],
          [2, 3],
        ],
      },
    }),
    400,
    'CONFIG_INVALID',
    'source.embedding.2.0',
  );
  assertError(await get('/v1/items/i0/similar?limit=0'), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get('/v1/items/i0/similar?limit=abc'), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get('/v1/items/i0/similar?limit=10001'), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get('/v1/users/dave/embedding?score=bogus'), 400, 'REQUEST_INVALID', 'score');
  assertError(await get('/v1/items/i0/embedding?kind=oldest'), 400, 'REQUEST_INVALID', 'kind');
  assertError(await get('/v1/clusters/-1'), 400, 'REQUEST_INVALID', 'clusterId');
  assertError(await get('/v1/clusters/abc'), 400, 'REQUEST_INVALID', 'clusterId');
  assertError(await get('/v1/clusters/1.5'), 400, 'REQUEST_INVALID', 'clusterId');
  assertError(await get('/v1/clusters/99999999999'), 400, 'REQUEST_INVALID', 'clusterId');
  assertError(await get('/v1/clusters/0?limit=1001'), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get(`/v1/users/${'u'.repeat(1025)}/embedding`), 400, 'REQUEST_INVALID', 'userId');
});

test('unknown user, item, producer, topic, cluster → 404 naming the field', async () => {
  assertError(await post({ source: { userId: 'zed' } }), 404, 'NOT_FOUND', 'source.userId');
  assertError(await post({ source: { itemId: 'i9' } }), 404, 'NOT_FOUND', 'source.itemId');
  // a user who is no producer
  assertError(await post({ source: { producerId: 'dave' } }), 404, 'NOT_FOUND', 'source.producerId');
  assertError(await post({ source: { topic: 'birds' } }), 404, 'NOT_FOUND', 'source.topic');
  assertError(await get('/v1/items/i9/similar'), 404, 'NOT_FOUND', 'itemId');
  assertError(await get('/v1/users/zed/embedding'), 404, 'NOT_FOUND', 'userId');
  assertError(await get('/v1/items/i9/embedding'), 404, 'NOT_FOUND', 'itemId');
  assertError(await get('/v1/producers/zed/embedding'), 404, 'NOT_FOUND', 'id');
  assertError(await get('/v1/topics/birds/embedding'), 404, 'NOT_FOUND', 'topic');
  assertError(await get('/v1/clusters/4'), 404, 'NOT_FOUND', 'clusterId');
});

test('body too large → 413, wrong content type → 415, unknown route or method → 404', async () => {
  const big = JSON.stringify({ source: { userId: 'dave' }, params: { exclude: ['x'.repeat(1 << 20)] } });
  assertError(await raw(big), 413, 'BODY_TOO_LARGE', 'body');
  assertError(await raw('source=dave', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type');
  assertError(
    await raw('source=dave', 'application/x-www-form-urlencoded'),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'content-type',
  );
  assertError(await get('/v2/candidates'), 404, 'ROUTE_NOT_FOUND');
  assertError(await app.inject({ method: 'DELETE', url: '/healthz' }), 404, 'ROUTE_NOT_FOUND');
  assertError(await get('/v1/candidates/simclusters'), 404, 'ROUTE_NOT_FOUND');
});

test('a smaller configured body limit applies', async () => {
  const dir = join(root, 'a');
  const small = await buildApp({ artifacts: dir, pollMs: 0, bodyLimit: 64, docs: false });
  try {
    const res = await small.inject({
      method: 'POST',
      url: '/v1/candidates/simclusters',
      payload: { source: { userId: 'dave' }, params: { exclude: ['a'.repeat(100)] } },
    });
    assertError(res, 413, 'BODY_TOO_LARGE', 'body');
    assert.equal(
      (
        await small.inject({
          method: 'POST',
          url: '/v1/candidates/simclusters',
          payload: { source: { userId: 'dave' } },
        })
      ).statusCode,
      200,
    );
  } finally {
    await small.close();
  }
});

test('before any version exists: healthz 200, readyz and data routes 503; ready once a build commits', async () => {
  const dir = join(root, 'empty');
  const cold = await buildApp({ artifacts: dir, pollMs: 0, docs: false });
  try {
    assert.equal((await cold.inject({ url: '/healthz' })).statusCode, 200);
    assertError(await cold.inject({ url: '/readyz' }), 503, 'ARTIFACT_MISSING');
    assertError(
      await cold.inject({
        method: 'POST',
        url: '/v1/candidates/simclusters',
        payload: { source: { userId: 'dave' } },
      }),
      503,
      'ARTIFACT_MISSING',
    );
    assertError(await cold.inject({ url: '/v1/clusters/0' }), 503, 'ARTIFACT_MISSING');
    const id = await writeTestArtifacts(dir, SMALL_FIXTURE);
    assert.equal(await cold.simrec.live.refresh(), true);
    assert.deepEqual((await cold.inject({ url: '/readyz' })).json(), {
      status: 'ready',
      version: id,
      lag: { events: 0, seconds: 0 },
    });
  } finally {
    await cold.close();
  }
});

test('a version without item embeddings serves embeddings and clusters, and answers candidates with 503', async () => {
  const dir = join(root, 'no-items');
  await writeTestArtifacts(dir, { ...SMALL_FIXTURE, omit: [KEYS.itemEmbeddings, KEYS.clusterItems] });
  const partial = await buildApp({ artifacts: dir, pollMs: 0, docs: false });
  try {
    assertError(
      await partial.inject({
        method: 'POST',
        url: '/v1/candidates/simclusters',
        payload: { source: { userId: 'dave' } },
      }),
      503,
      'ARTIFACT_MISSING',
    );
    assertError(await partial.inject({ url: '/v1/items/i0/similar' }), 503, 'ARTIFACT_MISSING');
    assert.equal((await partial.inject({ url: '/v1/users/dave/embedding' })).statusCode, 200);
    assert.deepEqual((await partial.inject({ url: '/v1/clusters/0' })).json().topItems, []);
    assert.deepEqual(
      (await partial.inject({ url: '/v1/items/i0/embedding?kind=longest' })).json().embedding,
      [[1, 1]],
    );
  } finally {
    await partial.close();
  }
});
