/**
 * The build's ranker stage (issue 16 item 4): a logistic ranker trained on examples that look like serving.
 *
 * 1. Time split of the engagement log: the state cut t₁ (`trainFraction` of the timed engagements before it)
 *    and the hold-out cut t₂ (`holdoutFraction` of them at or after it).
 * 2. The pre-split state: the same stages over the engagements before t₁ (InterestedIn, producer, item and topic
 *    embeddings, the cluster indexes; MF when enabled), written to a temporary store and loaded as a
 *    ServingModel, so candidates come from the engine's own sources. The communities (similarity, KnownFor) are
 *    the build's own: their cluster ids are then the ones the ranker's cluster features meet at serving, and
 *    the two most expensive SimClusters stages are not run twice. In the social case they come from follows,
 *    which carry no time; in the catalogue case the held-out co-engagements shape the item clusters (not who
 *    engaged with what), a leak the report's figures include.
 * 3. For sampled users with an engagement in [t₁, t₂) (training) or at or after t₂ (evaluation): the
 *    candidates of the config's default strategy, the engine's features (recommend/features.ts, the module
 *    serving uses), labelled 1 when the user engaged with the item in the window, else 0 (the data carries no
 *    impressions; candidates not engaged with are the negatives). Items created after t₁ did not exist yet
 *    and are not candidates. Training keeps every positive and a seeded sample of the negatives, each sampled
 *    negative weighted by (negatives / sampled) so the weighted data is the candidates' own distribution and
 *    the calibrated probabilities mean what they say at serving; evaluation keeps every candidate.
 * 4. trainLogistic with class weights ('balanced') and L2; logloss, AUC, ECE and a reliability table on the
 *    held-out slice, beside the AUC of the reciprocal-rank fusion the engine uses without a ranker.
 * 5. The model and its report are stored in the version (artifacts/ranker.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeInputs } from '../artifacts/inputs.ts';
import { writeRanker } from '../artifacts/ranker.ts';
import { CsrMatrix } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import { ACTION_POSITIVE, type Dataset } from '../data/dataset.ts';
import { ServingModel } from '../query/serving-model.ts';
import { ExampleSet } from '../ranking/examples.ts';
import { FeatureSpec, FeatureVector } from '../ranking/hashing.ts';
import { trainLogistic } from '../ranking/logistic.ts';
import { auc, calibration, logloss, type ReliabilityBin } from '../ranking/metrics.ts';
import { generateCandidates } from '../recommend/candidates.ts';
import { Engine } from '../recommend/engine.ts';
import { FEATURES, userFeatures } from '../recommend/features.ts';
import { strategiesOf } from '../recommend/strategy.ts';
import { resolveSubject } from '../recommend/subject.ts';
import type { SimClustersInput } from '../simclusters/pipeline.ts';
import { openArtifactStore } from '../store/open.ts';
import type { VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
import { mfStage } from './mf-stage.ts';
import { simclustersStage } from './simclusters-stage.ts';

export interface RankerStageConfig {
  enabled: boolean;
  trainFraction: number;
  holdoutFraction: number;
  trainUsers: number;
  evalUsers: number;
  negativesPerUser: number;
  l2: number;
  bits: number;
  maxIterations: number;
}

export interface RankerReport {
  cuts: { state: number; holdout: number };
  users: { train: number; eval: number };
  train: { examples: number; positives: number; negatives: number; iterations: number; converged: boolean };
  eval: {
    examples: number;
    positives: number;
    logloss: number;
    auc: number;
    /** AUC of the sources' reciprocal-rank fusion on the same examples (what serving uses without a ranker). */
    fusionAuc: number;
    ece: number;
    reliability: ReliabilityBin[];
  };
  /** Positives of the windows the candidates contained, over all positives of the sampled users. */
  candidateRecall: { train: number; eval: number };
  seconds: { state: number; examples: number; fit: number };
}

/** Why the stage cannot train on this data, or null. */
export function rankerSkipReason(d: Dataset, cfg: RankerStageConfig): string | null {
  const e = d.engagements;
  if (!e) return 'no engagements';
  let timed = 0;
  for (let j = 0; j < e.ts.length; j++) if (!Number.isNaN(e.ts[j])) timed++;
  if (timed < 100) return `${timed} timed engagements (the time split needs at least 100)`;
  if (!(cfg.trainFraction + cfg.holdoutFraction < 1)) return 'trainFraction + holdoutFraction must be < 1';
  return null;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))];
}

