/**
 * Hybrid MF on the fixed ml-latest-small split (../shared/datasets, skipped when absent) against the goals set
 * from LightFM 1.17's figures on the same split (DESIGN §5): one thread, so the numbers are exactly
 * reproducible. Protocol: catalogue = items among train or test positives, users with ≥ 1 test positive,
 * train positives excluded, AUC of test positives against every other catalogue item.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { CsrMatrix } from '../src/core/csr.ts';
import { IdMap } from '../src/core/id-map.ts';
import { topKIndices } from '../src/core/topk.ts';
import { tagMatrix } from '../src/mf/features.ts';
import { HybridMF, type MfFitInput } from '../src/mf/model.ts';

const DATA = resolve(import.meta.dirname, '../../shared/datasets');
const SPLIT = join(DATA, 'ml-latest-small-split');
const skip = existsSync(join(SPLIT, 'train.csv')) ? false : `${SPLIT} not found`;

function load() {
  const users = new IdMap();
  const items = new IdMap();
  const pairs = (f: string) =>
    readFileSync(join(SPLIT, f), 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(','));
  const train = pairs('train.csv');
  const testPairs = pairs('test.csv');
  for (const [u, i] of [...train, ...testPairs]) {
    users.intern(u);
    items.intern(i);
  }
  const csr = (ps: string[][]) =>
    CsrMatrix.fromCoo(
      Int32Array.from(ps, (p) => users.get(p[0])),
      Int32Array.from(ps, (p) => items.get(p[1])),
      null,
      users.size,
      items.size,
      'first',
    );
  const tags: string[][] = Array.from({ length: items.size }, () => []);
  for (const line of readFileSync(join(DATA, 'ml-latest-small/movies.csv'), 'utf8').split(/\r?\n/).slice(1)) {
    // Titles may hold quoted commas: the id is before the first comma, the genres after the last.
    const i = items.get(line.slice(0, line.indexOf(',')));
    const g = line.slice(line.lastIndexOf(',') + 1);
    if (i >= 0 && g !== '(no genres listed)') tags[i] = g.split('|');
  }
  return {
    nUsers: users.size,
    nItems: items.size,
    train: csr(train),
    test: csr(testPairs),
    genres: tagMatrix(tags).matrix,
  };
}

function evaluate(split: ReturnType<typeof load>, score: (u: number, out: Float32Array) => void) {
  const scores = new Float32Array(split.nItems);
  const ids = new Int32Array(10);
  const top = new Float32Array(10);
  let precision = 0;
  let auc = 0;
  let users = 0;
  for (let u = 0; u < split.nUsers; u++) {
    const test = split.test.rowIndices(u);
    if (test.length === 0) continue;
    users++;
    score(u, scores);
    for (const i of split.train.rowIndices(u)) scores[i] = Number.NaN;
    const isTest = new Set(test);
    const n = topKIndices(scores, 10, ids, top);
    for (let j = 0; j < n; j++) if (isTest.has(ids[j])) precision += 0.1;
    let right = 0;
    let negatives = 0;
    for (let i = 0; i < split.nItems; i++) {
      if (isTest.has(i) || Number.isNaN(scores[i])) continue;
      negatives++;
      for (const t of test) right += scores[t] > scores[i] ? 1 : scores[t] === scores[i] ? 0.5 : 0;
    }
    auc += right / (negatives * test.length);
  }
  return { precision: precision / users, auc: auc / users };
}

test('ml-latest-small: WARP, WARP + genres beat LightFM; fold-in of unknown users stays close', {
  skip,
}, async () => {
  const split = load();
  const input: MfFitInput = { nUsers: split.nUsers, nItems: split.nItems, interactions: split.train };
  const warp = new HybridMF({ components: 64 });
  await warp.fit(input, { epochs: 30, seed: 1 });
  const w = evaluate(split, (u, out) => warp.scoreUser(u, out));
  assert.ok(
    w.precision >= 0.16 && w.auc >= 0.903,
    `warp: p@10 ${w.precision.toFixed(4)} AUC ${w.auc.toFixed(4)}`,
  );

  const hybrid = new HybridMF({ components: 64 });
  await hybrid.fit({ ...input, itemFeatures: split.genres }, { epochs: 30, seed: 1 });
  const h = evaluate(split, (u, out) => hybrid.scoreUser(u, out));
  assert.ok(
    h.precision >= 0.171 && h.auc >= 0.919,
    `warp+genres: p@10 ${h.precision.toFixed(4)} AUC ${h.auc.toFixed(4)}`,
  );

  // The same users as if unknown: a representation folded in from their train positives alone.
  const f = evaluate(split, (u, out) =>
    warp.scoreRepresentation(warp.foldInUser(split.train.rowIndices(u)), out),
  );
  assert.ok(
    f.precision >= 0.9 * w.precision,
    `fold-in p@10 ${f.precision.toFixed(4)} vs trained ${w.precision.toFixed(4)}`,
  );
});
