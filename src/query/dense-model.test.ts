/**
 * DenseModel's exact path (mode 'exact', the scan of ann/exact.ts over the version's stored MF vectors)
 * against a brute-force reference computed here from the fixture's own numbers: inner product over the folded
 * vectors for a raw user-side vector, cosine over the embedding part for an item, with exclude and allow lists
 * (short and long), exact ties ranked by the smaller item index.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { openArtifactStore } from '../store/open.ts';
import { DenseModel } from './dense-model.ts';
import { SIMCLUSTERS_KEYS, writeTestArtifacts } from './test-fixtures.ts';

const C = 4;
const N = 70;

/** Ranked [index, float32 score] of the items passing keep, score descending, ties by smaller index. */
function reference(
  score: (j: number) => number,
  keep: (j: number) => boolean,
  k: number,
): [number, number][] {
  const all: [number, number][] = [];
  for (let j = 0; j < N; j++) if (keep(j)) all.push([j, Math.fround(score(j))]);
  all.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return all.slice(0, k);
}

test('mode exact equals a brute-force reference: ip over folded vectors, cosine over embeddings, filters, ties', async () => {
  const rng = new Rng(5);
  // Small integers and half-integer biases: every inner product is exact in float32 and float64 alike.
  const p: number[][] = [];
  const b: number[] = [];
  for (let j = 0; j < N; j++) {
    p.push(Array.from({ length: C }, () => rng.int(9) - 4));
    b.push((rng.int(5) - 2) / 2);
  }
  // Items 50 and 51 repeat item 20 (exact ties under both metrics); item 60 has a zero embedding (cosine 0).
  for (const j of [50, 51]) {
    p[j] = [...p[20]];
    b[j] = b[20];
  }
  p[60] = [0, 0, 0, 0];
  const ids = Array.from({ length: N }, (_, j) => `i${j}`);
  const root = mkdtempSync(join(tmpdir(), 'simrec-dense-model-'));
  const store = openArtifactStore(root);
  try {
    await writeTestArtifacts(root, {
      k: 1,
      users: ['u0'],
      items: ids,
      producers: [],
      mf: { items: Object.fromEntries(ids.map((id, j) => [id, [...p[j], b[j]]])) },
      omit: SIMCLUSTERS_KEYS,
    });
    const model = await DenseModel.load(await store.openVersion());
    assert.equal(model.dim, C + 2);
    const exclude = [3, 20, 3, 44];
    const longAllow = Array.from({ length: 60 }, (_, t) => (t * 13) % N);
    const shortAllow = [51, 50, 20, 60, 7, 7, 3];
    const filters: { exclude?: number[]; allow?: number[] }[] = [
      {},
      { exclude },
      { allow: longAllow, exclude },
      { allow: shortAllow },
    ];
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const cosine = (a: number[], c: number[]) => {
      const d = norm(a) * norm(c);
      return d === 0 ? 0 : a.reduce((s, x, t) => s + x * c[t], 0) / d;
    };
    const check = async (
      source: { vector: number[] } | { itemId: string },
      score: (j: number) => number,
      self: number,
      f: { exclude?: number[]; allow?: number[] },
      limit: number,
      cosineTolerance: boolean,
    ) => {
      const keep = (j: number) =>
        j !== self && !(f.exclude ?? []).includes(j) && (f.allow === undefined || f.allow.includes(j));
      const want = reference(score, keep, limit);
      const got = await model.candidates(
        source,
        { mode: 'exact', limit },
        {
          exclude: f.exclude?.map((j) => ids[j]),
          allow: f.allow?.map((j) => ids[j]),
        },
      );
      const what = `${JSON.stringify(source)} ${JSON.stringify(f)} limit ${limit}`;
      assert.equal(got.stats.index, 'scan', what);
      assert.equal(got.stats.itemsScored, reference(score, keep, N).length, what);
      assert.equal(got.items.length, want.length, what);
      for (let r = 0; r < want.length; r++) {
        if (!cosineTolerance) {
          assert.deepEqual([got.items[r], got.scores[r]], want[r], what);
          continue;
        }
        // Cosines are a division apart (1/‖p‖ kept in float32 by the scan): scores within 1e-6, and the same
        // item at every rank whose score no other item comes within that of.
        assert.ok(Math.abs(got.scores[r] - want[r][1]) < 1e-6, what);
        const near = want.filter(([, s]) => Math.abs(s - want[r][1]) < 1e-6);
        if (near.length === 1) assert.equal(got.items[r], want[r][0], what);
        else
          assert.ok(
            near.some(([j]) => j === got.items[r]),
            what,
          );
      }
      return got;
    };
    for (let t = 0; t < 8; t++) {
      const q = Array.from({ length: C }, () => rng.int(9) - 4);
      const bu = (rng.int(5) - 2) / 2;
      const ip = (j: number) => q.reduce((s, x, d) => s + x * p[j][d], 0) + bu + b[j];
      const item = t * 9;
      const cos = (j: number) => cosine(p[item], p[j]);
      for (const f of filters)
        for (const limit of [5, N]) {
          await check({ vector: [...q, bu, 1] }, ip, -1, f, limit, false);
          await check({ itemId: ids[item] }, cos, item, f, limit, true);
        }
    }
    // Item 20's repeats tie with each other exactly: the smaller index first, under both metrics.
    const similar = await model.candidates({ itemId: 'i20' }, { mode: 'exact', limit: 2 });
    assert.deepEqual([...similar.items], [50, 51]);
    assert.ok(Math.abs(similar.scores[0] - 1) < 1e-6 && similar.scores[1] === similar.scores[0]);
    const byVector = await model.candidates({ vector: [...p[20], 0, 1] }, { mode: 'exact', limit: N });
    const order = [...byVector.items];
    assert.ok(order.indexOf(20) + 1 === order.indexOf(50) && order.indexOf(50) + 1 === order.indexOf(51));
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
});
