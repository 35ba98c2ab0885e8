// The live overlay against hand-computed answers on a hand-sized version (test-fixtures SMALL_FIXTURE plus two
// users shaped like dave): decay, unfav, new items found by ANN and in cluster lists, deletes, new users'
// fold-in, exclusions, counters, checkpoints and replays.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import type { LoggedRecord } from '../../core/event.ts';
import { Rng } from '../../core/prng.ts';
import { openArtifactStore } from '../../store/open.ts';
import { ServingModel } from '../serving-model.ts';
import {
  MF_FIXTURE,
  SIMCLUSTERS_KEYS,
  SMALL_FIXTURE,
  type TestArtifactSpec,
  writeTestArtifacts,
} from '../test-fixtures.ts';
import { LiveOverlay } from './overlay.ts';

const NOW = 1_700_000_000;
const H = 3600;

/** SMALL_FIXTURE with fay and gus, whose InterestedIn is dave's (c0 0.8, c1 0.6; favScore c0 2, c1 1). */
const LIVE_FIXTURE: TestArtifactSpec = {
  ...SMALL_FIXTURE,
  users: [...SMALL_FIXTURE.users, 'fay', 'gus'],
  interestedIn: {
    ...SMALL_FIXTURE.interestedIn,
    fay: SMALL_FIXTURE.interestedIn!.dave,
    gus: SMALL_FIXTURE.interestedIn!.dave,
  },
  interestedInByKind: {
    favScore: {
      ...SMALL_FIXTURE.interestedInByKind!.favScore,
      fay: SMALL_FIXTURE.interestedInByKind!.favScore!.dave,
      gus: SMALL_FIXTURE.interestedInByKind!.favScore!.dave,
    },
  },
};

async function withModel<T>(fn: (m: ServingModel) => Promise<T>, spec = LIVE_FIXTURE): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-live-'));
  await writeTestArtifacts(dir, spec);
  const store = openArtifactStore(dir);
  const reader = await store.openVersion();
  try {
    return await fn(await ServingModel.load(reader));
  } finally {
    await reader.close();
    await store.close();
  }
}

/** Records with offsets 0, 1, 2, … (or from `first`). */
function log(events: Record<string, unknown>[], first = 0): LoggedRecord[] {
  return events.map((e, j) => ({ weight: 1, ...e, offset: first + j }) as unknown as LoggedRecord);
}

const fav = (userId: string, itemId: string, ts: number) => ({ userId, action: 'fav', itemId, ts });
const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) <= eps;

function assertRow(
  got: { ids: Int32Array; values: Float32Array },
  want: [number, number][],
  eps = 1e-6,
  what = '',
) {
  assert.deepEqual(
    [...got.ids],
    want.map((p) => p[0]),
    `${what} clusters`,
  );
  for (let j = 0; j < want.length; j++) {
    const v = want[j][1];
    assert.ok(close(got.values[j], v, eps), `${what} c${want[j][0]}: ${got.values[j]} vs ${v}`);
  }
}

test('decay: two favs 8 hours apart and an unfav, in builtNow units; the trending counter alike', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    ov.apply(log([fav('dave', 'n1', NOW), fav('gus', 'n1', NOW + 8 * H)]));
    // As of NOW + 8 h: c0 0.8·½ + 0.8 = 1.2, c1 0.6·½ + 0.6 = 0.9; as of builtNow (= NOW) twice that.
    assertRow((await live.itemEmbedding('n1')).embedding, [
      [0, 2.4],
      [1, 1.8],
    ]);
    const i = live.itemIndex('n1');
    assert.equal(i, 6, 'new items come after the version’s 6');
    // Trending: 1·½ + 1 as of the latest event.
    assert.ok(close(ov.itemCounters(i).engagements, 1.5));
    ov.apply(log([{ userId: 'dave', action: 'unfav', itemId: 'n1', ts: NOW + 16 * H }], 2));
    // dave's fav decayed to NOW + 16 h is 2^−2 of it: 0.2 off c0 (0.6 → 0.4), 0.15 off c1 (0.45 → 0.3), which is
    // gus's fav alone; ×4 to builtNow.
    assertRow((await live.itemEmbedding('n1')).embedding, [
      [0, 1.6],
      [1, 1.2],
    ]);
    assert.ok(close(ov.itemCounters(i).engagements, 0.5));
    // An unfav with nothing to undo changes nothing and is counted.
    ov.apply(log([{ userId: 'dave', action: 'unfav', itemId: 'n1', ts: NOW + 17 * H }], 3));
    assert.equal(ov.stats().skipped.unfavWithoutFav, 1);
    assertRow((await live.itemEmbedding('n1')).embedding, [
      [0, 1.6],
      [1, 1.2],
    ]);
  });
});

