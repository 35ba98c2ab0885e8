// The recommendation routes' contract through `inject`, over SMALL_FIXTURE (no ranker: reciprocal-rank fusion).
// Expected lists are worked out from the fixture as in recommend/engine.test.ts: dave (InterestedIn c0 0.8, c1
// 0.6, engaged i1 = [c0 1]) gets SimClusters i0 0.96, i4 0.64, i2 0.6; item → item from i1: i4 0.8, i0 0.6;
// popular (one user each, i1 excluded): i3, i5. RRF (k 60): i0 = i4 = 1/61 + 1/62, i3 1/61, i5 1/62, i2 1/63.
// The ranker's side of the contract (feature contributions, a config strategy) is test/serve-recommend.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import type { Recommendation } from '../recommend/engine.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { assertError } from './test-assertions.ts';

let root: string;
let app: SimrecFastify;
let version: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-serve-recommend-'));
  version = await writeTestArtifacts(root, SMALL_FIXTURE);
  app = await buildApp({ artifacts: root, pollMs: 0 });
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url });
const post = (payload: unknown) =>
  app.inject({ method: 'POST', url: '/v1/recommendations', payload: payload as object });

function ok(res: LightMyRequestResponse): Recommendation {
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Recommendation;
}
const ids = (r: Recommendation) => r.items.map((x) => x.itemId);
const DAVE = ['i0', 'i4', 'i3', 'i5', 'i2'];

test('GET: fused order, scores, provenance with ranks, limit', async () => {
  const r = ok(await get('/v1/users/dave/recommendations?explore=0&limit=10'));
  assert.equal(r.version, version);
  assert.equal(r.strategy, 'default');
  assert.equal(r.subject, 'user');
  assert.equal(r.scoring, 'fusion');
  assert.deepEqual(ids(r), DAVE);
  assert.ok(Math.abs(r.items[0].score - (1 / 61 + 1 / 62)) < 1e-12);
  assert.ok(Math.abs(r.items[4].score - 1 / 63) < 1e-12);
  assert.deepEqual(
    r.items[0].sources.map((p) => [p.source, p.rank]),
    [
      ['simclusters', 0],
      ['item2item', 1],
    ],
  );
  assert.ok(Math.abs(r.items[0].sources[0].score - 0.96) < 1e-6);
  assert.deepEqual(
    r.items[1].sources.map((p) => [p.source, p.rank]),
    [
      ['simclusters', 1],
      ['item2item', 0],
    ],
  );
  assert.deepEqual(
    r.items[2].sources.map((p) => [p.source, p.rank]),
    [['popular', 0]],
  );
  assert.equal(r.stats.candidates, 5);
  assert.equal(r.stats.explored, 0);
  assert.ok(r.items.every((x) => x.explored === false && x.explanation === undefined));
  assert.ok(typeof r.stats.sources.dense.skipped === 'string');
  // limit: the first two of the same ranking; the default is 10.
  assert.deepEqual(ids(ok(await get('/v1/users/dave/recommendations?explore=0&limit=2'))), DAVE.slice(0, 2));
  assert.deepEqual(ids(ok(await get('/v1/users/dave/recommendations?explore=0'))), DAVE);
});

test('explain=true: clusters with their top producers, no feature contributions without a ranker', async () => {
  const r = ok(await get('/v1/users/dave/recommendations?explore=0&explain=true'));
  // i0 = c0 0.6, c1 0.8 against dave c0 0.8, c1 0.6: each cluster adds 0.48 (ties by cluster id).
  const i0 = r.items.find((x) => x.itemId === 'i0')!.explanation!;
  assert.deepEqual(
    i0.clusters.map((c) => c.clusterId),
    [0, 1],
  );
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  assert.ok(near(i0.clusters[0].subjectScore, 0.8) && near(i0.clusters[0].itemScore, 0.6));
  assert.ok(near(i0.clusters[1].subjectScore, 0.6) && near(i0.clusters[1].itemScore, 0.8));
  assert.ok(near(i0.clusters[0].contribution, 0.48) && near(i0.clusters[1].contribution, 0.48));
  assert.deepEqual(
    i0.clusters[0].topProducers.map((p) => p.producerId),
    ['alice', 'bob'],
  );
  assert.deepEqual(i0.features, []);
  // i3 came from popular only and shares no cluster with dave.
  assert.deepEqual(r.items.find((x) => x.itemId === 'i3')!.explanation!.clusters, []);
  // explain=false is the same answer without explanations.
  const plain = ok(await get('/v1/users/dave/recommendations?explore=0&explain=false'));
  assert.deepEqual(ids(plain), ids(r));
  assert.ok(plain.items.every((x) => x.explanation === undefined));
});

