import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { checkGraph, checkIntParam, checkKnownParams, graphFromEdges } from './graph.ts';

const code = (c: string) => (e: unknown) => e instanceof SimrecError && e.code === c;

test('graphFromEdges stores both directions, keeps the max of repeats and drops self loops', () => {
  const g = graphFromEdges(
    4,
    Int32Array.from([0, 1, 2, 2]),
    Int32Array.from([1, 0, 2, 3]),
    Float32Array.from([1, 3, 5, 2]),
  );
  assert.deepEqual(Array.from(g.indptr), [0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(g.indices), [1, 0, 3, 2]);
  assert.deepEqual(Array.from(g.values!), [3, 3, 2, 2]);
  assert.equal(checkGraph(g), g);
  const unweighted = graphFromEdges(3, Int32Array.from([0]), Int32Array.from([2]));
  assert.equal(unweighted.values, null);
  assert.deepEqual(Array.from(unweighted.indices), [2, 0]);
});

test('checkGraph strips self loops and rejects asymmetric, non-square, unsorted or negative-weight graphs', () => {
  const loops = CsrMatrix.fromCoo(Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 0, 1]), null, 2, 2);
  const clean = checkGraph(loops);
  assert.deepEqual(Array.from(clean.indptr), [0, 1, 2]);
  assert.deepEqual(Array.from(clean.indices), [1, 0]);
  const oneWay = CsrMatrix.fromCoo(Int32Array.from([0]), Int32Array.from([1]), null, 2, 2);
  assert.throws(() => checkGraph(oneWay), /not symmetric/);
  assert.throws(() => checkGraph(new CsrMatrix(2, 3, new Int32Array(3), new Int32Array(0), null)), /square/);
  const unsorted = new CsrMatrix(3, 3, Int32Array.from([0, 2, 3, 4]), Int32Array.from([2, 1, 0, 0]), null);
  assert.throws(() => checkGraph(unsorted), /not sorted/);
  const neg = graphFromEdges(2, Int32Array.from([0]), Int32Array.from([1]), Float32Array.from([-1]));
  assert.throws(() => checkGraph(neg), code('INPUT_BAD_ROW'));
  const nan = graphFromEdges(2, Int32Array.from([0]), Int32Array.from([1]), Float32Array.from([Number.NaN]));
  assert.throws(() => checkGraph(nan), code('INPUT_BAD_ROW'));
});

test('parameter checks name the parameter', () => {
  assert.throws(
    () => checkIntParam('k', 1.5, 0),
    (e: unknown) => code('CONFIG_INVALID')(e) && (e as SimrecError).detail.field === 'k',
  );
  assert.equal(checkIntParam('k', 3, 0), 3);
  assert.throws(
    () => checkKnownParams('knownFor', { alpah: 1 }, { alpha: 10 }),
    /unknown knownFor parameter 'alpah'/,
  );
});