test('a new item faved by users of cluster 0 is in another such user’s candidates and in the cluster’s top items', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    const before = await live.candidates({ userId: 'fay' }, { limit: 3 });
    assert.deepEqual(
      [...before.result.items].map((j) => live.itemId(j)),
      ['i0', 'i1', 'i4'],
    );
    ov.apply(log([fav('dave', 'n1', NOW + H), fav('gus', 'n1', NOW + 2 * H)]));
    const after = await live.candidates({ userId: 'fay' }, { limit: 3 });
    // n1 points exactly along fay's vector: cosine 1.
    assert.deepEqual(
      [...after.result.items].map((j) => live.itemId(j)),
      ['n1', 'i0', 'i1'],
    );
    assert.ok(close(after.result.scores[0], 1, 1e-6));
    // dave engaged with n1: never his candidate.
    const dave = await live.candidates({ userId: 'dave' }, { limit: 10 });
    assert.ok(![...dave.result.items].map((j) => live.itemId(j)).includes('n1'));
    // Cluster 0: n1 (0.8·2^(1/8) + 0.8·2^(1/4), builtNow units) above the version's i1 1, i4 0.8, i0 0.6.
    const top = live.cluster(0, 10).topItems;
    assert.deepEqual(
      [...top.ids].map((j) => live.itemId(j)),
      ['n1', 'i1', 'i4', 'i0'],
    );
    assert.ok(close(top.scores[0], 0.8 * 2 ** (1 / 8) + 0.8 * 2 ** (1 / 4), 1e-6));
    // A shorter list is the head of the longer one (the overlay's and the version's entries selected together).
    const head = live.cluster(0, 2).topItems;
    assert.deepEqual([...head.ids], [...top.ids.subarray(0, 2)]);
    assert.deepEqual([...head.scores], [...top.scores.subarray(0, 2)]);
    assert.equal(live.cluster(0, 0).topItems.ids.length, 0);
    // Exact mode and the approximate path agree on the new item.
    const exact = await live.candidates({ userId: 'fay' }, { limit: 1, mode: 'exact' });
    assert.equal(live.itemId(exact.result.items[0]), 'n1');
    // The model the overlay was built over is unchanged.
    assert.deepEqual(
      [...(await m.candidates({ userId: 'fay' }, { limit: 3 })).result.items],
      [...before.result.items],
    );
    assert.deepEqual([...m.cluster(0, 10).topItems.ids], [1, 4, 0]);
  });
});

test('a touched version item: its overlay row supersedes the version’s in search and in cluster lists', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    // erin (c3 1, favScore c3 5) favs i2 (c1 1) at builtNow: i2 becomes c1 1, c3 1.
    ov.apply(log([fav('erin', 'i2', NOW)]));
    assertRow((await live.itemEmbedding('i2')).embedding, [
      [1, 1],
      [3, 1],
    ]);
    // Similar to i5 (c3 1): i3 (0.8), i2 now 1/√2 from the overlay row, never from its stale version entry.
    const sim = await live.candidates({ itemId: 'i5' }, { limit: 5 });
    const got = new Map([...sim.result.items].map((j, q) => [live.itemId(j), sim.result.scores[q]]));
    assert.ok(close(got.get('i2')!, Math.SQRT1_2, 1e-6));
    assert.ok(close(got.get('i3')!, 0.8, 1e-6));
    const c1 = live.cluster(1, 10).topItems;
    assert.deepEqual(
      [...c1.ids].map((j) => live.itemId(j)),
      ['i2', 'i0'],
    );
  });
});

