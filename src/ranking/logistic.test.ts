import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { ExampleSet } from './examples.ts';
import { FeatureBuilder, FeatureSpec } from './hashing.ts';
import { compactExamples, LogisticModel, logisticObjective, trainLogistic } from './logistic.ts';
import { auc, calibration } from './metrics.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

// A planted model: four numeric weights, six genre weights summing to zero (one-hot genres beside a bias are
// only identified up to a shift, which the L2 penalty resolves towards a zero mean), and a bias that makes
// positives rare (~15%).
const NUMERIC = [1.5, -2, 0.5, 0];
const GENRES = [0.8, -0.6, 0.3, -1.2, -0.3, 1.0];
const BIAS = -3.5;

function plantedSpec(): FeatureSpec {
  return new FeatureSpec({ bits: 14, numeric: ['x0', 'x1', 'x2', 'x3'], categorical: ['genre'] });
}

function generate(spec: FeatureSpec, n: number, seed: number): { examples: ExampleSet; truth: Float64Array } {
  const rng = new Rng(seed);
  const b = new FeatureBuilder(spec);
  const examples = new ExampleSet(n);
  const truth = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    b.begin();
    let z = BIAS;
    for (let k = 0; k < NUMERIC.length; k++) {
      const x = rng.normal();
      b.numeric(k, x);
      z += NUMERIC[k] * x;
    }
    const g = rng.int(GENRES.length);
    b.categorical(0, `g${g}`);
    z += GENRES[g];
    truth[i] = sigmoid(z);
    examples.add(b.end(), rng.next() < truth[i] ? 1 : 0);
  }
  return { examples, truth };
}

test('the gradient of the training objective matches central finite differences', () => {
  const spec = new FeatureSpec({ bits: 6, numeric: ['a', 'b'], categorical: ['c'], crosses: [['c', 'c']] });
  const rng = new Rng(2);
  const b = new FeatureBuilder(spec);
  const examples = new ExampleSet(4);
  for (let i = 0; i < 40; i++) {
    b.begin()
      .numeric(0, rng.normal())
      .numeric(1, rng.next() * 3);
    b.categorical(0, rng.int(5)).categorical(0, rng.int(5), 0.5);
    examples.add(b.end(), rng.next() < 0.3 ? 1 : 0, 0.5 + rng.next());
  }
  const ex = compactExamples(examples, spec.dimension, 2.5);
  const size = ex.used.length + 1;
  const theta = new Float64Array(size);
  for (let j = 0; j < size; j++) theta[j] = rng.normal() * 0.7;
  const grad = new Float64Array(size);
  const scratch = new Float64Array(size);
  const l2 = 0.3;
  logisticObjective(ex, theta, l2, grad);
  const h = 1e-6;
  for (let j = 0; j < size; j++) {
    const keep = theta[j];
    theta[j] = keep + h;
    const up = logisticObjective(ex, theta, l2, scratch);
    theta[j] = keep - h;
    const down = logisticObjective(ex, theta, l2, scratch);
    theta[j] = keep;
    const numeric = (up - down) / (2 * h);
    assert.ok(
      Math.abs(numeric - grad[j]) < 1e-7 * Math.max(1, Math.abs(grad[j])),
      `θ${j}: ${numeric} vs ${grad[j]}`,
    );
  }
});

test('the objective at θ = 0 is ln 2 (every prediction ½) whatever the weights', () => {
  const spec = new FeatureSpec({ bits: 4, numeric: ['a'], categorical: [] });
  const b = new FeatureBuilder(spec);
  const examples = new ExampleSet();
  examples.add(b.begin().numeric(0, 1).end(), 1, 3);
  examples.add(b.begin().numeric(0, 2).end(), 0, 1);
  const ex = compactExamples(examples, spec.dimension, 4);
  const g = new Float64Array(2);
  assert.ok(Math.abs(logisticObjective(ex, new Float64Array(2), 1, g) - Math.LN2) < 1e-15);
  // Gradient of the mean weighted logloss at 0: Σ c_i (½ − y_i) x_i / Σ c_i with c = (3·4, 1).
  assert.ok(Math.abs(g[0] - (12 * -0.5 * 1 + 1 * 0.5 * 2) / 13) < 1e-15);
  assert.ok(Math.abs(g[1] - (12 * -0.5 + 0.5) / 13) < 1e-15);
});

