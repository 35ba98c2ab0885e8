import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { CsrMatrix } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import { HybridMF } from '../mf/model.ts';
import { MF_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp, type SimrecFastify } from './app.ts';

let root: string;
let app: SimrecFastify;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-serve-fuzz-'));
  // MF_FIXTURE is SMALL_FIXTURE plus MF vectors (HNSW indexes here), and a small fitted model of the same
  // shape so that random fold-in histories reach the fold-in itself.
  const model = new HybridMF({ components: 2 });
  await model.fit(
    {
      nUsers: 5,
      nItems: 6,
      interactions: CsrMatrix.fromCoo(
        Int32Array.of(3, 4, 4, 0, 1),
        Int32Array.of(1, 3, 5, 0, 2),
        new Float32Array(5).fill(1),
        5,
        6,
        'max',
      ),
    },
    { epochs: 3, seed: 1 },
  );
  await writeTestArtifacts(root, { ...MF_FIXTURE, mf: { ...MF_FIXTURE.mf!, index: 'hnsw', model } });
  app = await buildApp({ artifacts: root, pollMs: 0, docs: false });
});

after(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const IDS = [
  'dave',
  'erin',
  'alice',
  'i0',
  'i4',
  'cats',
  'dogs',
  'zed',
  '',
  ' ',
  'é',
  '../x',
  '%00',
  'a'.repeat(1500),
];
const KEYS_SEEN = [
  'source',
  'params',
  'userId',
  'itemId',
  'producerId',
  'topic',
  'embedding',
  'topClusters',
  'itemsPerCluster',
  'approxTop',
  'limit',
  'minScore',
  'scoring',
  'rerank',
  'mode',
  'minAgeHours',
  'maxAgeHours',
  'now',
  'exclude',
  'allow',
  'items',
  'vector',
  'ef',
  '__proto__',
  'constructor',
];
const NUMBERS = [
  0,
  1,
  -1,
  2,
  3,
  4,
  5,
  0.5,
  -0.5,
  1e9,
  -1e9,
  1e10,
  1e300,
  -1e300,
  2 ** 31,
  2 ** 53,
  10_000,
  10_001,
];

/** A random JSON value, biased towards what the API takes so mutations reach deep into the handlers. */
function value(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0:
      return NUMBERS[rng.int(NUMBERS.length)];
    case 1:
      return rng.next() * 20 - 10;
    case 2:
      return IDS[rng.int(IDS.length)];
    case 3:
      return rng.int(2) === 0;
    case 4:
      return null;
    case 5:
      return [
        'dot',
        'cosine',
        'logCosine',
        'candidateNormalized',
        'itemNormCosine',
        'exact',
        'none',
        'approx',
        'ann',
      ][rng.int(9)];
    case 6:
      return Array.from({ length: rng.int(5) }, () => value(rng, depth + 1));
    case 7:
      return Array.from({ length: rng.int(6) }, () => [rng.int(7) - 1, NUMBERS[rng.int(NUMBERS.length)]]);
    default: {
      const o: Record<string, unknown> = {};
      for (let j = rng.int(4); j > 0; j--) o[KEYS_SEEN[rng.int(KEYS_SEEN.length)]] = value(rng, depth + 1);
      return o;
    }
  }
}

/** A valid request, then a few random edits: replace, delete or add a field at the top, in source or params. */
function body(rng: Rng): unknown {
  const sources = [
    { userId: IDS[rng.int(IDS.length)] },
    { itemId: IDS[rng.int(IDS.length)] },
    { producerId: IDS[rng.int(IDS.length)] },
    { topic: IDS[rng.int(IDS.length)] },
    { embedding: Array.from({ length: rng.int(6) }, () => [rng.int(6) - 1, rng.next() * 2 - 0.5]) },
  ];
  const b: Record<string, Record<string, unknown>> = {
    source: sources[rng.int(sources.length)],
    params: {},
  };
  const paramKeys = KEYS_SEEN.slice(7, 20);
  for (let j = rng.int(4); j > 0; j--) b.params[paramKeys[rng.int(paramKeys.length)]] = value(rng, 1);
  for (let j = rng.int(3); j > 0; j--) {
    const target = [b, b.source, b.params][rng.int(3)] as Record<string, unknown>;
    const key = KEYS_SEEN[rng.int(KEYS_SEEN.length)];
    if (rng.int(3) === 0) delete target[key];
    else target[key] = value(rng, 1);
  }
  return b;
}

function assertWellFormed(res: LightMyRequestResponse, what: string): void {
  assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
  // /metrics and /docs answer text and HTML; everything else, errors included, JSON
  if (!/^application\/json/.test(String(res.headers['content-type']))) {
    assert.ok(res.statusCode < 400, `${what}: an error that is not JSON`);
    return;
  }
  const json = res.json();
  if (res.statusCode >= 400) {
    assert.equal(typeof json.error?.code, 'string', `${what}: ${res.body}`);
    assert.equal(typeof json.error?.message, 'string', `${what}: ${res.body}`);
  }
}

