import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import { PRESET_NAMES, PRESETS, resolveParams } from './params.ts';

test('presets: the sizes the task promises at scale 1', () => {
  assert.deepEqual(PRESET_NAMES, ['tiny', 'small', 'social', 'movies', 'medium']);
  for (const name of PRESET_NAMES) assert.doesNotThrow(() => resolveParams(name));
  const { small, social, medium, movies, tiny } = PRESETS;
  assert.ok(tiny.users >= 200 && tiny.users < 1000);
  assert.equal(small.users, 10_000);
  assert.equal(small.producers, 1_000);
  assert.ok(small.communities >= 10 && small.communities <= 20);
  assert.ok(social.users >= 100_000 && social.items >= 100_000 && social.users * social.outDegreeMean >= 1e6);
  assert.equal(medium.users, 1_000_000);
  assert.equal(medium.producers, 100_000);
  assert.equal(medium.items, 1_000_000);
  assert.equal(medium.users * medium.outDegreeMean, 1e7);
  assert.equal(medium.users * medium.engagementsPerUserMean, 1e7);
  assert.equal(movies.kind, 'catalogue');
  assert.ok(movies.users * movies.engagementsPerUserMean >= 2e5);
});

test('scale multiplies users, producers, items and communities; sizes, degrees and rates stay', () => {
  const p = resolveParams('small', {}, 2.5);
  assert.equal(p.users, 25_000);
  assert.equal(p.producers, 2_500);
  assert.equal(p.items, 25_000);
  assert.equal(p.communities, 40);
  assert.equal(p.communityMinSize, 25);
  assert.equal(p.outDegreeMean, 10);
  assert.equal(p.mixing, 0.1);
  assert.equal(p.scale, 2.5);
  const m = resolveParams('movies', {}, 0.5);
  assert.equal(m.users, 3_000);
  assert.equal(m.items, 2_000);
  assert.equal(m.producers, 2_000);
  assert.equal(m.communities, 10);
});

test('too few producers for the communities at their minimum size: fewer communities', () => {
  // tiny × 0.1: 40 users, 6 producers; 4 communities of ≥ 10 do not fit, nor does 1 of 10 → 1 of 6.
  const p = resolveParams('tiny', {}, 0.1);
  assert.equal(p.users, 40);
  assert.equal(p.producers, 6);
  assert.equal(p.communities, 1);
  assert.equal(p.communityMinSize, 6);
  const q = resolveParams('small', {}, 0.5);
  assert.equal(q.producers, 500);
  assert.equal(q.communities, 8);
});

test('overrides replace preset values before scaling and are validated', () => {
  const p = resolveParams('tiny', { mixing: 0.3, users: 1000 }, 2);
  assert.equal(p.mixing, 0.3);
  assert.equal(p.users, 2000);
  const bad: [Record<string, unknown>, string][] = [
    [{ mixing: 1.5 }, 'mixing'],
    [{ mixing: Number.NaN }, 'mixing'],
    [{ users: 10.5 }, 'users'],
    [{ users: 1 }, 'users'],
    [{ interestCountWeights: [] }, 'interestCountWeights'],
    [{ interestCountWeights: [0, 0] }, 'interestCountWeights'],
    [{ interestCountWeights: [1, -1] }, 'interestCountWeights'],
    [{ engagementsPerUserMin: 5, engagementsPerUserMax: 4 }, 'engagementsPerUserMax'],
    [{ kind: 'graph' }, 'kind'],
    [{ outDegreeMean: 0 }, 'outDegreeMean'],
  ];
  for (const [o, field] of bad) {
    assert.throws(
      () => resolveParams('tiny', o as never),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field,
      JSON.stringify(o),
    );
  }
});

test('unknown preset and bad scale are CONFIG_INVALID naming the field', () => {
  assert.throws(
    () => resolveParams('huge' as never),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'preset',
  );
  for (const s of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => resolveParams('tiny', {}, s),
      (e: unknown) => e instanceof SimrecError && e.detail.field === 'scale',
    );
  }
});