test('exploration: explore 0 deterministic, a seed reproduces, GET and POST seeds agree', async () => {
  const a = await get('/v1/users/dave/recommendations?explore=0&limit=4');
  const b = await get('/v1/users/dave/recommendations?explore=0&limit=4');
  assert.equal(a.body, b.body);
  const s1 = ok(await get('/v1/users/dave/recommendations?explore=0.5&limit=4&seed=7'));
  const s2 = ok(await get('/v1/users/dave/recommendations?explore=0.5&limit=4&seed=7'));
  assert.deepEqual(s1, s2);
  assert.equal(s1.stats.explored, 2);
  assert.equal(s1.items.filter((x) => x.explored).length, 2);
  // The POST body's seed 7 is the query string's "7".
  const p = ok(await post({ subject: { userId: 'dave' }, limit: 4, explore: 0.5, seed: 7 }));
  assert.deepEqual(p, s1);
  assert.deepEqual(ok(await post({ subject: { userId: 'dave' }, limit: 4, explore: 0.5, seed: '7' })), s1);
  // Without a seed the user id seeds it: the same user, the same answer.
  const u1 = await get('/v1/users/dave/recommendations?explore=0.5&limit=4');
  const u2 = await get('/v1/users/dave/recommendations?explore=0.5&limit=4');
  assert.equal(u1.body, u2.body);
  // The default strategy's share, 0.1: one slot of 4.
  assert.equal(ok(await get('/v1/users/dave/recommendations?limit=4')).stats.explored, 1);
});

test('POST: session, raw embedding, user with items, filters', async () => {
  const session = ok(await post({ subject: { items: ['i1', 'i4'] }, explore: 0 }));
  assert.equal(session.subject, 'session');
  assert.ok(!ids(session).includes('i1') && !ids(session).includes('i4'));
  assert.ok(session.items.length > 0);
  const raw = ok(await post({ subject: { embedding: [[3, 1]] }, limit: 3, explore: 0 }));
  assert.equal(raw.subject, 'embedding');
  // c3: i5 (1), i3 (0.8) by SimClusters, then popular.
  assert.deepEqual(ids(raw).slice(0, 2), ['i5', 'i3']);
  assert.deepEqual(
    ok(await post({ subject: { userId: 'dave' }, explore: 0 })).items,
    ok(await get('/v1/users/dave/recommendations?explore=0')).items,
  );
  const withItems = ok(await post({ subject: { userId: 'dave', items: ['i4'] }, explore: 0 }));
  assert.equal(withItems.subject, 'user');
  assert.ok(!ids(withItems).includes('i4'));
  // Deny and allow lists (unknown ids ignored); an age window measured from `now` (ages: i0 1 h, i2 10 h,
  // i3 100 h, i4 30 h, i5 unknown and kept).
  const deny = ok(
    await post({ subject: { userId: 'dave' }, explore: 0, filters: { exclude: ['i0', 'nope'] } }),
  );
  assert.deepEqual(ids(deny), ['i4', 'i3', 'i5', 'i2']);
  assert.equal(deny.stats.dropped.excluded, 1);
  const allow = ok(await post({ subject: { userId: 'dave' }, explore: 0, filters: { allow: ['i2', 'i3'] } }));
  assert.deepEqual(ids(allow), ['i3', 'i2']);
  const young = ok(
    await post({ subject: { userId: 'dave' }, explore: 0, filters: { now: 1_700_000_000, maxAgeHours: 20 } }),
  );
  assert.deepEqual(ids(young), ['i0', 'i5', 'i2']);
  // excludeEngaged false: dave's own i1 may come back (popular returns it then).
  const again = ok(
    await post({ subject: { userId: 'dave' }, explore: 0, filters: { excludeEngaged: false } }),
  );
  assert.ok(ids(again).includes('i1'));
});

test('unknown users and visitors get trending, never an empty answer', async () => {
  const r = ok(await get('/v1/users/nobody/recommendations?explore=0&limit=3'));
  assert.equal(r.subject, 'unknown-user');
  assert.deepEqual(ids(r), ['i1', 'i3', 'i5']);
  const v = ok(await post({ subject: { items: ['not-an-item'] }, explore: 0, limit: 3 }));
  assert.equal(v.items.length, 3);
});