test('a few hundred seeded random candidate bodies: never a 5xx, always the documented shapes', async () => {
  const rng = new Rng('serve-fuzz-bodies');
  const statuses = new Map<number, number>();
  for (let n = 0; n < 400; n++) {
    const b = body(rng);
    let payload = JSON.stringify(b);
    // some bodies arrive cut short or with a stray byte
    if (rng.int(10) === 0) payload = payload.slice(0, rng.int(payload.length));
    else if (rng.int(20) === 0) payload = `${payload}}`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/candidates/simclusters',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    assertWellFormed(res, payload.slice(0, 300));
    if (res.statusCode === 200) assert.ok(Array.isArray(res.json().candidates));
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  }
  // the mutations reach every class of answer, not just the schema's first check
  for (const s of [200, 400, 404]) assert.ok((statuses.get(s) ?? 0) > 0, `some ${s}: ${[...statuses]}`);
});

/** A valid dense request, then random edits as {@link body} makes them. */
function denseBody(rng: Rng): unknown {
  // half of the ids are the fixture's items, so that valid item and fold-in sources are common
  const id = () =>
    rng.int(2) === 0 ? IDS[rng.int(IDS.length)] : MF_FIXTURE.items[rng.int(MF_FIXTURE.items.length)];
  const list = () => Array.from({ length: 1 + rng.int(4) }, id);
  const sources = [
    { userId: id() },
    { itemId: id() },
    { items: list() },
    { userId: id(), items: list() },
    { vector: Array.from({ length: rng.int(2) === 0 ? 4 : rng.int(7) }, () => rng.next() * 4 - 2) },
  ];
  const b: Record<string, Record<string, unknown>> = {
    source: sources[rng.int(sources.length)],
    params: {},
  };
  const paramKeys = ['limit', 'ef', 'mode', 'exclude', 'allow'];
  for (let j = rng.int(4); j > 0; j--) b.params[paramKeys[rng.int(paramKeys.length)]] = value(rng, 1);
  for (let j = rng.int(3); j > 0; j--) {
    const target = [b, b.source, b.params][rng.int(3)] as Record<string, unknown>;
    // an earlier edit may have replaced source or params by a non-object
    if (typeof target !== 'object' || target === null) continue;
    const key = KEYS_SEEN[rng.int(KEYS_SEEN.length)];
    if (rng.int(3) === 0) delete target[key];
    else target[key] = value(rng, 1);
  }
  return b;
}

test('a few hundred seeded random dense bodies: never a 5xx, always the documented shapes', async () => {
  const rng = new Rng('serve-fuzz-dense');
  const statuses = new Map<number, number>();
  const sources = new Set<string>();
  for (let n = 0; n < 400; n++) {
    let payload = JSON.stringify(denseBody(rng));
    if (rng.int(10) === 0) payload = payload.slice(0, rng.int(payload.length));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/candidates/dense',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    assertWellFormed(res, payload.slice(0, 300));
    if (res.statusCode === 200) {
      assert.ok(Array.isArray(res.json().candidates));
      sources.add(res.json().source);
    }
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  }
  for (const s of [200, 400, 404]) assert.ok((statuses.get(s) ?? 0) > 0, `some ${s}: ${[...statuses]}`);
  // every kind of source answered at least once, fold-ins included
  assert.deepEqual([...sources].sort(), ['mf:fold-in', 'mf:item', 'mf:user', 'raw']);
});

test('seeded random GET paths and query strings: never a 5xx', async () => {
  const rng = new Rng('serve-fuzz-urls');
  const pieces = [
    'v1',
    'users',
    'items',
    'producers',
    'topics',
    'clusters',
    'embedding',
    'similar',
    'docs',
    'metrics',
  ];
  const queries = ['limit', 'score', 'kind', 'source', 'x'];
  const segment = () => {
    const r = rng.int(3);
    if (r === 0) return pieces[rng.int(pieces.length)];
    if (r === 1) return encodeURIComponent(String(rng.int(4) === 0 ? 'mf' : value(rng, 3)));
    return String(NUMBERS[rng.int(NUMBERS.length)]);
  };
  const templates = [
    () => `/v1/users/${segment()}/embedding`,
    () => `/v1/items/${segment()}/embedding`,
    () => `/v1/items/${segment()}/similar`,
    () => `/v1/producers/${segment()}/embedding`,
    () => `/v1/topics/${segment()}/embedding`,
    () => `/v1/clusters/${segment()}`,
    () => `/${Array.from({ length: 1 + rng.int(4) }, segment).join('/')}`,
  ];
  for (let n = 0; n < 300; n++) {
    let url = templates[rng.int(templates.length)]();
    const q = Array.from(
      { length: rng.int(3) },
      () => `${queries[rng.int(queries.length)]}=${encodeURIComponent(String(value(rng, 3)))}`,
    );
    if (q.length > 0) url += `?${q.join('&')}`;
    assertWellFormed(await app.inject({ method: 'GET', url }), url);
  }
});