/** The dataset as it was before t: engagements with ts < t (untimed ones kept), data time t. */
export function datasetBefore(d: Dataset, t: number): Dataset {
  const e = d.engagements!;
  const m = e.matrix;
  const indptr = new Int32Array(m.nRows + 1);
  let n = 0;
  for (let u = 0; u < m.nRows; u++) {
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) if (!(e.ts[j] >= t)) n++;
    indptr[u + 1] = n;
  }
  const indices = new Int32Array(n);
  const values = m.values ? new Float32Array(n) : null;
  const ts = new Float64Array(n);
  const action = new Uint8Array(n);
  let w = 0;
  for (let j = 0; j < m.nnz; j++) {
    if (e.ts[j] >= t) continue;
    indices[w] = m.indices[j];
    if (values && m.values) values[w] = m.values[j];
    ts[w] = e.ts[j];
    action[w] = e.action[j];
    w++;
  }
  return {
    ...d,
    engagements: { matrix: new CsrMatrix(m.nRows, m.nCols, indptr, indices, values), ts, action },
    stats: { ...d.stats, engagements: n },
    dataTime: t,
  };
}

/**
 * Runs the stage on a build's dataset and config, storing the model into `out`; `communities` are the build's
 * similarity and KnownFor, which the pre-split state reuses. Returns the report.
 */