test('item_delete hides an item from every answer at once; an upsert brings it back', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    ov.apply(log([{ action: 'item_delete', itemId: 'i0', ts: NOW }]));
    const ids = async (p = {}) =>
      [...(await live.candidates({ userId: 'dave' }, { limit: 10, ...p })).result.items].map((j) =>
        live.itemId(j),
      );
    assert.deepEqual(await ids(), ['i4', 'i2']);
    assert.deepEqual(await ids({ mode: 'exact' }), ['i4', 'i2']);
    assert.throws(
      () => live.itemIndex('i0'),
      (e: unknown) => e instanceof SimrecError && e.code === 'NOT_FOUND',
    );
    assert.ok(![...live.cluster(0, 10).topItems.ids].includes(0));
    // A deleted item that is touched stays hidden.
    ov.apply(log([fav('fay', 'i0', NOW + 60)], 1));
    assert.deepEqual(await ids(), ['i4', 'i2']);
    ov.apply(log([{ action: 'item_upsert', itemId: 'i0', ts: NOW + 120 }], 2));
    assert.deepEqual(await ids(), ['i0', 'i4', 'i2']);
    // A new item deleted is gone too.
    ov.apply(
      log(
        [fav('dave', 'n1', NOW), fav('gus', 'n1', NOW), { action: 'item_delete', itemId: 'n1', ts: NOW }],
        3,
      ),
    );
    const fay = await live.candidates({ userId: 'fay' }, { limit: 10 });
    assert.ok(![...fay.result.items].map((j) => live.itemId(j)).includes('n1'));
    assert.equal(ov.stats().deletedItems, 1);
  });
});

test('a new user with follows: InterestedIn folded in over the version’s KnownFor, and candidates', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    ov.apply(
      log([
        { userId: 'zoe', action: 'follow', producerId: 'alice', ts: NOW },
        { userId: 'zoe', action: 'follow', producerId: 'bob', ts: NOW },
        { userId: 'zoe', action: 'follow', producerId: 'carol', ts: NOW },
        { userId: 'zoe', action: 'follow', producerId: 'dave', ts: NOW },
      ]),
    );
    // alice c0 0.9 + bob c0 0.5 = 1.4 with two producers; carol's c2 has one and falls to social proof; dave is
    // no producer of the version (counted). The column norm of c0 is 1 in this version.
    assert.equal(ov.stats().skipped.followNotProducer, 1);
    assertRow(await live.userEmbedding('zoe', 'followScore'), [[0, 1.4]]);
    assertRow(await live.userEmbedding('zoe', 'followScoreClusterNormalized'), [[0, 1.4]]);
    // No favs: the source kind (logFav) is empty, so the follow row is the source.
    assertRow(await live.userEmbedding('zoe'), [[0, 1.4]]);
    assertRow(await live.userEmbedding('zoe', 'favScore'), [[0, 0]]);
    const c = await live.candidates({ userId: 'zoe' }, { limit: 3 });
    assert.deepEqual(
      [...c.result.items].map((j) => live.itemId(j)),
      ['i1', 'i4', 'i0'],
    );
    // Unfollowing bob leaves alice alone in c0 (unproven, kept as the strongest): 0.9.
    ov.apply(log([{ userId: 'zoe', action: 'unfollow', producerId: 'bob', ts: NOW }], 4));
    assertRow(await live.userEmbedding('zoe', 'followScore'), [[0, 0.9]]);
    // Following only carol: c2, which no build user has (column norm 0), normalises to 1 — the column would
    // hold yan alone — so yan has a profile and candidates (i3 is the item on c2).
    ov.apply(log([{ userId: 'yan', action: 'follow', producerId: 'carol', ts: NOW }], 5));
    assertRow(await live.userEmbedding('yan', 'followScore'), [[2, 0.8]]);
    assertRow(await live.userEmbedding('yan', 'followScoreClusterNormalized'), [[2, 1]]);
    const yan = await live.candidates({ userId: 'yan' }, { limit: 3 });
    assert.equal(live.itemId(yan.result.items[0]), 'i3');
    // The version model does not know zoe.
    await assert.rejects(
      m.userEmbedding('zoe'),
      (e: unknown) => e instanceof SimrecError && e.code === 'NOT_FOUND',
    );
  });
});