/** A valid recommendation request, then random edits as {@link body} makes them. */
function recommendBody(rng: Rng): unknown {
  const id = () =>
    rng.int(2) === 0 ? IDS[rng.int(IDS.length)] : MF_FIXTURE.items[rng.int(MF_FIXTURE.items.length)];
  const list = () => Array.from({ length: 1 + rng.int(4) }, id);
  const subjects = [
    {
      userId:
        rng.int(2) === 0 ? IDS[rng.int(IDS.length)] : MF_FIXTURE.users[rng.int(MF_FIXTURE.users.length)],
    },
    { items: list() },
    { userId: id(), items: list() },
    { embedding: Array.from({ length: rng.int(6) }, () => [rng.int(6) - 1, rng.next() * 2 - 0.5]) },
  ];
  const b: Record<string, unknown> = { subject: subjects[rng.int(subjects.length)] };
  const top = ['limit', 'explain', 'strategy', 'explore', 'seed', 'filters'];
  const filterKeys = [
    'exclude',
    'allow',
    'minAgeHours',
    'maxAgeHours',
    'maxPerAuthor',
    'excludeEngaged',
    'excludeHidden',
    'excludeOwn',
    'excludeSeen',
    'now',
  ];
  const filters: Record<string, unknown> = {};
  for (let j = rng.int(3); j > 0; j--) filters[filterKeys[rng.int(filterKeys.length)]] = value(rng, 1);
  if (rng.int(2) === 0) b.filters = filters;
  for (let j = rng.int(4); j > 0; j--) {
    const key = top[rng.int(top.length)];
    b[key] =
      key === 'explore'
        ? [0, 0.1, 0.5, 1, 2, -1][rng.int(6)]
        : key === 'strategy'
          ? 'default'
          : value(rng, 1);
  }
  for (let j = rng.int(3); j > 0; j--) {
    const target = [b, b.subject, b.filters][rng.int(3)] as Record<string, unknown>;
    if (typeof target !== 'object' || target === null) continue;
    const key = [...KEYS_SEEN, ...top, ...filterKeys][
      rng.int(KEYS_SEEN.length + top.length + filterKeys.length)
    ];
    if (rng.int(3) === 0) delete target[key];
    else target[key] = value(rng, 1);
  }
  return b;
}

test('a few hundred seeded random recommendation bodies: never a 5xx, always the documented shapes', async () => {
  const rng = new Rng('serve-fuzz-recommend');
  const statuses = new Map<number, number>();
  const subjects = new Set<string>();
  for (let n = 0; n < 400; n++) {
    let payload = JSON.stringify(recommendBody(rng));
    if (rng.int(10) === 0) payload = payload.slice(0, rng.int(payload.length));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommendations',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    assertWellFormed(res, payload.slice(0, 300));
    if (res.statusCode === 200) {
      const r = res.json();
      assert.ok(Array.isArray(r.items));
      // Never empty for this non-empty catalogue unless the request's own filters left nothing.
      if (!payload.includes('"filters"')) assert.ok(r.items.length > 0, payload);
      subjects.add(r.subject);
    }
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  }
  for (const s of [200, 400]) assert.ok((statuses.get(s) ?? 0) > 0, `some ${s}: ${[...statuses]}`);
  assert.deepEqual([...subjects].sort(), ['embedding', 'session', 'unknown-user', 'user']);
});

test('seeded random recommendation query strings: never a 5xx', async () => {
  const rng = new Rng('serve-fuzz-recommend-urls');
  const queries = ['limit', 'explain', 'strategy', 'explore', 'seed', 'x'];
  const words = ['true', 'false', 'default', '0', '0.5', '1', '20', '1001', '', 'NaN', '-1', '1e3'];
  for (let n = 0; n < 300; n++) {
    const user =
      rng.int(2) === 0 ? MF_FIXTURE.users[rng.int(MF_FIXTURE.users.length)] : String(value(rng, 3));
    let url = `/v1/users/${encodeURIComponent(user)}/recommendations`;
    const q = Array.from({ length: rng.int(4) }, () => {
      const v = rng.int(2) === 0 ? words[rng.int(words.length)] : String(value(rng, 3));
      return `${queries[rng.int(queries.length)]}=${encodeURIComponent(v)}`;
    });
    if (q.length > 0) url += `?${q.join('&')}`;
    const res = await app.inject({ method: 'GET', url });
    assertWellFormed(res, url);
  }
});
