// The overlay's growable storage against plain arrays: rows that grow, move and get compacted keep their
// contents; ranked lists keep (key desc, id asc) order, evict at capacity and find entries again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../core/prng.ts';
import { RankedList, SlotArena } from './buffers.ts';

test('SlotArena: rows keep their entries through moves and compactions', () => {
  const arena = new SlotArena([Int32Array, Float64Array], [1, 2]);
  const want: number[][] = [];
  const rng = new Rng(7);
  let compactions = 0;
  for (let step = 0; step < 20_000; step++) {
    const s = Math.floor(rng.next() * 300);
    while (want.length <= s) want.push([]);
    arena.ensureSlots(want.length);
    const n = arena.len[s];
    const garbage = arena.garbage;
    const o = arena.reserve(s, n + 1);
    if (arena.garbage < garbage) compactions++;
    arena.cols[0][o + n] = step;
    arena.cols[1][2 * (o + n)] = step / 2;
    arena.cols[1][2 * (o + n) + 1] = -step;
    arena.len[s] = n + 1;
    want[s].push(step);
  }
  assert.ok(compactions > 0, 'the arena compacted at least once');
  for (let s = 0; s < want.length; s++) {
    const o = arena.off[s];
    assert.deepEqual([...arena.cols[0].subarray(o, o + arena.len[s])], want[s]);
    assert.deepEqual(
      [...arena.cols[1].subarray(2 * o, 2 * (o + arena.len[s]))],
      want[s].flatMap((x) => [x / 2, -x]),
    );
  }
});

test('RankedList: order by key then id, capacity, eviction, removal by (key, id)', () => {
  const list = new RankedList();
  assert.equal(list.insert(5, 0.5, 1, 3), -1);
  assert.equal(list.insert(2, 0.5, 1, 3), -1);
  assert.equal(list.insert(9, 0.9, 2, 3), -1);
  assert.deepEqual([...list.ids.subarray(0, list.length)], [9, 2, 5]);
  // Full: a worse newcomer is refused, a better one evicts the last.
  assert.equal(list.insert(7, 0.1, 1, 3), -2);
  assert.equal(list.insert(1, 0.6, 1, 3), 5);
  assert.deepEqual([...list.ids.subarray(0, list.length)], [9, 1, 2]);
  assert.equal(list.remove(2, 0.4), false);
  assert.equal(list.remove(2, 0.5), true);
  assert.deepEqual([...list.ids.subarray(0, list.length)], [9, 1]);
  assert.deepEqual([...list.scores.subarray(0, list.length)], [2, 1]);
});

test('RankedList.move leaves the list remove-then-insert leaves, ties and full lists included', () => {
  const rng = new Rng(11);
  const capacity = 40;
  const moved = new RankedList();
  const reinserted = new RankedList();
  // Keys from a small set, so equal keys (ordered by id) are common.
  const key = () => Math.floor(rng.next() * 12) / 4;
  const keyOf = new Map<number, number>();
  let moves = 0;
  for (let step = 0; step < 5000; step++) {
    const item = Math.floor(rng.next() * 60);
    const k = key();
    const old = keyOf.get(item);
    if (old === undefined) {
      const a = moved.insert(item, k, k * 2, capacity);
      const b = reinserted.insert(item, k, k * 2, capacity);
      assert.equal(a, b);
      if (a >= 0) keyOf.delete(a);
      if (a !== -2) keyOf.set(item, k);
    } else {
      // Any hint, in range or not, finds the entry.
      const hint = Math.floor(rng.next() * (capacity + 10)) - 5;
      assert.equal(moved.move(item, old, k, k * 2, hint), true);
      assert.equal(reinserted.remove(item, old), true);
      assert.equal(reinserted.insert(item, k, k * 2, capacity), -1);
      keyOf.set(item, k);
      moves++;
    }
    assert.equal(moved.length, reinserted.length);
    const n = moved.length;
    assert.deepEqual(moved.ids.subarray(0, n), reinserted.ids.subarray(0, n));
    assert.deepEqual(moved.keys.subarray(0, n), reinserted.keys.subarray(0, n));
    assert.deepEqual(moved.scores.subarray(0, n), reinserted.scores.subarray(0, n));
    // positionNear from any hint is the count of entries ranking before (key, item).
    const probe = key();
    const probeItem = Math.floor(rng.next() * 60);
    let want = 0;
    while (
      want < n &&
      (moved.keys[want] > probe || (moved.keys[want] === probe && moved.ids[want] < probeItem))
    )
      want++;
    assert.equal(moved.positionNear(probe, probeItem, Math.floor(rng.next() * (n + 10)) - 5), want);
  }
  assert.equal(moved.length, capacity, 'the list filled up');
  assert.ok(moves > 1000, `${moves} moves`);
  assert.equal(moved.move(9999, 1, 2, 2), false, 'an entry that is not there is not moved');
});