test('a new user without follows: the normalised sum of engaged items’ embeddings; engaged and hidden excluded', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    ov.apply(log([fav('yan', 'i2', NOW), fav('yan', 'i4', NOW)]));
    // i2 c1 1 + i4 (c0 0.8, c2 0.6) → (0.8, 1, 0.6)/√2.
    const s = Math.SQRT2;
    assertRow(await live.userEmbedding('yan'), [
      [0, 0.8 / s],
      [1, 1 / s],
      [2, 0.6 / s],
    ]);
    const c = await live.candidates({ userId: 'yan' }, { limit: 10 });
    const ids = [...c.result.items].map((j) => live.itemId(j));
    assert.ok(!ids.includes('i2') && !ids.includes('i4'));
    // i0: (0.48 + 0.8)/√2 = 0.905; i1 0.8/√2 = 0.566; i3 0.36/√2 = 0.255.
    assert.deepEqual(ids, ['i0', 'i1', 'i3']);
    ov.apply(log([{ userId: 'yan', action: 'hide', itemId: 'i0', ts: NOW }], 2));
    const after = await live.candidates({ userId: 'yan' }, { limit: 10 });
    assert.deepEqual(
      [...after.result.items].map((j) => live.itemId(j)),
      ['i1', 'i3'],
    );
    // A known user's engaged items (version i1 and overlay i0) are excluded.
    ov.apply(log([fav('dave', 'i0', NOW)], 3));
    const dave = await live.candidates({ userId: 'dave' }, { limit: 10 });
    assert.deepEqual(
      [...dave.result.items].map((j) => live.itemId(j)),
      ['i4', 'i2'],
    );
  });
});

test('counters: impressions and clicks per item, engagements decayed; clicks never move embeddings', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    ov.apply(
      log([
        { userId: 'dave', action: 'impression', itemId: 'i2', ts: NOW },
        { userId: 'erin', action: 'impression', itemId: 'i2', ts: NOW },
        { userId: 'dave', action: 'click', itemId: 'i2', ts: NOW },
        { userId: 'dave', action: 'shout', itemId: 'i2', ts: NOW },
      ]),
    );
    const i2 = m.itemIndex('i2');
    assert.deepEqual(ov.itemCounters(i2), { engagements: 0, impressions: 2, clicks: 1 });
    assert.equal(ov.rowSlot(i2), -1);
    assert.equal(ov.stats().skipped.unknownAction, 1);
    assert.deepEqual([...ov.userSeen(m.userIndex('dave'))], [i2]);
    // A declared engagement action counts like a fav.
    const ov2 = await LiveOverlay.create(m, { engagementActions: ['share'] });
    ov2.apply(log([{ userId: 'dave', action: 'share', itemId: 'i2', ts: NOW }]));
    assert.equal(ov2.itemCounters(i2).engagements, 1);
    assert.equal(ov2.hasLiveEngagement, true);
    assert.equal((await ov2.model.popular({}, 5)).mode, 'live');
    // Undone, nothing is live: popular answers from the version's counts again.
    ov2.apply(log([{ userId: 'dave', action: 'unfav', itemId: 'i2', ts: NOW + H }], 1));
    assert.equal(ov2.itemCounters(i2).engagements, 0);
    assert.equal(ov2.hasLiveEngagement, false);
    const pop = await ov2.model.popular({}, 5);
    assert.equal(pop.mode, 'version');
    // Version counts: i1 (dave), i3 and i5 (erin), one user each; ties by index.
    assert.deepEqual(
      [...pop.items].map((i) => m.itemId(i)),
      ['i1', 'i3', 'i5'],
    );
  });
});

test('replaying applied offsets changes nothing; serialize/restore answers identically', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const records = log([
      fav('dave', 'n1', NOW + H),
      fav('gus', 'n1', NOW + 2 * H),
      { userId: 'zoe', action: 'follow', producerId: 'alice', ts: NOW },
      { userId: 'zoe', action: 'follow', producerId: 'bob', ts: NOW },
      { action: 'item_upsert', itemId: 'n2', authorId: 'alice', createdTs: NOW, tags: ['cats'], ts: NOW },
      { action: 'item_delete', itemId: 'i4', ts: NOW },
      { userId: 'fay', action: 'hide', itemId: 'i0', ts: NOW },
      { userId: 'zoe', action: 'topic_follow', topic: 'cats', ts: NOW },
    ]);
    ov.apply(records);
    assert.equal(ov.appliedOffset, 7);
    const bytes = ov.serialize();
    ov.apply(records);
    ov.apply(records.slice(2, 5));
    assert.deepEqual(ov.serialize(), bytes, 'a replay changes nothing');
    const restored = await LiveOverlay.restore(m, bytes);
    assert.equal(restored.appliedOffset, 7);
    assert.deepEqual(restored.serialize(), bytes);
    for (const user of ['fay', 'zoe', 'dave']) {
      const a = await ov.model.candidates({ userId: user }, { limit: 10 });
      const b = await restored.model.candidates({ userId: user }, { limit: 10 });
      assert.deepEqual(b.result, a.result, user);
    }
    assert.deepEqual(restored.model.cluster(0, 10), ov.model.cluster(0, 10));
    assert.deepEqual(restored.itemMeta(restored.model.itemIndex('n2')), {
      authorId: 'alice',
      createdTs: NOW,
      tags: ['cats'],
    });
    // Applying more to both keeps them equal.
    const more = log([fav('fay', 'n2', NOW + 3 * H), fav('zoe', 'n1', NOW + 3 * H)], 8);
    ov.apply(more);
    restored.apply(more);
    assert.deepEqual(restored.serialize(), ov.serialize());
    // Another version's checkpoint is refused.
    await withModel(async (other) => {
      await assert.rejects(
        LiveOverlay.restore(other, bytes),
        (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT',
      );
    });
  });
});

