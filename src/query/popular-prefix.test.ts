// popular answers from a ranked prefix of the scores: the same items as a full TopK scan under any filter, on
// random scores with ties, whether the prefix suffices or the scan has to run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { TopK } from '../core/topk.ts';
import { rankedPrefix, topPassing } from './serving-model.ts';

function brute(scores: Float64Array, pass: (i: number) => boolean, limit: number): number[] {
  const heap = new TopK(limit);
  for (let i = 0; i < scores.length; i++) if (scores[i] > 0 && pass(i)) heap.push(i, scores[i]);
  const out = new Int32Array(heap.size);
  heap.drainSorted(out, new Float32Array(heap.size));
  return [...out];
}

test('topPassing over a ranked prefix equals the full scan, prefix sufficing or not', () => {
  const rng = new Rng(5);
  let fallbacks = 0;
  for (let round = 0; round < 200; round++) {
    const n = 50 + rng.int(400);
    // Few distinct values: many ties; some zeros (never returned).
    const scores = Float64Array.from({ length: n }, () => rng.int(8) / 2);
    const keep = rng.next();
    const drop = new Uint8Array(n).map(() => (rng.next() > keep ? 1 : 0));
    const pass = (i: number) => drop[i] === 0;
    const limit = 1 + rng.int(40);
    const prefix = rankedPrefix(scores, n, 1 + rng.int(60));
    if (!prefix.full) {
      let inPrefix = 0;
      for (const i of prefix.ids) if (pass(i)) inPrefix++;
      if (inPrefix < limit) fallbacks++;
    }
    assert.deepEqual(
      [...topPassing(prefix, scores, n, pass, limit)],
      brute(scores, pass, limit),
      `round ${round}`,
    );
  }
  assert.ok(fallbacks > 10, `the scan ran ${fallbacks} times`);
});
