// The co-engagement feature on a hand-made log (SMALL_FIXTURE's catalogue with its own engagements):
//   alice i0 i1 · bob i0 i2 i3 · carol i1 i2 · dave i0 (twice) · erin i5
// Subject dave, H = {i0}: i0's users alice, bob and dave count |items ∩ H| / √|items| = 1/√2, 1/√3, 1/√1.
// A candidate's value is the sum over its users of those, over √|its users| · √|H|:
//   i1 (alice, carol) (1/√2) / √2 = 0.5;  i2 (bob, carol) (1/√3) / √2 = 1/√6;  i3 (bob) 1/√3;  i5 (erin) 0.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { ServingModel } from '../query/serving-model.ts';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { CandidateMerger } from '../ranking/merge.ts';
import { openArtifactStore } from '../store/open.ts';
import { CO_ENGAGEMENT_LIMITS, CoEngagementWalk, coEngagement } from './co-engagement.ts';
import { FeatureHydrator, NUMERIC_FEATURES, userFeatures } from './features.ts';
import { SOURCES } from './strategy.ts';
import { resolveSubject } from './subject.ts';
import { VersionData } from './version-data.ts';

test('coEngagement: distinct pairs item → users, each user counted once per item', () => {
  // users × items with a repeat (user 0 engaged item 2 twice; rows sorted by item, repeats adjacent).
  const log = new CsrMatrix(3, 4, Int32Array.from([0, 3, 4, 6]), Int32Array.from([0, 2, 2, 1, 0, 3]), null);
  const co = coEngagement(log);
  assert.deepEqual(Array.from(co.userDegree), [2, 1, 2]);
  assert.equal(co.itemUsers.nRows, 4);
  assert.deepEqual(Array.from(co.itemUsers.indptr), [0, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(co.itemUsers.indices), [0, 2, 1, 0, 2]);
});

test('CoEngagementWalk: exact below its limits, and a sampled read weighted to stand for the full one', () => {
  // The log above: user 0 {0, 2}, user 1 {1}, user 2 {0, 3}; item → users 0: [0, 2], 1: [1], 2: [0], 3: [2].
  const log = new CsrMatrix(3, 4, Int32Array.from([0, 3, 4, 6]), Int32Array.from([0, 2, 2, 1, 0, 3]), null);
  const co = coEngagement(log);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  // Exact: H = {0, 2} (given with a repeat and out of order). Per user: 0 shares 2 items of its 2 → 2/√2,
  // 2 shares 1 of 2 → 1/√2; |H| = 2. Item 3 (user 2): (1/√2)/(1·√2) = 0.5; item 0 (users 0, 2):
  // (√2 + 1/√2)/(√2·√2) = 1.0607; item 1 (user 1) 0; an item beyond the log 0.
  const exact = new CoEngagementWalk(co, CO_ENGAGEMENT_LIMITS);
  exact.set([2, 0, 2, 9]);
  close(exact.of(3), 0.5);
  close(exact.of(0), (Math.SQRT2 + Math.SQRT1_2) / 2);
  assert.equal(exact.of(1), 0);
  assert.equal(exact.of(7), 0);
  exact.clear();
  assert.equal(exact.active, false);
  assert.equal(exact.of(3), 0);
  // A walk budget of one entry: item 0 reads its first user (0) only, weighted 2 (of 2 users): user 0 gets
  // 2/√2 = √2, user 2 nothing. Item 0's value (√2 + 0)/(√2·1) = 1 — the exact 1 here; item 3 loses user 2: 0.
  const walk = new CoEngagementWalk(co, { ...CO_ENGAGEMENT_LIMITS, walkBudget: 1 });
  walk.set([0]);
  close(walk.of(0), 1);
  assert.equal(walk.of(3), 0);
  // Two of H = {0, 1, 2, 3} at an even stride: items 0 and 2, each weighted 4/2 = 2. User 0: (2 + 2)/√2,
  // user 2: 2/√2; |H| = 4 (all of it). Item 0: (2√2 + √2)/(√2·2) = 1.5; item 1 (user 1, not read) 0.
  const items = new CoEngagementWalk(co, { ...CO_ENGAGEMENT_LIMITS, maxItems: 2 });
  items.set([3, 1, 2, 0]);
  close(items.of(0), 1.5);
  assert.equal(items.of(1), 0);
  // One user per candidate: item 0 reads user 0 (√2 from the exact walk) and counts it twice:
  // 2√2/(√2·√2) = √2.
  const cand = new CoEngagementWalk(co, { ...CO_ENGAGEMENT_LIMITS, maxCandidateUsers: 1 });
  cand.set([0, 2]);
  close(cand.of(0), Math.SQRT2);
  close(cand.of(3), 0.5);
});

test('the co_engagement feature by hand: shared users over the item’s and the subject’s counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-features-'));
  await writeTestArtifacts(dir, {
    ...SMALL_FIXTURE,
    engagements: {
      alice: ['i0', 'i1'],
      bob: ['i0', 'i2', 'i3'],
      carol: ['i1', 'i2'],
      dave: ['i0', 'i0'],
      erin: ['i5'],
    },
  });
  const store = openArtifactStore(dir);
  const reader = await store.openVersion();
  try {
    const model = await ServingModel.load(reader);
    const data = await VersionData.for(model);
    const h = new FeatureHydrator(model, data);
    const state = await resolveSubject(model, data, { userId: 'dave' });
    h.setUser(await userFeatures(model, state));
    const merger = new CandidateMerger(SOURCES);
    const items = ['i1', 'i2', 'i3', 'i5'].map((id) => model.itemIndex(id));
    merger.add('popular', Int32Array.from(items), new Float32Array(items.length).fill(1));
    const slot = NUMERIC_FEATURES.indexOf('co_engagement');
    const want = [0.5, 1 / Math.sqrt(6), 1 / Math.sqrt(3), 0];
    for (let k = 0; k < items.length; k++) {
      const e = merger.entry(items[k]);
      const v = h.build(items[k], merger, e, 0);
      let got = 0;
      for (let j = 0; j < v.length; j++) if (v.slots[j] === slot) got += v.values[j];
      assert.ok(Math.abs(got - want[k]) < 1e-6, `${model.itemId(items[k])}: ${got} vs ${want[k]}`);
    }
    // The next subject starts clean: erin (H = {i5}, whose only user is erin) shares no user with i1.
    h.clearUser();
    h.setUser(await userFeatures(model, await resolveSubject(model, data, { userId: 'erin' })));
    const v = h.build(items[0], merger, merger.entry(items[0]), 0);
    for (let j = 0; j < v.length; j++) assert.notEqual(v.slots[j], slot, 'i1 has no co-engagement with erin');
  } finally {
    await reader.close();
    await store.close();
  }
});
