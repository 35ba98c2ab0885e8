// Batch = stream (issue 15 item 5, DESIGN §3.5): the tiny social preset's engagements (favs and unfavs),
// streamed through the live overlay in time order over a version that holds the same InterestedIn but no item
// embeddings yet, give the item embeddings the batch job (computeItemEmbeddings, inside runSimClusters)
// computes from the same events with the same InterestedIn and rule, to 1e-5.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeInputs } from '../src/artifacts/inputs.ts';
import { writeSimClustersOutputs } from '../src/artifacts/simclusters.ts';
import { CsrMatrix } from '../src/core/csr.ts';
import type { LoggedRecord } from '../src/core/event.ts';
import { ACTION_UNFAV } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { simclustersInput } from '../src/pipeline/simclusters-stage.ts';
import { LiveOverlay } from '../src/query/live/overlay.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { computeItemEmbeddings, type ItemEmbeddingParams } from '../src/simclusters/item-embeddings.ts';
import { runSimClusters } from '../src/simclusters/pipeline.ts';
import { openArtifactStore } from '../src/store/open.ts';

test('batch = stream: streamed engagements give the batch item embeddings (tiny preset, 1e-5)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-batch-stream-'));
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 3 });
  const d = await loadDataset(data);
  const e = d.engagements!;
  const { input, producers } = simclustersInput(d);
  const out = await runSimClusters(input, {}, { seed: 3, threads: 1 });
  const batch = out.items!;
  assert.ok(batch.stats.unfavsApplied > 0, 'the preset has unfavs that undo favs');
  assert.ok(batch.stats.itemsWithEmbedding > 50);

  // The version: the same InterestedIn, item embeddings as of the batch's "now" from no engagement at all.
  const params = out.params.itemEmbeddings as ItemEmbeddingParams;
  const noEvents = {
    matrix: new CsrMatrix(
      e.matrix.nRows,
      e.matrix.nCols,
      new Int32Array(e.matrix.nRows + 1),
      new Int32Array(0),
      null,
    ),
    ts: new Float64Array(0),
    action: new Uint8Array(0),
  };
  const empty = computeItemEmbeddings(
    { engagements: noEvents, interestedIn: out.interestedIn, itemCreatedTs: d.itemCreatedTs },
    { ...params, now: batch.asOf },
  );
  const store = openArtifactStore(join(root, 'artifacts'));
  const w = await store.createVersion();
  await writeInputs(w, d);
  await writeSimClustersOutputs(w, { ...out, items: { ...empty, rule: batch.rule } }, producers, null);
  await w.commit({ seed: 3, counts: {} });
  const reader = await store.openVersion();
  try {
    const model = await ServingModel.load(reader);
    assert.equal(model.builtNow, batch.asOf);
    const overlay = await LiveOverlay.create(model);

    // The log in time order (ties by log position, as the batch folds each item's events).
    const m = e.matrix;
    const order = Array.from({ length: m.nnz }, (_, p) => p).sort((a, b) => e.ts[a] - e.ts[b] || a - b);
    const userOf = new Int32Array(m.nnz);
    for (let u = 0; u < m.nRows; u++) userOf.fill(u, m.indptr[u], m.indptr[u + 1]);
    const records: LoggedRecord[] = order.map((p, offset) => ({
      userId: d.users.id(userOf[p]),
      action: e.action[p] === ACTION_UNFAV ? 'unfav' : 'fav',
      itemId: d.items.id(m.indices[p]),
      ts: e.ts[p],
      weight: m.values ? m.values[p] : 1,
      offset,
    }));
    // In batches, as an applier would read them.
    for (let j = 0; j < records.length; j += 100) overlay.apply(records.slice(j, j + 100));
    assert.equal(overlay.appliedOffset, records.length - 1);
    // The same events were skipped for the same reasons.
    const skipped = overlay.stats().skipped;
    assert.equal(skipped.ownItem, batch.stats.skippedOwnItem);
    assert.equal(skipped.itemTooOld, batch.stats.skippedTooOld);
    assert.equal(skipped.unfavWithoutFav, batch.stats.skippedNothingToUndo);

    let compared = 0;
    const want = batch.embedding;
    for (let i = 0; i < d.items.size; i++) {
      const got = overlay.itemRow(i) ?? { ids: new Int32Array(0), values: new Float32Array(0) };
      const ids = want.rowIndices(i);
      const values = want.rowValues(i)!;
      assert.deepEqual([...got.ids], [...ids], `item ${d.items.id(i)}: clusters`);
      for (let j = 0; j < ids.length; j++)
        assert.ok(
          Math.abs(got.values[j] - values[j]) <= 1e-5,
          `item ${d.items.id(i)} cluster ${ids[j]}: stream ${got.values[j]}, batch ${values[j]}`,
        );
      compared += ids.length;
    }
    assert.ok(compared > 100, `${compared} entries compared`);
    // A new user following two producers of one community gets the §3.3 row normalised by the stored column
    // norms of the build.
    const kf = out.knownFor;
    let first = 0;
    while (kf.cluster[first] < 0) first++;
    const c = kf.cluster[first];
    let second = first + 1;
    while (kf.cluster[second] !== c) second++;
    const next = records.length;
    overlay.apply([
      {
        userId: 'newbie',
        action: 'follow',
        producerId: d.users.id(producers[first]),
        ts: batch.asOf,
        weight: 1,
        offset: next,
      },
      {
        userId: 'newbie',
        action: 'follow',
        producerId: d.users.id(producers[second]),
        ts: batch.asOf,
        weight: 1,
        offset: next + 1,
      },
    ]);
    const follow = kf.score[first] + kf.score[second];
    const row = await overlay.model.userEmbedding('newbie', 'followScoreClusterNormalized');
    assert.deepEqual([...row.ids], [c]);
    assert.ok(Math.abs(row.values[0] - follow / out.interestedIn.columnNorms.followScore[c]) < 1e-6);
    // And the overlay answers with them: an item's similar items are found through the overlay's lists.
    const top = (await overlay.model.candidates({ userId: d.users.id(userOf[order[0]]) }, { limit: 5 }))
      .result;
    assert.ok(top.items.length > 0);
  } finally {
    await reader.close();
    await store.close();
  }
});
