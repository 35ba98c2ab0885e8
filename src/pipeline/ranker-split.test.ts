// The ranker stage's choice of split and its per-user holdout, on two hand-made logs with known answers: users
// who each rate in one sitting and join over time (a MovieLens-like log: a time split's training window holds
// only newcomers), and users who engage all along (a feed: the window's users all have a past).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { loadDataset } from '../data/load.ts';
import { resolveBuildConfig } from './config.ts';
import {
  chooseSplit,
  datasetWithout,
  pairedGap,
  rankerFallback,
  rankerSkipReason,
  tooFewExamples,
  userHoldout,
} from './ranker-stage.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-ranker-split-'));
after(() => rmSync(root, { recursive: true, force: true }));

const T0 = 1_600_000_000;
const DAY = 86_400;
const USERS = 40;
const PER_USER = 10;

/** 40 users × 10 items; `at(u, k)` is the time of user u's k-th engagement (item (u + k) mod 50). */
async function log(name: string, at: (u: number, k: number) => number, extra: string[] = []) {
  const dir = join(root, name);
  mkdirSync(dir);
  const rows = ['user_id,item_id,action,weight,ts'];
  for (let u = 0; u < USERS; u++)
    for (let k = 0; k < PER_USER; k++) rows.push(`u${u},i${(u + k) % 50},fav,1,${at(u, k)}`);
  rows.push(...extra);
  writeFileSync(join(dir, 'engagements.csv'), `${rows.join('\n')}\n`);
  return loadDataset(dir);
}

const cfg = resolveBuildConfig(undefined, {}).ranker;

test('auto: sittings spread over time take the per-user holdout, a feed takes the time split', async () => {
  // User u rates its 10 items within 10 minutes on day u: the time split's window (the 80th–90th percentile
  // of times) holds users 32..35, none of whom engaged before t₁.
  const sittings = await log('sittings', (u, k) => T0 + u * DAY + k * 60);
  const s = chooseSplit(sittings, cfg);
  assert.equal(s.kind, 'user');
  assert.equal(s.warmShare, 0);
  assert.match(s.reason, /only 0% .* per-user random holdout/);
  // Every user engages every 4 days over the whole period: the window's users all engaged before it.
  const feed = await log('feed', (u, k) => T0 + k * 4 * DAY + u * 60);
  const f = chooseSplit(feed, cfg);
  assert.equal(f.kind, 'time');
  assert.equal(f.warmShare, 1);
  // The config overrides the measurement either way.
  assert.equal(chooseSplit(feed, { ...cfg, split: 'user' }).kind, 'user');
  const forced = chooseSplit(sittings, { ...cfg, split: 'time' });
  assert.equal(forced.kind, 'time');
  assert.equal(forced.warmShare, 0);
});

test('auto: a log without times takes the per-user holdout; a forced time split is skipped', async () => {
  const dir = join(root, 'untimed');
  mkdirSync(dir);
  const rows = ['user_id,item_id,weight'];
  for (let u = 0; u < USERS; u++) for (let k = 0; k < PER_USER; k++) rows.push(`u${u},i${(u + k) % 50},4`);
  writeFileSync(join(dir, 'engagements.csv'), `${rows.join('\n')}\n`);
  const untimed = await loadDataset(dir);
  assert.equal(rankerSkipReason(untimed, cfg), null);
  const s = chooseSplit(untimed, cfg);
  assert.equal(s.kind, 'user');
  assert.equal(s.warmShare, null);
  assert.match(s.reason, /^0 timed engagements .*per-user random holdout/);
  assert.match(rankerSkipReason(untimed, { ...cfg, split: 'time' }) ?? '', /^0 timed engagements/);
  assert.equal(rankerSkipReason(untimed, { ...cfg, split: 'user' }), null);
});

