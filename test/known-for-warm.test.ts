/**
 * Warm-start stability (DESIGN §3.2): on a planted-partition graph, a rebuild after 1% new edges, started from the
 * previous KnownFor, keeps almost every producer's cluster id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nmi } from '../src/core/clustering-agreement.ts';
import { Rng } from '../src/core/prng.ts';
import { graphFromEdges } from '../src/simclusters/graph.ts';
import { knownFor } from '../src/simclusters/known-for.ts';

/** Planted partition by per-vertex sampling: ~dIn neighbours inside the vertex's group, ~dOut outside. */
function plantedEdges(rng: Rng, groups: number, size: number, dIn: number, dOut: number) {
  const n = groups * size;
  const a: number[] = [];
  const b: number[] = [];
  for (let u = 0; u < n; u++) {
    const g = Math.floor(u / size);
    // Each vertex draws half its expected degree; the other half arrives from its neighbours' draws.
    for (let i = 0; i < dIn / 2; i++) {
      a.push(u);
      b.push(g * size + rng.int(size));
    }
    for (let i = 0; i < dOut / 2; i++) {
      a.push(u);
      b.push(rng.int(n));
    }
  }
  const truth = new Int32Array(n);
  for (let v = 0; v < n; v++) truth[v] = Math.floor(v / size);
  return { n, a, b, truth };
}

for (const threads of [1, 2]) {
  test(`warm rebuild after 1% new edges keeps ≥ 95% of cluster ids (threads ${threads})`, async () => {
    const rng = new Rng(2024);
    const { n, a, b, truth } = plantedEdges(rng, 40, 100, 16, 4);
    const g0 = graphFromEdges(n, Int32Array.from(a), Int32Array.from(b));
    const params = { k: 40, syncEvery: 256 };
    const cold = await knownFor(g0, params, { seed: 1, threads });
    const coldNmi = nmi(cold.cluster, truth);
    assert.ok(coldNmi > 0.85, `cold NMI ${coldNmi}`);

    const extra = Math.round((g0.nnz / 2) * 0.01);
    for (let e = 0; e < extra; e++) {
      a.push(rng.int(n));
      b.push(rng.int(n));
    }
    const g1 = graphFromEdges(n, Int32Array.from(a), Int32Array.from(b));
    assert.ok(g1.nnz > g0.nnz);
    const warm = await knownFor(g1, params, { seed: 2, threads, warmStart: cold.cluster });
    let kept = 0;
    for (let v = 0; v < n; v++) if (warm.cluster[v] === cold.cluster[v]) kept++;
    assert.ok(kept / n >= 0.95, `kept ${kept}/${n}`);
    assert.equal(warm.k, cold.k);
    assert.ok(warm.diagnostics.warm);
    assert.ok(warm.diagnostics.epochs <= 3);
    assert.ok(nmi(warm.cluster, truth) >= coldNmi - 0.02);
  });
}
