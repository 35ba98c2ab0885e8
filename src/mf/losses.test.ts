import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bprCoef,
  bprLoss,
  logisticCoef,
  logisticLoss,
  sigmoid,
  softplus,
  warpCoef,
  warpLoss,
  warpWeight,
} from './losses.ts';

test('warpWeight: ln⌊(n−1)/draws⌋, at least ln 1 = 0, capped at maxLoss', () => {
  assert.equal(warpWeight(101, 1, 10), Math.log(100));
  assert.equal(warpWeight(101, 3, 10), Math.log(33));
  assert.equal(warpWeight(101, 100, 10), 0);
  assert.equal(warpWeight(101, 200, 10), 0);
  assert.equal(warpWeight(1_000_001, 1, 10), 10); // ln 10⁶ ≈ 13.8
  assert.equal(warpWeight(1_000_001, 1, 20), Math.log(1_000_000));
});

test('sigmoid and softplus stay finite and exact at the extremes', () => {
  assert.equal(sigmoid(0), 0.5);
  assert.equal(sigmoid(800), 1);
  assert.equal(sigmoid(-800), 0);
  assert.ok(Math.abs(sigmoid(2) + sigmoid(-2) - 1) < 1e-15);
  assert.equal(softplus(800), 800);
  assert.equal(softplus(-800), 0);
  assert.ok(Math.abs(softplus(0) - Math.LN2) < 1e-15);
});

test('each coefficient is the derivative of its loss (central differences)', () => {
  const h = 1e-6;
  for (const [sPos, sNeg] of [
    [0.3, -0.2],
    [-1.5, 2],
    [4, 3.5],
  ]) {
    // Pairwise losses as functions of d = s_neg − s_pos: move s_neg.
    const dBpr = (bprLoss(sPos, sNeg + h) - bprLoss(sPos, sNeg - h)) / (2 * h);
    assert.ok(Math.abs(bprCoef(sPos, sNeg) - dBpr) < 1e-8);
    const dWarp = (warpLoss(sPos, sNeg + h, 2.5) - warpLoss(sPos, sNeg - h, 2.5)) / (2 * h);
    assert.ok(Math.abs(warpCoef(sPos, sNeg, 2.5) - dWarp) < 1e-6, `${sPos} ${sNeg}`);
  }
  for (const s of [-3, -0.1, 0, 0.7, 5])
    for (const y of [0, 1]) {
      const d = (logisticLoss(s + h, y) - logisticLoss(s - h, y)) / (2 * h);
      assert.ok(Math.abs(logisticCoef(s, y) - d) < 1e-8);
    }
  // Outside the margin WARP's hinge is flat.
  assert.equal(warpCoef(3, 1, 2), 0);
  assert.equal(warpLoss(3, 1, 2), 0);
});
