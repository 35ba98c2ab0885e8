import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { sumOfUnitRows } from '../core/sparse.ts';
import { engagedItemRows } from './simclusters-stage.ts';

test('engagedItemRows then sumOfUnitRows: the sum of the engaged items’ L2-normalised rows, empty rows and unknown items skipped', () => {
  // Rows: i0 = (3, 4, 0), i1 = (0, 0, 2), i2 = empty. Engaged i0, i1, i2 and 7 (beyond the matrix).
  const W = CsrMatrix.fromCoo(
    Int32Array.from([0, 0, 1]),
    Int32Array.from([0, 1, 2]),
    Float32Array.from([3, 4, 2]),
    3,
    3,
  );
  const q = sumOfUnitRows(engagedItemRows(W, [0, 1, 2, 7]));
  // (0.6, 0.8, 0) + (0, 0, 1)
  assert.deepEqual(Array.from(q.ids), [0, 1, 2]);
  const expected = [0.6, 0.8, 1];
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(q.values[j] - expected[j]) < 1e-6);
  assert.equal(engagedItemRows(W, [2]).length, 0);
});
