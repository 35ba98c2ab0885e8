/**
 * The build's hybrid MF stage (DESIGN §5–6): trains on the positive engagements (item tags as side features
 * when asked), stores the model, the folded user and item representations, an inner-product dense index over
 * the items (user → item retrieval) and a cosine one over the items' embedding parts (item → item), each with
 * its recall@k against exact search in the version's metadata.
 */
import { buildDenseIndex, type DenseBuildReport } from '../ann/dense/build.ts';
import { saveDenseIndex } from '../ann/dense/persist.ts';
import { KEYS } from '../artifacts/keys.ts';
import { writeMfModel, writeMfVectors } from '../artifacts/mf.ts';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { Dataset } from '../data/dataset.ts';
import { positivesFromEngagements } from '../data/positives.ts';
import { HybridMF } from '../mf/model.ts';
import type { MfParams } from '../mf/params.ts';
import type { VersionWriter } from '../store/store.ts';

export interface MfStageConfig {
  enabled: boolean;
  epochs: number;
  /** Use item tags (genres, topics) as side features. */
  itemFeatures: boolean;
  /** Ratings below this do not count as positives (0: every positive engagement). */
  minWeight: number;
  params: Partial<MfParams>;
  /** User vectors sampled as recall queries for the dense index. */
  recallQueries: number;
}

export interface MfStageSummary {
  users: number;
  items: number;
  positives: number;
  dim: number;
  fitSeconds: number;
  dense: DenseBuildReport;
  /** The cosine index over the embedding parts (item → item), measured with a sample of items as queries. */
  similarDense: DenseBuildReport;
}

export async function mfStage(
  d: Dataset,
  cfg: MfStageConfig,
  w: VersionWriter,
  run: {
    seed: number;
    threads: number;
    onProgress?: (stage: string, done: number, total?: number) => void;
    /** Build the dense indexes (default true); without them dense queries scan the vectors exactly. */
    indexes?: boolean;
  },
): Promise<MfStageSummary> {
  if (!d.engagements) throw new SimrecError('INPUT_MISSING', 'the MF stage needs engagements');
  const positives = positivesFromEngagements(d.engagements, { minWeight: cfg.minWeight }).matrix;
  // Binary positives, as LightFM's reference figures were trained (a rating as sample weight acts as a
  // learning-rate multiplier, not as preference).
  const interactions = new CsrMatrix(
    positives.nRows,
    positives.nCols,
    positives.indptr,
    positives.indices,
    null,
  );
  const model = new HybridMF(cfg.params);
  const t0 = performance.now();
  await model.fit(
    {
      nUsers: d.users.size,
      nItems: d.items.size,
      interactions,
      itemFeatures: cfg.itemFeatures && d.itemTags ? d.itemTags : undefined,
    },
    {
      epochs: cfg.epochs,
      threads: run.threads,
      seed: run.seed,
      onProgress: (p) => run.onProgress?.('mf', p.epoch, p.epochs),
    },
  );
  const fitSeconds = (performance.now() - t0) / 1000;
  await writeMfModel(w, model.toBuffers());
  const users = model.userRepresentations();
  const items = model.itemRepresentations();
  await writeMfVectors(
    w,
    { rows: d.users.size, dim: users.dim, data: users.vectors },
    { rows: d.items.size, dim: items.dim, data: items.vectors },
  );

  if (run.indexes === false) {
    // Nothing stored: queries scan the vectors, which is what an exact index of every item answers.
    const scan = (metric: 'ip' | 'cosine', dim: number): DenseBuildReport => ({
      kind: 'exact',
      metric,
      dim,
      size: 0,
      buildMs: 0,
      params: null,
      recall: null,
    });
    const summary: MfStageSummary = {
      users: d.users.size,
      items: d.items.size,
      positives: interactions.nnz,
      dim: items.dim,
      fitSeconds,
      dense: scan('ip', items.dim),
      similarDense: scan('cosine', items.dim - 2),
    };
    await w.putJson(KEYS.mfMeta, { params: cfg, ...summary });
    return summary;
  }

  // Recall of the item index is measured with real user queries: the vectors it will be searched with.
  const nq = Math.min(cfg.recallQueries, d.users.size);
  const queries = new Float32Array(nq * users.dim);
  const step = Math.max(1, Math.floor(d.users.size / Math.max(1, nq)));
  for (let q = 0; q < nq; q++)
    queries.set(users.vectors.subarray(q * step * users.dim, (q * step + 1) * users.dim), q * users.dim);
  const ids = new Int32Array(d.items.size);
  for (let i = 0; i < ids.length; i++) ids[i] = i;
  const { index, report } = buildDenseIndex(ids, items.vectors, items.dim, {
    metric: 'ip',
    recall: { k: 10, queries },
    threads: run.threads,
    onProgress: (done, total) => run.onProgress?.('mf dense index', done, total),
  });
  await saveDenseIndex(w, KEYS.mfItemIndex, index);

  // Item → item: cosine over the embedding part alone (see query/dense-model.ts for the measurement).
  const dim = items.dim - 2;
  const parts = new Float32Array(d.items.size * dim);
  for (let i = 0; i < d.items.size; i++)
    parts.set(items.vectors.subarray(i * items.dim, i * items.dim + dim), i * dim);
  const similar = buildDenseIndex(ids, parts, dim, {
    metric: 'cosine',
    recall: { k: 10, sample: cfg.recallQueries, seed: run.seed },
    threads: run.threads,
    onProgress: (done, total) => run.onProgress?.('mf similar-items index', done, total),
  });
  await saveDenseIndex(w, KEYS.mfItemSimilarIndex, similar.index);
  const summary: MfStageSummary = {
    users: d.users.size,
    items: d.items.size,
    positives: interactions.nnz,
    dim: items.dim,
    fitSeconds,
    dense: report,
    similarDense: similar.report,
  };
  await w.putJson(KEYS.mfMeta, { params: cfg, ...summary });
  return summary;
}