export async function rankerStage(
  d: Dataset,
  config: BuildConfig,
  out: VersionWriter,
  communities: SimClustersInput['communities'],
): Promise<RankerReport> {
  const cfg = config.ranker;
  const e = d.engagements!;
  const sorted = e.ts.filter((t) => !Number.isNaN(t)).sort();
  const t1 = quantile(sorted, cfg.trainFraction);
  const t2 = quantile(sorted, 1 - cfg.holdoutFraction);
  const t0 = performance.now();

  const work = mkdtempSync(join(tmpdir(), 'simrec-ranker-'));
  const store = openArtifactStore(join(work, 'state'));
  try {
    const pre = datasetBefore(d, t1);
    const writer = await store.createVersion();
    try {
      await writeInputs(writer, pre);
      if (config.simclusters.enabled)
        await simclustersStage(pre, stateConfig(config, t1), writer, {
          dataDir: work,
          communities,
        });
      if (config.mf.enabled)
        // No dense indexes: the state's dense candidates come from an exact scan of the same vectors.
        await mfStage(pre, config.mf, writer, { seed: config.seed, threads: config.threads, indexes: false });
      await writer.commit({ seed: config.seed, config, dataTime: t1 });
    } catch (err) {
      await writer.abort().catch(() => {});
      throw err;
    }
    const reader = await store.openVersion(undefined, { verify: false });
    try {
      const model = await ServingModel.load(reader);
      const stateSeconds = (performance.now() - t0) / 1000;
      const r = await examples(model, d, cfg, config, t1, t2);
      const t3 = performance.now();
      const { model: ranker, report } = trainLogistic(r.spec, r.train, {
        l2: cfg.l2,
        positiveWeight: 'balanced',
        maxIterations: cfg.maxIterations,
      });
      const fit = (performance.now() - t3) / 1000;
      const preds = new Float64Array(r.eval.length);
      const v = new FeatureVector();
      for (let i = 0; i < r.eval.length; i++) {
        v.clear();
        for (let j = r.eval.offsets[i]; j < r.eval.offsets[i + 1]; j++)
          v.push(r.eval.slots[j], r.eval.values[j], 0);
        preds[i] = ranker.predict(v);
      }
      const labels = r.eval.labels.subarray(0, r.eval.length);
      const cal = calibration(labels, preds, 10);
      const summary: RankerReport = {
        cuts: { state: t1, holdout: t2 },
        users: { train: r.trainUsers, eval: r.evalUsers },
        train: {
          examples: report.examples,
          positives: report.positives,
          negatives: report.negatives,
          iterations: report.iterations,
          converged: report.converged,
        },
        eval: {
          examples: r.eval.length,
          positives: r.eval.counts().positives,
          logloss: logloss(labels, preds),
          auc: auc(labels, preds),
          fusionAuc: auc(labels, r.evalFusion.subarray(0, r.eval.length)),
          ece: cal.ece,
          reliability: cal.table,
        },
        candidateRecall: r.recall,
        seconds: { state: stateSeconds, examples: r.seconds, fit },
      };
      await writeRanker(out, ranker, { ...summary, training: report, spec: r.spec.toJSON() });
      return summary;
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The SimClusters config of the pre-split state: decayed to t₁ like a build whose data ends there. */
function stateConfig(config: BuildConfig, t: number): BuildConfig {
  const sc = config.simclusters;
  return {
    ...config,
    simclusters: {
      ...sc,
      interestedIn: { ...sc.interestedIn, now: sc.interestedIn?.now ?? t },
      itemEmbeddings: { ...sc.itemEmbeddings, now: sc.itemEmbeddings?.now ?? t },
      topicEmbeddings: { ...sc.topicEmbeddings, now: sc.topicEmbeddings?.now ?? t },
    },
  };
}

interface Examples {
  spec: FeatureSpec;
  train: ExampleSet;
  eval: ExampleSet;
  evalFusion: Float64Array;
  trainUsers: number;
  evalUsers: number;
  recall: { train: number; eval: number };
  seconds: number;
}

/** Users with a positive engagement in [from, to), and their positives there (user → items). */
function windowPositives(d: Dataset, from: number, to: number): Map<number, Set<number>> {
  const e = d.engagements!;
  const m = e.matrix;
  const out = new Map<number, Set<number>>();
  for (let u = 0; u < m.nRows; u++)
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) {
      const t = e.ts[j];
      if (!(t >= from && t < to) || e.action[j] !== ACTION_POSITIVE) continue;
      let s = out.get(u);
      if (!s) out.set(u, (s = new Set()));
      s.add(m.indices[j]);
    }
  return out;
}

function sample(users: number[], n: number, rng: Rng): number[] {
  const a = users.slice();
  for (let j = 0; j < Math.min(n, a.length); j++) {
    const r = j + rng.int(a.length - j);
    [a[j], a[r]] = [a[r], a[j]];
  }
  return a.slice(0, n).sort((x, y) => x - y);
}

async function examples(
  model: ServingModel,
  d: Dataset,
  cfg: RankerStageConfig,
  config: BuildConfig,
  t1: number,
  t2: number,
): Promise<Examples> {
  const t0 = performance.now();
  const spec = new FeatureSpec({ ...FEATURES, bits: cfg.bits });
  const engine = await Engine.for(model, spec);
  const strategy = strategiesOf(config).get('default')!;
  const rng = new Rng(`${config.seed}:ranker`);
  const trainPos = windowPositives(d, t1, t2);
  const evalPos = windowPositives(d, t2, Number.POSITIVE_INFINITY);
  const trainUsers = sample([...trainPos.keys()], cfg.trainUsers, rng);
  const evalUsers = sample([...evalPos.keys()], cfg.evalUsers, rng);
  const train = new ExampleSet(4096, 40);
  const evalSet = new ExampleSet(4096, 40);
  let evalFusion: Float64Array = new Float64Array(4096);
  const recall = { train: 0, eval: 0 };
  const created = d.itemCreatedTs;
  const m = engine.merger;
  const h = engine.hydrator;
  const negatives: number[] = [];
  for (const [role, users, positives] of [
    ['train', trainUsers, trainPos],
    ['eval', evalUsers, evalPos],
  ] as const) {
    let found = 0;
    let total = 0;
    for (const u of users) {
      const pos = positives.get(u)!;
      // At t₂ the training window is known: its engagements are not evaluation candidates.
      const known = role === 'eval' ? trainPos.get(u) : undefined;
      const state = await resolveSubject(model, engine.data, { userId: model.userId(u) });
      const [lists, user] = await Promise.all([
        generateCandidates(model, engine.data, state, strategy),
        userFeatures(model, state),
      ]);
      // From here to the end of the user: synchronous (the engine's buffers).
      engine.merge(lists);
      h.setUser(user);
      total += pos.size;
      negatives.length = 0;
      for (let e = 0; e < m.size; e++) {
        const i = m.items[e];
        if (i < created.length && created[i] > t1) continue;
        if (known?.has(i)) continue;
        if (pos.has(i)) {
          found++;
          const v = h.build(i, m, e, t1);
          if (role === 'train') train.add(v, 1);
          else {
            if (evalSet.length === evalFusion.length) evalFusion = grow(evalFusion);
            evalFusion[evalSet.length] = m.fused[e];
            evalSet.add(v, 1);
          }
        } else negatives.push(e);
      }
      if (role === 'train') {
        const keep = Math.min(cfg.negativesPerUser, negatives.length);
        const weight = keep > 0 ? negatives.length / keep : 1;
        for (let j = 0; j < keep; j++) {
          const r = j + rng.int(negatives.length - j);
          [negatives[j], negatives[r]] = [negatives[r], negatives[j]];
          const e = negatives[j];
          train.add(h.build(m.items[e], m, e, t1), 0, weight);
        }
      } else
        for (const e of negatives) {
          if (evalSet.length === evalFusion.length) evalFusion = grow(evalFusion);
          evalFusion[evalSet.length] = m.fused[e];
          evalSet.add(h.build(m.items[e], m, e, t1), 0);
        }
      h.clearUser();
    }
    recall[role] = total > 0 ? found / total : 0;
  }
  return {
    spec,
    train,
    eval: evalSet,
    evalFusion,
    trainUsers: trainUsers.length,
    evalUsers: evalUsers.length,
    recall,
    seconds: (performance.now() - t0) / 1000,
  };
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
