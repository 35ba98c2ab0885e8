import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { buildClusterTopItems } from '../simclusters/cluster-index.ts';
import { SimClustersAnn, type SimClustersIndex, type SourceVector } from './simclusters.ts';

/** items × clusters from dense rows (0 = absent). */
function embeddings(rows: number[][]): CsrMatrix {
  const r: number[] = [];
  const c: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < rows[i].length; j++) {
      if (rows[i][j] === 0) continue;
      r.push(i);
      c.push(j);
      v.push(rows[i][j]);
    }
  }
  return CsrMatrix.fromCoo(
    Int32Array.from(r),
    Int32Array.from(c),
    Float32Array.from(v),
    rows.length,
    rows[0].length,
  );
}

function indexOf(rows: number[][], m = 1600, createdTs?: number[]): SimClustersIndex {
  const itemEmbeddings = embeddings(rows);
  return {
    itemEmbeddings,
    clusterItems: buildClusterTopItems(itemEmbeddings, { topItemsPerCluster: m, minItemScore: 0 }),
    itemCreatedTs: createdTs ? Float64Array.from(createdTs) : undefined,
  };
}

const src = (pairs: [number, number][]): SourceVector => ({
  ids: Int32Array.from(pairs.map((p) => p[0])),
  values: Float32Array.from(pairs.map((p) => p[1])),
});

// Toy: 3 clusters, 4 items.
//   item 0 = (1, 0, 0)   item 1 = (1, 1, 0)   item 2 = (0, 0, 2)   item 3 = (0, 3, 4)
// Source s = (2, 1, 0), ‖s‖ = √5.
//   exact cosines: item0 = 2/√5 = 0.894427; item1 = 3/(√2·√5) = 0.948683; item2 = 0; item3 = 3/(5·√5) = 0.268328
const TOY = [
  [1, 0, 0],
  [1, 1, 0],
  [0, 0, 2],
  [0, 3, 4],
];

test('shrinkage: score = u·W / (‖u‖(‖W‖ + λ)), λ = shrinkage × median item norm (hand-computed toy)', () => {
  const ann = new SimClustersAnn(indexOf(TOY));
  // Item norms 1, √2, 2, 5: the median (upper of four) is 2.
  assert.equal(ann.medianItemNorm, 2);
  const s = src([
    [0, 2],
    [1, 1],
  ]);
  const want = new Map([
    [0, 2 / (Math.sqrt(5) * (1 + 2))],
    [1, 3 / (Math.sqrt(5) * (Math.SQRT2 + 2))],
    [3, 3 / (Math.sqrt(5) * (5 + 2))],
  ]);
  for (const r of [
    ann.query(s, { topClusters: 3, itemsPerCluster: 4, approxTop: 4, limit: 4, shrinkage: 1 }),
    ann.query(s, { mode: 'exact', limit: 4, shrinkage: 1 }),
    // A version's own default applies when the query gives none.
    new SimClustersAnn({ ...indexOf(TOY), defaultShrinkage: 1 }).query(s, { limit: 4 }),
  ]) {
    // Item 0 (norm 1, one engagement's worth) now ranks below item 1, which points the same way with more mass.
    assert.deepEqual([...r.items], [1, 0, 3]);
    for (let j = 0; j < r.items.length; j++)
      assert.ok(Math.abs(r.scores[j] - want.get(r.items[j])!) < 1e-6, `item ${r.items[j]}`);
  }
  // Two items one-hot on the same cluster tie under the plain cosine and are ordered by their mass when shrunk.
  const twin = new SimClustersAnn(indexOf([[1], [3], [2]]));
  const one = src([[0, 1]]);
  assert.deepEqual([...twin.query(one, { shrinkage: 0 }).scores], [1, 1, 1]);
  assert.deepEqual([...twin.query(one, { shrinkage: 1 }).items], [1, 2, 0]);
  assert.throws(() => ann.query(s, { shrinkage: -1 }), /shrinkage/);
});

test('exact rerank over full coverage equals exhaustive exact cosine (hand-computed toy)', () => {
  const ann = new SimClustersAnn(indexOf(TOY));
  const s = src([
    [0, 2],
    [1, 1],
  ]);
  const approx = ann.query(s, { topClusters: 3, itemsPerCluster: 4, approxTop: 4, limit: 4, shrinkage: 0 });
  const exact = ann.query(s, { mode: 'exact', limit: 4, shrinkage: 0 });
  assert.deepEqual([...approx.items], [1, 0, 3]);
  assert.deepEqual([...exact.items], [1, 0, 3]);
  const want = [3 / Math.sqrt(10), 2 / Math.sqrt(5), 3 / (5 * Math.sqrt(5))];
  for (let j = 0; j < want.length; j++) {
    assert.ok(Math.abs(approx.scores[j] - want[j]) < 1e-6);
    assert.ok(Math.abs(exact.scores[j] - want[j]) < 1e-6);
  }
  assert.equal(approx.stats.clustersScanned, 2);
  // Candidates: items in cluster 0 (0, 1) and cluster 1 (1, 3).
  assert.equal(approx.stats.candidatesScored, 3);
  assert.equal(approx.stats.embeddingsFetched, 3);
});