test('training recovers a hand-planted logistic model, calibrated despite class weights', () => {
  const spec = plantedSpec();
  const { examples } = generate(spec, 40000, 1);
  const { positives, negatives } = examples.counts();
  const { model, report } = trainLogistic(spec, examples, { l2: 1e-4 });
  assert.ok(report.converged, JSON.stringify(report));
  assert.equal(report.positiveWeight, negatives / positives);
  assert.ok(positives / examples.length < 0.2, `positives ${positives}`);
  for (let k = 0; k < NUMERIC.length; k++)
    assert.ok(Math.abs(model.weights[k] - NUMERIC[k]) < 0.1, `x${k}: ${model.weights[k]} vs ${NUMERIC[k]}`);
  const slots = new Set<number>();
  for (let g = 0; g < GENRES.length; g++) {
    const h = spec.tokenHash(0, `g${g}`);
    slots.add(spec.slotOf(h));
    const w = model.weights[spec.slotOf(h)] * spec.signOf(h);
    assert.ok(Math.abs(w - GENRES[g]) < 0.1, `genre ${g}: ${w} vs ${GENRES[g]}`);
  }
  assert.equal(slots.size, GENRES.length, 'the planted genres must not collide');
  assert.ok(Math.abs(model.bias - BIAS) < 0.1, `bias ${model.bias}`);

  // On held-out examples: probabilities close to the truth, calibrated, and ranking as well as the truth.
  const held = generate(spec, 20000, 2);
  const pred = new Float64Array(held.examples.length);
  const b = new FeatureBuilder(spec);
  const heldLabels = held.examples.labels.subarray(0, held.examples.length);
  let maxGap = 0;
  for (let i = 0; i < held.examples.length; i++) {
    b.begin();
    const v = b.vector;
    for (let e = held.examples.offsets[i]; e < held.examples.offsets[i + 1]; e++)
      v.push(held.examples.slots[e], held.examples.values[e], 0);
    pred[i] = model.predict(v);
    maxGap = Math.max(maxGap, Math.abs(pred[i] - held.truth[i]));
  }
  assert.ok(maxGap < 0.1, `largest |p − truth| ${maxGap}`);
  const ece = calibration(heldLabels, pred).ece;
  assert.ok(ece < 0.02, `ECE ${ece}`);
  assert.ok(Math.abs(auc(heldLabels, pred) - auc(heldLabels, held.truth)) < 0.005);
});

test('without calibration the bias carries ln(positive weight); weights agree with unweighted training', () => {
  const spec = plantedSpec();
  const { examples } = generate(spec, 20000, 3);
  const weighted = trainLogistic(spec, examples, { l2: 1e-3, calibrate: false });
  const plain = trainLogistic(spec, examples, { l2: 1e-3, positiveWeight: 1 });
  const shift = Math.log(weighted.report.positiveWeight);
  assert.ok(Math.abs(weighted.model.bias - shift - plain.model.bias) < 0.1);
  for (let k = 0; k < NUMERIC.length; k++)
    assert.ok(Math.abs(weighted.model.weights[k] - plain.model.weights[k]) < 0.1, `x${k}`);
});

test('contributions are w·x per entry, the k largest by magnitude first', () => {
  const spec = new FeatureSpec({ bits: 4, numeric: ['a', 'b', 'c'], categorical: ['t'] });
  const model = new LogisticModel(spec, new Float32Array(spec.dimension), 0.5);
  model.weights.set([2, -3, 0.25]);
  const h = spec.tokenHash(0, 'x');
  model.weights[spec.slotOf(h)] = 1.5 * spec.signOf(h);
  const v = new FeatureBuilder(spec)
    .begin()
    .numeric(0, 1)
    .numeric(1, 0.5)
    .numeric(2, 4)
    .categorical(0, 'x')
    .end();
  // logit = 0.5 + 2·1 − 3·0.5 + 0.25·4 + 1.5 = 3.5
  assert.ok(Math.abs(model.logit(v) - 3.5) < 1e-6);
  assert.ok(Math.abs(model.predict(v) - sigmoid(3.5)) < 1e-7);
  const top = model.contributions(v, 3);
  assert.deepEqual(
    top.map((c) => [c.name, c.contribution]),
    [
      ['a', 2],
      ['b', -1.5],
      ['t', 1.5],
    ],
  );
  assert.equal(model.contributions(v, 0).length, 0);
});