test('userHoldout: disjoint seeded users, a fifth of each one held out, and datasetWithout drops exactly those', async () => {
  // u40 has one positive item (and an unfav): not eligible, a user needs one item left in the state.
  const d = await log('holdout', (u, k) => T0 + u * DAY + k * 60, [
    `u40,i1,fav,1,${T0}`,
    `u40,i1,unfav,1,${T0 + 1}`,
  ]);
  const h = userHoldout(d, { trainFraction: 0.8, trainUsers: 20, evalUsers: 10 }, new Rng('s'));
  assert.equal(h.train.size, 20);
  assert.equal(h.eval.size, 10);
  const u40 = d.users.get('u40');
  for (const [u, items] of [...h.train, ...h.eval]) {
    assert.notEqual(u, u40);
    assert.ok(!(h.train.has(u) && h.eval.has(u)));
    assert.equal(items.size, 2); // round(0.2 × 10)
  }
  const again = userHoldout(d, { trainFraction: 0.8, trainUsers: 20, evalUsers: 10 }, new Rng('s'));
  assert.deepEqual(
    [...again.train].map(([u, s]) => [u, [...s]]),
    [...h.train].map(([u, s]) => [u, [...s]]),
  );
  const other = userHoldout(d, { trainFraction: 0.8, trainUsers: 20, evalUsers: 10 }, new Rng('t'));
  assert.notDeepEqual([...other.train.keys()], [...h.train.keys()]);

  const all = new Map([...h.train, ...h.eval]);
  const state = datasetWithout(d, all);
  const m = state.engagements!.matrix;
  assert.equal(m.nnz, d.engagements!.matrix.nnz - 60);
  for (const [u, items] of all)
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) assert.ok(!items.has(m.indices[j]));
  assert.equal(state.dataTime, d.dataTime);

  // Fewer eligible users than asked for: the 40 are shared in the asked proportion (2:1).
  const few = userHoldout(d, { trainFraction: 0.8, trainUsers: 400, evalUsers: 200 }, new Rng('s'));
  assert.equal(few.eval.size, 13);
  assert.equal(few.train.size, 27);
  // A user keeps at least one item whatever the fraction.
  const most = userHoldout(d, { trainFraction: 0.01, trainUsers: 5, evalUsers: 5 }, new Rng('s'));
  for (const items of most.train.values()) assert.equal(items.size, PER_USER - 1);
});

test('the guard ships the ranker unless its held-out lists are worse than the fusion beyond chance', () => {
  const q = (ndcg: number) => ({ ndcg, precision: 0, groups: 10 });
  const lists = (r: number, f: number, mean: number, standardError: number) => ({
    k: 10,
    ranker: q(r),
    fusion: q(f),
    gap: { mean, standardError, groups: 10 },
  });
  assert.equal(rankerFallback(lists(0.2, 0.1, 0.1, 0.01)), null);
  // Worse on the mean but within two standard errors: noise, shipped.
  assert.equal(rankerFallback(lists(0.09, 0.1, -0.01, 0.006)), null);
  assert.match(
    rankerFallback(lists(0.09, 0.1, -0.01, 0.004)) ?? '',
    /NDCG@10 0\.0900 < 0\.1000, paired gap -0\.0100 ± 0\.0040/,
  );
});

test('pairedGap: per-user NDCG differences, their mean and standard error', () => {
  const L = 1 / Math.log2(3);
  // Two users of two candidates, one relevant each; scoring a puts the hit first for both, b for the first only.
  const labels = Uint8Array.from([1, 0, 0, 1]);
  const a = Float64Array.from([2, 1, 1, 2]);
  const b = Float64Array.from([2, 1, 2, 1]);
  const g = pairedGap([0, 2, 4], labels, a, b, [1, 1], 10, Int32Array.from([0, 1, 2, 3]));
  // Gaps: 0 and 1 − L.
  assert.equal(g.groups, 2);
  assert.ok(Math.abs(g.mean - (1 - L) / 2) < 1e-12);
  const sd = Math.sqrt(2 * ((1 - L) / 2) ** 2);
  assert.ok(Math.abs(g.standardError - sd / Math.sqrt(2)) < 1e-12);
});

test('tooFewExamples: both classes on both sides, or a reason naming the counts', () => {
  assert.equal(tooFewExamples({ positives: 3, negatives: 40 }, { positives: 1, negatives: 9 }), null);
  assert.match(
    tooFewExamples({ positives: 1, negatives: 0 }, { positives: 1, negatives: 5 }) ?? '',
    /training 1 positives, 0 negatives; held out 1 positives, 5 negatives/,
  );
  assert.ok(tooFewExamples({ positives: 2, negatives: 8 }, { positives: 0, negatives: 8 }));
  assert.ok(tooFewExamples({ positives: 0, negatives: 8 }, { positives: 2, negatives: 8 }));
});