test('errors: 400 naming the field', async () => {
  const url = '/v1/users/dave/recommendations';
  assertError(await get(`${url}?limit=0`), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get(`${url}?limit=1001`), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get(`${url}?limit=2.5`), 400, 'REQUEST_INVALID', 'limit');
  assertError(await get(`${url}?explain=yes`), 400, 'REQUEST_INVALID', 'explain');
  assertError(await get(`${url}?explain`), 400, 'REQUEST_INVALID', 'explain');
  assertError(await get(`${url}?explore=1.5`), 400, 'REQUEST_INVALID', 'explore');
  assertError(await get(`${url}?explore=-0.1`), 400, 'REQUEST_INVALID', 'explore');
  assertError(await get(`${url}?strategy=nope`), 400, 'CONFIG_INVALID', 'strategy');
  assertError(await get(`${url}?stratgy=default`), 400, 'REQUEST_INVALID', 'stratgy');
  assertError(await get(`${url}?limit=1&limit=2`), 400, 'REQUEST_INVALID', 'limit');
  assertError(
    await post({ subject: { userId: 'dave' }, strategy: 'nope' }),
    400,
    'CONFIG_INVALID',
    'strategy',
  );
  assertError(await post({ subject: {} }), 400, 'REQUEST_INVALID', 'subject');
  assertError(await post({}), 400, 'REQUEST_INVALID', 'subject');
  assertError(await post({ subject: { itemId: 'i0' } }), 400, 'REQUEST_INVALID', 'subject.itemId');
  assertError(
    await post({ subject: { userId: 'dave', embedding: [[0, 1]] } }),
    400,
    'CONFIG_INVALID',
    'subject',
  );
  assertError(
    await post({ subject: { embedding: [[9, 1]] } }),
    400,
    'CONFIG_INVALID',
    'subject.embedding.0.0',
  );
  assertError(
    await post({
      subject: {
        embedding: [
          [0, 1],
          [0, 2],
        ],
      },
    }),
    400,
    'CONFIG_INVALID',
    'subject.embedding.1.0',
  );
  assertError(await post({ subject: { items: [] } }), 400, 'REQUEST_INVALID', 'subject.items');
  assertError(await post({ subject: { userId: 'dave' }, limit: 0 }), 400, 'REQUEST_INVALID', 'limit');
  assertError(await post({ subject: { userId: 'dave' }, explore: 2 }), 400, 'REQUEST_INVALID', 'explore');
  assertError(
    await post({ subject: { userId: 'dave' }, filters: { maxAgeHours: -1 } }),
    400,
    'REQUEST_INVALID',
    'filters.maxAgeHours',
  );
  assertError(
    await post({ subject: { userId: 'dave' }, filters: { maxPerAuthor: 0 } }),
    400,
    'REQUEST_INVALID',
    'filters.maxPerAuthor',
  );
  assertError(
    await post({ subject: { userId: 'dave' }, filters: { nope: true } }),
    400,
    'REQUEST_INVALID',
    'filters.nope',
  );
  assertError(await post({ subject: { userId: 'dave' }, seed: 1.5 }), 400, 'REQUEST_INVALID', 'seed');
});

test('events posted are reflected: a hide, a user only the log knows', async () => {
  const before = ids(ok(await get('/v1/users/dave/recommendations?explore=0')));
  assert.ok(before.includes('i2'));
  const res = await app.inject({
    method: 'POST',
    url: '/v1/events',
    payload: {
      events: [
        { userId: 'dave', action: 'hide', itemId: 'i2' },
        { userId: 'newbie', action: 'fav', itemId: 'i1', ts: 1_700_000_000 },
      ],
    },
  });
  assert.equal(res.statusCode, 202, res.body);
  await app.simrec.applier?.waitFor(app.simrec.events?.log.end() ?? 0);
  const after = ok(await get('/v1/users/dave/recommendations?explore=0'));
  assert.deepEqual(
    ids(after),
    DAVE.filter((i) => i !== 'i2'),
  );
  // newbie exists only in the log: a user now (folded in from i1 = [c0 1]), i1 excluded as engaged.
  const newbie = ok(await get('/v1/users/newbie/recommendations?explore=0'));
  assert.equal(newbie.subject, 'user');
  assert.ok(!ids(newbie).includes('i1'));
  assert.ok(newbie.items.some((x) => x.itemId === 'i4' && x.sources.some((p) => p.source === 'simclusters')));
});

test('metrics per route and strategy, OpenAPI tag', async () => {
  ok(await get('/v1/users/dave/recommendations?explore=0'));
  const text = (await get('/metrics')).body;
  assert.match(
    text,
    /simrec_recommendations_total\{strategy="default",scoring="fusion",subject="user"\} \d+/,
  );
  assert.match(text, /simrec_recommendation_candidates_total \d+/);
  assert.match(
    text,
    /simrec_http_request_duration_seconds_count\{route="\/v1\/users\/:userId\/recommendations",method="GET",status="200"\} \d+/,
  );
  const doc = (await get('/docs/json')).json();
  assert.ok(doc.tags.some((t: { name: string }) => t.name === 'recommendations'));
  assert.deepEqual(doc.paths['/v1/users/{userId}/recommendations'].get.tags, ['recommendations']);
  assert.deepEqual(doc.paths['/v1/recommendations'].post.tags, ['recommendations']);
});