test('own items and items past the age limit are skipped as the batch skips them', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    ov.apply(
      log([
        // alice is a producer of the version: her fav of her own item does not count.
        { action: 'item_upsert', itemId: 'n3', authorId: 'alice', createdTs: NOW, ts: NOW },
        fav('alice', 'n3', NOW + 60),
        // i3 was created 100 h before NOW, past the social age limit of 72 h.
        fav('dave', 'i3', NOW),
      ]),
    );
    assert.deepEqual(
      { own: ov.stats().skipped.ownItem, old: ov.stats().skipped.itemTooOld },
      { own: 1, old: 1 },
    );
    assert.equal(ov.rowSlot(m.itemIndex('i3')), -1, 'i3 keeps its version row');
    // Still engagements of the users: excluded from their candidates, counted as trending.
    assert.ok([...ov.userEngaged(m.userIndex('dave'))].includes(m.itemIndex('i3')));
  });
});

test('catalogue: a new user folded in from favs of producer items (no decay), the rule with their row', async () => {
  const spec: TestArtifactSpec = {
    k: 2,
    case: 'catalogue',
    now: NOW,
    users: ['u1'],
    items: ['a', 'b', 'c', 'd'],
    producers: ['a', 'b', 'c'],
    knownFor: { a: [0, 1], b: [0, 0.5], c: [1, 0.8] },
    interestedIn: { u1: [[0, 1]] },
    itemEmbeddings: { a: [[0, 1]], b: [[0, 0.5]], c: [[1, 1]], d: [[0, 0.2]] },
  };
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    ov.apply(log([fav('zed', 'a', NOW + 1000 * H), fav('zed', 'b', NOW + 2000 * H)]));
    // After both favs: fav(zed, a) = fav(zed, b) = 1 (catalogues do not decay): favScore c0 = 1·1 + 1·0.5,
    // logFavScore c0 = log10(2)·1.5, two producers of c0 so proven; column norms are 1 in this version.
    assertRow(await live.userEmbedding('zed', 'favScore'), [[0, 1.5]]);
    assertRow(await live.userEmbedding('zed'), [[0, 1.5 * Math.log10(2)]], 1e-6);
    // The first fav came before zed had a row (nothing added to a); at the second, zed's row was a alone
    // (favScore 1 ≥ 0.3, x = log10 2), added to b without decay.
    assertRow((await live.itemEmbedding('a')).embedding, [[0, 1]]);
    assertRow((await live.itemEmbedding('b')).embedding, [[0, 0.5 + Math.log10(2)]], 1e-6);
    const c = await live.candidates({ userId: 'zed' }, { limit: 5 });
    assert.deepEqual(
      [...c.result.items].map((j) => live.itemId(j)),
      ['d'],
    );
    // Catalogue trending counters decay with the default 24-hour half-life: 2^(−1000/24) + 1 as of the latest.
    assert.ok(close(ov.itemCounters(m.itemIndex('b')).engagements, 1));
    assert.ok(close(ov.itemCounters(m.itemIndex('a')).engagements, 2 ** (-1000 / 24), 1e-12));
  }, spec);
});

