import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nmi } from '../core/clustering-agreement.ts';
import { compactClusters, mergeByObjective, mergeCommunities, modularity } from './community-merge.ts';
import { graphFromEdges } from './graph.ts';
import { knownFor } from './known-for.ts';

const I = (xs: number[]) => Int32Array.from(xs);

/** Cliques of the given sizes; with `ring`, clique c's last vertex is joined to clique c+1's first. */
function cliqueGraph(sizes: number[], ring = false) {
  const a: number[] = [];
  const b: number[] = [];
  const truth: number[] = [];
  const first: number[] = [];
  let base = 0;
  sizes.forEach((m, c) => {
    first.push(base);
    for (let i = 0; i < m; i++) {
      truth.push(c);
      for (let j = i + 1; j < m; j++) {
        a.push(base + i);
        b.push(base + j);
      }
    }
    base += m;
  });
  if (ring)
    for (let c = 0; c < sizes.length; c++) {
      a.push(first[c] + sizes[c] - 1);
      b.push(first[(c + 1) % sizes.length]);
    }
  return { graph: graphFromEdges(base, I(a), I(b)), truth: I(truth) };
}

test('modularity of two disjoint triangles split correctly is 1/2 (hand-computed)', () => {
  const { graph, truth } = cliqueGraph([3, 3]);
  // Each community holds half the edge ends and all its edges inside: Q = 2·(1/2 − 1/4).
  assert.ok(Math.abs(modularity(graph, truth) - 0.5) < 1e-12);
  assert.ok(Math.abs(modularity(graph, new Int32Array(6)) - 0) < 1e-12);
});

test('compactClusters renumbers by first appearance and keeps −1', () => {
  const out = new Int32Array(5);
  assert.equal(compactClusters(I([7, -1, 3, 7, 3]), out), 2);
  assert.deepEqual([...out], [0, -1, 1, 0, 1]);
});

test('merging fragments of a ring of cliques recovers the cliques', () => {
  const { graph, truth } = cliqueGraph([8, 8, 8, 8, 8, 8], true);
  // Each clique cut in two halves: merging halves raises modularity, merging cliques lowers it.
  const split = Int32Array.from(truth, (c, v) => 2 * c + (v % 8 < 4 ? 0 : 1));
  const m = mergeCommunities(graph, split);
  assert.equal(m.before, 12);
  assert.equal(m.count, 6);
  assert.equal(nmi(m.cluster, truth), 1);
  assert.ok(m.modularityAfter > m.modularityBefore);
});

test('the objective merge joins two triangles exactly when their cross edges exceed |A||B|/(α+1)', () => {
  // Unweighted, w̄ = 1: ΔL = 2α·E + 2E − 2·|A||B| = 2(α+1)E − 18 with |A| = |B| = 3; α = 1 merges at E ≥ 5.
  const triangles = (cross: number) => {
    const a = [0, 0, 1, 3, 3, 4];
    const b = [1, 2, 2, 4, 5, 5];
    for (let e = 0; e < cross; e++) {
      a.push(e % 3);
      b.push(3 + Math.floor(e / 3));
    }
    return graphFromEdges(6, I(a), I(b));
  };
  const split = I([0, 0, 0, 1, 1, 1]);
  const ones = new Float64Array(6).fill(1);
  assert.equal(mergeByObjective(triangles(4), split, 1, ones).count, 2);
  const m = mergeByObjective(triangles(5), split, 1, ones);
  assert.equal(m.count, 1);
  assert.equal(m.levels, 1);
  // α = 10 (KnownFor's default) merges from one cross edge on (22E > 18).
  assert.equal(mergeByObjective(triangles(1), split, 10, ones).count, 1);
  assert.equal(mergeByObjective(triangles(0), split, 10, ones).count, 2);
});

for (const [name, sizes, ring] of [
  ['disjoint cliques of different sizes', [5, 9, 14, 20], false],
  ['a ring of 12 cliques of 6', Array(12).fill(6), true],
] as const) {
  test(`automatic k finds ${name}`, async () => {
    const { graph, truth } = cliqueGraph([...sizes], ring);
    for (const seed of [1, 2, 3]) {
      const r = await knownFor(graph, {}, { seed });
      assert.equal(r.k, sizes.length, `seed ${seed}`);
      assert.equal(r.diagnostics.kMode, 'auto');
      assert.equal(nmi(r.cluster, truth), 1, `seed ${seed}`);
      for (let v = 0; v < truth.length; v++) assert.ok(r.cluster[v] >= 0 && r.cluster[v] < r.k);
    }
  });
}

test('merge modes: modularity and none are chosen by knownFor.merge; a bad mode is CONFIG_INVALID', async () => {
  const { graph, truth } = cliqueGraph([8, 8, 8, 8, 8, 8], true);
  for (const merge of ['objective', 'modularity', 'none'] as const) {
    const r = await knownFor(graph, { merge }, { seed: 1 });
    assert.equal(r.k, 6, merge);
    assert.equal(nmi(r.cluster, truth), 1, merge);
  }
  await assert.rejects(knownFor(graph, { merge: 'louvain' as 'none' }, { seed: 1 }), /knownFor.merge/);
});

test('a forced k is kept and not merged', async () => {
  const { graph } = cliqueGraph([6, 6, 6]);
  const r = await knownFor(graph, { k: 5 }, { seed: 1 });
  assert.equal(r.k, 5);
  assert.equal(r.diagnostics.kMode, 'fixed');
  assert.equal(r.diagnostics.merge, null);
});