test('a model survives serialization byte for byte; corrupt bytes are refused with ARTIFACT_CORRUPT', () => {
  const spec = new FeatureSpec({
    bits: 5,
    numeric: ['n'],
    categorical: ['é'],
    crosses: [['é', 'é']],
    seed: 9,
  });
  const model = new LogisticModel(spec, new Float32Array(spec.dimension), -1.25);
  for (let j = 0; j < spec.dimension; j++) model.weights[j] = Math.fround(Math.sin(j) * 3);
  const bytes = model.serialize({ trainedAt: 'test' });
  assert.equal((bytes.length - 4 * spec.dimension) % 4, 0);
  const { model: back, extra } = LogisticModel.deserialize(bytes);
  assert.deepEqual(back.spec.toJSON(), spec.toJSON());
  assert.equal(back.bias, -1.25);
  assert.deepEqual(back.weights, model.weights);
  assert.deepEqual(extra, { trainedAt: 'test' });
  assert.deepEqual(back.serialize({ trainedAt: 'test' }), bytes);
  // Read from an unaligned view, as a store may hand it over.
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(LogisticModel.deserialize(shifted.subarray(1)).model.weights, model.weights);

  const corrupt = (mutate: (b: Uint8Array) => Uint8Array, why: RegExp) =>
    assert.throws(() => LogisticModel.deserialize(mutate(bytes.slice()), 'ranker.bin'), {
      code: 'ARTIFACT_CORRUPT',
      message: why,
      detail: { file: 'ranker.bin' },
    });
  corrupt((b) => b.subarray(0, 5), /preamble/);
  corrupt((b) => {
    b[0] = 0;
    return b;
  }, /magic/);
  corrupt((b) => b.subarray(0, b.length - 4), /bytes, expected/);
  corrupt((b) => {
    b[8] = 0x7b + 1;
    return b;
  }, /not JSON/);
  corrupt((b) => {
    new DataView(b.buffer).setFloat32(b.length - 4, Number.NaN, true);
    return b;
  }, /weight .* is NaN/);
  corrupt((b) => {
    new DataView(b.buffer).setUint32(4, 1 << 30, true);
    return b;
  }, /runs past the end/);
});

test('training refuses a single class and bad options', () => {
  const spec = new FeatureSpec({ bits: 4, numeric: ['a'], categorical: [] });
  const b = new FeatureBuilder(spec);
  const examples = new ExampleSet();
  examples.add(b.begin().numeric(0, 1).end(), 1);
  assert.throws(() => trainLogistic(spec, examples), { code: 'CONFIG_INVALID', message: /both classes/ });
  examples.add(b.begin().numeric(0, -1).end(), 0);
  assert.throws(() => trainLogistic(spec, examples, { l2: -1 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => trainLogistic(spec, examples, { positiveWeight: 0 }), { code: 'CONFIG_INVALID' });
  // Separable data with a penalty still converges to a finite model.
  const { model, report } = trainLogistic(spec, examples, { l2: 0.01 });
  assert.ok(report.converged);
  assert.ok(model.weights[0] > 0 && Number.isFinite(model.weights[0]));
});

test('standardised training charges L2 by what a feature says, not by its unit', () => {
  // The same planted data twice, once with x1 given in hundredths of its unit: a rescaled copy of a feature
  // carries the same information, so with standardisation the model must predict the same from either, its
  // weight 100× larger; without, the penalty shrinks the small-unit weight and the predictions move.
  const spec = plantedSpec();
  const { examples } = generate(spec, 20000, 4);
  const shrunk = new ExampleSet(examples.length);
  const b = new FeatureBuilder(spec);
  for (let i = 0; i < examples.length; i++) {
    b.begin();
    const v = b.vector;
    for (let e = examples.offsets[i]; e < examples.offsets[i + 1]; e++) {
      const slot = examples.slots[e];
      v.push(slot, slot === 1 ? examples.values[e] / 100 : examples.values[e], 0);
    }
    shrunk.add(v, examples.labels[i] === 1, examples.weights[i]);
  }
  const l2 = 0.01;
  const a = trainLogistic(spec, examples, { l2 });
  const s = trainLogistic(spec, shrunk, { l2 });
  assert.ok(a.report.converged && s.report.converged);
  assert.ok(
    Math.abs(s.model.weights[1] / 100 - a.model.weights[1]) < 1e-3 * Math.abs(a.model.weights[1]),
    `${s.model.weights[1]} vs 100 × ${a.model.weights[1]}`,
  );
  for (const k of [0, 2]) assert.ok(Math.abs(s.model.weights[k] - a.model.weights[k]) < 1e-3, `x${k}`);
  const plain = trainLogistic(spec, shrunk, { l2, standardize: false });
  // Unstandardised, x1's weight stays far below the 100× it needs: its contribution is mostly lost.
  assert.ok(
    Math.abs(plain.model.weights[1] / 100) < 0.5 * Math.abs(a.model.weights[1]),
    `unstandardised ${plain.model.weights[1]} vs 100 × ${a.model.weights[1]}`,
  );
});