test('approximate scores are the partial cosine over the scanned clusters (each scoring mode by hand)', () => {
  const ann = new SimClustersAnn(indexOf(TOY));
  // Source only on cluster 1 with value 2: ‖s‖ = 2. Candidates: item1 (w=1), item3 (w=3).
  const s = src([[1, 2]]);
  const none = { topClusters: 1, itemsPerCluster: 10, rerank: 'none' as const, shrinkage: 0 };
  // dot: item1 = 2, item3 = 6
  let r = ann.query(s, { ...none, scoring: 'dot' });
  assert.deepEqual([...r.items], [3, 1]);
  assert.deepEqual([...r.scores], [6, 2]);
  // cosine (partial): dot / ‖s‖ / √n2 → item1 = 2/2/1 = 1, item3 = 6/2/3 = 1 → tie broken by smaller id
  r = ann.query(s, { ...none, scoring: 'cosine' });
  assert.deepEqual([...r.items], [1, 3]);
  assert.deepEqual([...r.scores], [1, 1]);
  // logCosine: dot / ln(1+‖s‖²) / ln(1+n2) → item1 = 2/ln5/ln2, item3 = 6/ln5/ln10
  r = ann.query(s, { ...none, scoring: 'logCosine' });
  const l1 = 2 / Math.log(5) / Math.log(2);
  const l3 = 6 / Math.log(5) / Math.log(10);
  assert.deepEqual([...r.items], l1 > l3 ? [1, 3] : [3, 1]);
  assert.ok(Math.abs(r.scores[0] - Math.max(l1, l3)) < 1e-6);
  // candidateNormalized: dot / √n2 → item1 = 2, item3 = 2
  r = ann.query(s, { ...none, scoring: 'candidateNormalized' });
  assert.deepEqual([...r.scores], [2, 2]);
  // With exact rerank, item 3's true cosine (3·2)/(5·2) = 0.6 ranks below item 1's 2/(√2·2) = 0.7071.
  r = ann.query(s, { topClusters: 1, itemsPerCluster: 10, scoring: 'dot', shrinkage: 0 });
  assert.deepEqual([...r.items], [1, 3]);
  assert.ok(Math.abs(r.scores[0] - 1 / Math.sqrt(2)) < 1e-6);
  assert.deepEqual([...r.approxScores], [2, 6]);
});

test('M limits what each cluster contributes; minScore and limit cut the answer', () => {
  const ann = new SimClustersAnn(indexOf(TOY));
  const s = src([
    [0, 2],
    [1, 1],
  ]);
  // M = 1: cluster 0's top item is item 0 or 1 (both 1.0 → smaller id 0); cluster 1's top item is item 3.
  const r = ann.query(s, { topClusters: 2, itemsPerCluster: 1, shrinkage: 0 });
  assert.deepEqual([...r.items], [0, 3]);
  assert.equal(r.stats.fetchedRatio, 2 / 2);
  const cut = ann.query(s, { topClusters: 3, itemsPerCluster: 4, minScore: 0.5, limit: 1, shrinkage: 0 });
  assert.deepEqual([...cut.items], [1]);
});

test('filters: exclude, allow and the age window', () => {
  const now = 1_000_000;
  const ann = new SimClustersAnn(indexOf(TOY, 1600, [now - 3600, now - 10 * 3600, now, now - 100 * 3600]));
  const s = src([
    [0, 2],
    [1, 1],
  ]);
  const full = { topClusters: 3, itemsPerCluster: 4 };
  assert.deepEqual([...ann.query(s, full, { exclude: [1] }).items], [0, 3]);
  assert.deepEqual([...ann.query(s, full, { allow: [3, 0] }).items], [0, 3]);
  assert.deepEqual([...ann.query(s, full, { maxAgeHours: 24, now }).items], [1, 0]);
  assert.deepEqual([...ann.query(s, full, { minAgeHours: 5, now }).items], [1, 3]);
  assert.deepEqual([...ann.query(s, { mode: 'exact' }, { exclude: [1], maxAgeHours: 24, now }).items], [0]);
  // Filters do not leak into the next query.
  assert.deepEqual([...ann.query(s, full).items], [1, 0, 3]);
});

test('random index: full coverage reproduces the exact top-k; defaults reach high recall', () => {
  const rng = new Rng(17);
  const nItems = 2000;
  const k = 40;
  const rows: number[][] = [];
  for (let i = 0; i < nItems; i++) {
    const row = new Array(k).fill(0);
    const home = rng.int(k);
    row[home] = 1 + rng.next();
    for (let t = 0; t < 3; t++) row[rng.int(k)] += rng.next() * 0.5;
    rows.push(row);
  }
  const ann = new SimClustersAnn(indexOf(rows));
  let hits = 0;
  let total = 0;
  for (let q = 0; q < 50; q++) {
    const pairs: [number, number][] = [];
    const seen = new Set<number>();
    for (let t = 0; t < 5; t++) {
      const c = rng.int(k);
      if (!seen.has(c)) {
        seen.add(c);
        pairs.push([c, rng.next() + 0.1]);
      }
    }
    pairs.sort((a, b) => a[0] - b[0]);
    const s = src(pairs);
    const exact = ann.query(s, { mode: 'exact', limit: 20 });
    const full = ann.query(s, { topClusters: k, itemsPerCluster: nItems, approxTop: nItems, limit: 20 });
    assert.deepEqual([...full.items], [...exact.items]);
    const dflt = ann.query(s, { limit: 20 });
    const want = new Set(exact.items);
    for (const it of dflt.items) if (want.has(it)) hits++;
    total += exact.items.length;
  }
  assert.ok(hits / total >= 0.9, `recall ${hits / total}`);
});

test('parameters out of range are CONFIG_INVALID naming the field', () => {
  const ann = new SimClustersAnn(indexOf(TOY));
  for (const [field, value] of [
    ['topClusters', 0],
    ['itemsPerCluster', 1e9],
    ['limit', 1.5],
  ] as const) {
    assert.throws(
      () => ann.query(src([[0, 1]]), { [field]: value }),
      (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === field,
    );
  }
  // An empty source or unknown clusters give an empty answer, not an error.
  assert.equal(ann.query(src([])).items.length, 0);
  assert.equal(ann.query(src([[99, 1]])).items.length, 0);
});
