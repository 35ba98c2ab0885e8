/**
 * Training examples as one compressed sparse row matrix: example i's entries are offsets[i]..offsets[i+1] of
 * `slots`/`values`, with a label and a weight. Appended from reused {@link FeatureVector}s; the arrays grow by
 * doubling, so a build can stream millions of examples without an object per example.
 */
import { SimrecError } from '../core/errors.ts';
import type { FeatureVector } from './hashing.ts';

export class ExampleSet {
  /** Number of examples. */
  length = 0;
  /** Number of entries over all examples. */
  nnz = 0;
  offsets: Int32Array;
  slots: Int32Array;
  values: Float32Array;
  /** 1 engaged, 0 not. */
  labels: Uint8Array;
  /** Example weights (1 unless given); class weights are applied by the trainer on top. */
  weights: Float32Array;

  constructor(capacity = 1024, entriesPerExample = 16) {
    const c = Math.max(1, capacity);
    this.offsets = new Int32Array(c + 1);
    this.labels = new Uint8Array(c);
    this.weights = new Float32Array(c);
    this.slots = new Int32Array(c * Math.max(1, entriesPerExample));
    this.values = new Float32Array(this.slots.length);
  }

  /** Appends one example (its vector is copied, so the caller reuses it). */
  add(v: FeatureVector, label: 0 | 1 | boolean, weight = 1): void {
    if (!(weight >= 0) || !Number.isFinite(weight))
      throw new SimrecError('CONFIG_INVALID', `example weight must be finite and ≥ 0, got ${weight}`, {
        field: 'weight',
      });
    if (this.length === this.labels.length) this.growExamples();
    if (this.nnz + v.length > this.slots.length) this.growEntries(this.nnz + v.length);
    this.slots.set(v.slots.subarray(0, v.length), this.nnz);
    this.values.set(v.values.subarray(0, v.length), this.nnz);
    this.nnz += v.length;
    const i = this.length++;
    this.labels[i] = label ? 1 : 0;
    this.weights[i] = weight;
    this.offsets[i + 1] = this.nnz;
  }

  /** Number of positive and negative examples. */
  counts(): { positives: number; negatives: number } {
    let p = 0;
    for (let i = 0; i < this.length; i++) p += this.labels[i];
    return { positives: p, negatives: this.length - p };
  }

  private growExamples(): void {
    const c = this.labels.length * 2;
    const o = new Int32Array(c + 1);
    o.set(this.offsets);
    const l = new Uint8Array(c);
    l.set(this.labels);
    const w = new Float32Array(c);
    w.set(this.weights);
    this.offsets = o;
    this.labels = l;
    this.weights = w;
  }

  private growEntries(need: number): void {
    let c = this.slots.length * 2;
    while (c < need) c *= 2;
    const s = new Int32Array(c);
    s.set(this.slots.subarray(0, this.nnz));
    const v = new Float32Array(c);
    v.set(this.values.subarray(0, this.nnz));
    this.slots = s;
    this.values = v;
  }
}