test('an overlay over an MF-only version: popular goes live, dense never returns a deleted item', async () => {
  await withModel(
    async (m) => {
      const ov = await LiveOverlay.create(m);
      ov.apply(
        log([
          fav('erin', 'i2', NOW),
          fav('dave', 'i4', NOW),
          { action: 'item_delete', itemId: 'i2', ts: NOW },
        ]),
      );
      const live = ov.model;
      const pop = await live.popular({}, 10);
      assert.deepEqual(
        [...pop.items].map((i) => live.itemId(i)),
        ['i4'],
      );
      const dense = await live.denseCandidates({ userId: 'dave' }, { limit: 10 });
      assert.ok(![...dense.items].map((i) => live.itemId(i)).includes('i2'));
      assert.ok([...(await m.denseCandidates({ userId: 'dave' }, { limit: 10 })).items].includes(2));
      // dave faved i4 since the version: excluded from his dense candidates as his version engagements are.
      assert.ok([...(await m.denseCandidates({ userId: 'dave' }, { limit: 10 })).items].includes(4));
      assert.ok(![...dense.items].map((i) => live.itemId(i)).includes('i4'));
      // A user only the overlay knows is folded in from the version items they faved: this fixture has no MF
      // model to fold with, so the answer is the fold-in's own refusal, not an unknown user.
      ov.apply(log([fav('newbie', 'i0', NOW), fav('newbie', 'i1', NOW)], 3));
      await assert.rejects(
        live.denseCandidates({ userId: 'newbie' }, { limit: 10 }),
        (e: unknown) =>
          e instanceof SimrecError && e.code === 'ARTIFACT_MISSING' && /folded in/.test(e.message),
      );
      await assert.rejects(
        live.denseCandidates({ userId: 'nobody' }, { limit: 10 }),
        (e: unknown) => e instanceof SimrecError && e.code === 'NOT_FOUND',
      );
      await assert.rejects(
        live.candidates({ userId: 'dave' }),
        (e: unknown) => e instanceof SimrecError && e.code === 'ARTIFACT_MISSING',
      );
    },
    { ...MF_FIXTURE, omit: SIMCLUSTERS_KEYS },
  );
});

test('events years after the build stay finite: growth is capped at 40 half-lives, and the new item is found', async () => {
  await withModel(async (m) => {
    const ov = await LiveOverlay.create(m);
    const live = ov.model;
    const years = 3 * 365 * 24 * H;
    ov.apply(log([fav('dave', 'late', NOW + years), fav('gus', 'late', NOW + years + H)]));
    const { embedding } = await live.itemEmbedding('late');
    // W as of the second fav (dave's fav decayed an hour, 2^(−1/8)) taken to the unit time with the growth capped
    // at 2^40; dave's and gus's vectors are equal (c0 0.8, c1 0.6).
    assertRow(
      embedding,
      [
        [0, 0.8 * (1 + 2 ** (-1 / 8)) * 2 ** 40],
        [1, 0.6 * (1 + 2 ** (-1 / 8)) * 2 ** 40],
      ],
      1e6,
    );
    for (const v of embedding.values) assert.ok(Number.isFinite(v) && Number.isFinite(v * v));
    const fay = await live.candidates({ userId: 'fay' }, { limit: 3 });
    assert.equal(live.itemId(fay.result.items[0]), 'late');
    assert.ok(close(fay.result.scores[0], 1, 1e-5));
    const counters = ov.itemCounters(live.itemIndex('late'));
    assert.ok(Number.isFinite(counters.engagements) && counters.engagements > 0);
  });
});

