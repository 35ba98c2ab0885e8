// POST /v1/candidates/:source (issue 14 item 2): any registered source with one body shape; the two
// source-specific routes stay as aliases and accept that body too.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CandidateSource } from '../query/candidate-source.ts';
import type { ServingModel } from '../query/serving-model.ts';
import { denseSource } from '../query/sources/dense.ts';
import { simclustersSource } from '../query/sources/simclusters.ts';
import { MF_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { assertError, assertRanked } from './test-assertions.ts';

const renamed =
  (make: (m: ServingModel) => CandidateSource | null, name: string) =>
  (m: ServingModel): CandidateSource | null => {
    const s = make(m);
    return s && { name, retrieve: s.retrieve.bind(s) };
  };

// The registry's own two sources are answered by their alias routes, so the generic route is exercised through
// the same sources registered under other names (what an embedder's extra source would be).
const EXTRA = {
  sc: renamed(simclustersSource, 'sc'),
  mf: renamed(denseSource, 'mf'),
  absent: () => null,
};

let root: string;
let app: SimrecFastify;
let version: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-sources-route-'));
  version = await writeTestArtifacts(join(root, 'a'), MF_FIXTURE);
  app = await buildApp({ artifacts: join(root, 'a'), pollMs: 0, docs: false, extraSources: EXTRA });
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: payload as object });

function ranked(res: { statusCode: number; body: string; json(): unknown }): [string, number][] {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { candidates: { itemId: string; score: number }[] }).candidates.map((c) => [
    c.itemId,
    c.score,
  ]);
}

test('a source by name answers { version, source, candidates, stats }, as its alias route ranks', async () => {
  const res = await post('/v1/candidates/sc', { source: { userId: 'dave' } });
  // dave's SimClusters answer, worked out in test-fixtures.ts (app.test.ts pins the same list)
  assertRanked(ranked(res), [
    ['i0', 0.96],
    ['i4', 0.64],
    ['i2', 0.6],
  ]);
  const body = res.json();
  assert.deepEqual(Object.keys(body), ['version', 'source', 'candidates', 'stats']);
  assert.equal(body.version, version);
  assert.equal(body.source, 'sc');
  assert.deepEqual(Object.keys(body.candidates[0]), ['itemId', 'score']);
  assert.equal(body.stats.sourceEmbedding, 'interestedIn:logFavScoreClusterNormalized');
  assert.equal(body.stats.candidatesScored, 3);

  for (const [name, alias] of [
    ['sc', 'simclusters'],
    ['mf', 'dense'],
  ])
    for (const source of [{ userId: 'dave' }, { itemId: 'i0' }]) {
      const generic = ranked(await post(`/v1/candidates/${name}`, { source, params: { limit: 3 } }));
      const own = ranked(await post(`/v1/candidates/${alias}`, { source, params: { limit: 3 } }));
      assert.ok(generic.length > 0, `${name} ${JSON.stringify(source)}`);
      assertRanked(generic, own, 1e-9);
    }
});

test('the shared filter: limit, exclude, allow', async () => {
  const full = ranked(await post('/v1/candidates/mf', { source: { userId: 'dave' } }));
  assert.ok(full.length >= 3);
  assertRanked(
    ranked(await post('/v1/candidates/mf', { source: { userId: 'dave' }, params: { limit: 1 } })),
    full.slice(0, 1),
    1e-9,
  );
  assertRanked(
    ranked(
      await post('/v1/candidates/mf', { source: { userId: 'dave' }, params: { exclude: [full[0][0]] } }),
    ),
    full.slice(1),
    1e-9,
  );
  assertRanked(
    ranked(
      await post('/v1/candidates/mf', {
        source: { userId: 'dave' },
        params: { allow: [full[2][0], 'no-such-item'] },
      }),
    ),
    [full[2]],
    1e-9,
  );
});

test('one body fits every candidates route: the aliases take the shared filter too', async () => {
  const params = { limit: 2, exclude: ['i5'], allow: ['i0', 'i2', 'i4'], maxAgeHours: 1e6, now: 1.7e9 };
  for (const url of [
    '/v1/candidates/simclusters',
    '/v1/candidates/dense',
    '/v1/candidates/sc',
    '/v1/candidates/mf',
  ])
    assert.equal(ranked(await post(url, { source: { userId: 'dave' }, params })).length, 2, url);
});

test('unknown source 404, a source the version lacks 503, a subject it cannot use 400, all naming source', async () => {
  const unknown = await post('/v1/candidates/popularity', { source: { userId: 'dave' } });
  assertError(unknown, 404, 'NOT_FOUND', 'source');
  assert.match(
    unknown.json().error.message,
    /unknown candidate source 'popularity'; sources: simclusters, dense, /,
  );
  assertError(
    await post('/v1/candidates/absent', { source: { userId: 'dave' } }),
    503,
    'ARTIFACT_MISSING',
    'source',
  );
  assertError(
    await post('/v1/candidates/sc', { source: { vector: [1, 0, 0] } }),
    400,
    'CONFIG_INVALID',
    'source',
  );
  assertError(
    await post('/v1/candidates/mf', { source: { topic: 'cats' } }),
    400,
    'CONFIG_INVALID',
    'source',
  );
  assertError(
    await post('/v1/candidates/sc', { source: { userId: 'nobody' } }),
    404,
    'NOT_FOUND',
    'source.userId',
  );
  // Source-specific parameters belong to the alias routes.
  assertError(
    await post('/v1/candidates/sc', { source: { userId: 'dave' }, params: { topClusters: 5 } }),
    400,
    'REQUEST_INVALID',
    'params.topClusters',
  );
  assertError(
    await post('/v1/candidates/sc', { source: { userId: 'dave', topic: 'x', itemId: 'i0' } }),
    400,
    'REQUEST_INVALID',
    'source',
  );
  assertError(await post('/v1/candidates/sc', {}), 400, 'REQUEST_INVALID', 'source');
});

test('an extra source may not shadow a registered one', async () => {
  await assert.rejects(
    buildApp({ artifacts: join(root, 'a'), pollMs: 0, docs: false, extraSources: { dense: EXTRA.mf } }),
    /'dense' is a registered candidate source/,
  );
});
