import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distinctSorted, evenStride } from './int-sets.ts';

test('distinctSorted and evenStride', () => {
  assert.deepEqual(Array.from(distinctSorted([5, 1, 5, 3, 1])), [1, 3, 5]);
  assert.deepEqual(Array.from(distinctSorted([])), []);
  const ten = Int32Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  // positions ⌊j·10/4⌋ = 0, 2, 5, 7
  assert.deepEqual(Array.from(evenStride(ten, 4)), [0, 20, 50, 70]);
  assert.equal(evenStride(ten, 10), ten);
});