test('cluster lists after every fav and unfav equal removing the item’s entries and inserting its new ones (full lists, cut rows)', async () => {
  // Short lists and rows, so republishing evicts, refuses and cuts: the lists must be exactly what the
  // remove-all-then-insert rule leaves, whatever batches the records come in.
  const rng = new Rng(5);
  const k = 6;
  const users = Array.from({ length: 24 }, (_, u) => `u${u}`);
  const items = Array.from({ length: 30 }, (_, i) => `v${i}`);
  const pairs = (n: number, lo: number, hi: number) => {
    const cs = [...rng.permutation(k).subarray(0, n)].sort((a, b) => a - b);
    return cs.map((c) => [c, lo + rng.next() * (hi - lo)] as const);
  };
  const interestedIn: Record<string, ReturnType<typeof pairs>> = {};
  const favScore: Record<string, ReturnType<typeof pairs>> = {};
  for (const u of users) {
    interestedIn[u] = pairs(1 + rng.int(3), 0.1, 1);
    favScore[u] = interestedIn[u].map(([c]) => [c, 1 + rng.next() * 2] as const);
  }
  const itemEmbeddings: Record<string, ReturnType<typeof pairs>> = {};
  for (const i of items.slice(0, 15)) itemEmbeddings[i] = pairs(1 + rng.int(3), 0.05, 1);
  const cap = 4;
  const maxClusters = 2;
  const spec: TestArtifactSpec = {
    k,
    now: NOW,
    users,
    items,
    producers: ['u0'],
    knownFor: { u0: [0, 1] },
    interestedIn,
    interestedInByKind: { favScore },
    itemEmbeddings,
    simclustersParams: { itemEmbeddings: { topItemsPerCluster: cap, maxClustersPerItem: maxClusters } },
  };
  await withModel(async (m) => {
    const catalogue = [...items, 'n0', 'n1', 'n2', 'n3'];
    const faved: [string, string][] = [];
    const events: Record<string, unknown>[] = [];
    for (let j = 0; j < 3000; j++) {
      const ts = NOW + j * 60;
      if (faved.length > 0 && rng.next() < 0.15) {
        const [userId, itemId] = faved[rng.int(faved.length)];
        events.push({ userId, action: 'unfav', itemId, ts });
      } else {
        const pair: [string, string] = [users[rng.int(users.length)], catalogue[rng.int(catalogue.length)]];
        faved.push(pair);
        events.push(fav(pair[0], pair[1], ts));
      }
    }
    const records = log(events);
    const ov = await LiveOverlay.create(m);
    // The key the overlay ranks by: W[i,c] / (‖W_i‖ + λ), λ being private to the overlay.
    const lambda = (ov as unknown as { lambda: number }).lambda;
    const ref: { item: number; key: number; score: number }[][] = Array.from({ length: k }, () => []);
    const skips = () => Object.values(ov.stats().skipped).reduce((a, b) => a + b, 0);
    let evictions = 0;
    let refusals = 0;
    let published = 0;
    let fullRows = 0;
    let unfavs = 0;
    for (const r of records) {
      const before = skips();
      ov.apply([r]);
      if (skips() !== before) continue;
      published++;
      if ((r as { action: string }).action === 'unfav') unfavs++;
      const item = m.liveBase().items.get((r as { itemId: string }).itemId);
      const i = item >= 0 ? item : ov.itemIndex((r as { itemId: string }).itemId);
      const row = ov.itemRow(i)!;
      assert.ok(row.ids.length <= maxClusters);
      if (row.ids.length === maxClusters) fullRows++;
      for (const list of ref) {
        const at = list.findIndex((e) => e.item === i);
        if (at >= 0) list.splice(at, 1);
      }
      let sq = 0;
      for (let j = 0; j < row.values.length; j++) sq += row.values[j] * row.values[j];
      const den = Math.sqrt(sq) + lambda;
      for (let j = 0; j < row.ids.length; j++) {
        const w = row.values[j];
        if (w < 0.001) continue;
        const key = w / den;
        const list = ref[row.ids[j]];
        let at = 0;
        while (at < list.length && (list[at].key > key || (list[at].key === key && list[at].item < i))) at++;
        if (at >= cap) {
          refusals++;
          continue;
        }
        if (list.length >= cap) {
          list.pop();
          evictions++;
        }
        list.splice(at, 0, { item: i, key, score: w });
      }
      for (let c = 0; c < k; c++) {
        const n = ov.clusterLength(c);
        assert.deepEqual(
          [...ov.clusterIds(c).subarray(0, n)],
          ref[c].map((e) => e.item),
          `cluster ${c} after offset ${r.offset}`,
        );
        assert.deepEqual(
          [...ov.clusterScores(c).subarray(0, n)],
          ref[c].map((e) => Math.fround(e.score)),
        );
      }
    }
    assert.ok(
      published > 2000 && evictions > 50 && refusals > 50 && fullRows > 100,
      'the rule was exercised',
    );
    assert.ok(unfavs > 100, `${unfavs} unfavs applied`);
    // Batches of another size leave the same state.
    const batched = await LiveOverlay.create(m);
    for (let j = 0; j < records.length; j += 97) batched.apply(records.slice(j, j + 97));
    assert.deepEqual(batched.serialize(), ov.serialize());
  }, spec);
});
