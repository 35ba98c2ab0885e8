/**
 * Evaluates what is served (`simrec eval --artifacts DIR --test FILE`): a built version answers each test user
 * through the serving path itself — the two-stage recommender (recommend/engine.ts, as GET
 * /v1/users/:userId/recommendations answers with the default strategy and `explore=0`, so the list is
 * deterministic; optionally further strategies of the version, each its own family), SimClusters ANN (ServingModel.candidates, the query POST
 * /v1/candidates/simclusters runs, with the server's default parameters), MF dense candidates
 * (ServingModel.denseCandidates, as POST /v1/candidates/dense) and popularity as the floor — and every family the
 * version holds is measured side by side on the split evaluation's protocol (metrics.ts): the catalogue is the
 * version's items plus the test items it has never seen (cold items, which no family can return), a user's
 * engaged items are their train positives (excluded from their ranking), metrics are averaged over the test users
 * the version knows.
 *
 * The served lists are what is measured, so families that answer with a list (SimClusters, MF) have no AUC; a
 * short list (a user without an InterestedIn embedding gets none) counts as misses, as it would for a caller.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { KEYS } from '../artifacts/keys.ts';
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import type { ServingModel } from '../query/serving-model.ts';
import { Engine, recommend } from '../recommend/engine.ts';
import type { VersionReader } from '../store/store.ts';
import { type EvalReport, flattenMetrics, type ModelMetrics, PROTOCOL_RULES, tiedAt } from './evaluate.ts';
import { itemPopularity, normalizeKs, RankingEvaluator } from './metrics.ts';

/** Test pairs by external id, each distinct pair once, in file order. */
export interface TestPairs {
  file: string;
  pairs: [user: string, item: string][];
  /** Rows that repeated an earlier pair (collapsed). */
  duplicates: number;
}

/**
 * Reads `user_id,item_id` pairs (header required; other columns are ignored, so a canonical engagements file
 * also serves). @throws SimrecError INPUT_MISSING, INPUT_BAD_HEADER, INPUT_BAD_ROW (file and line), INPUT_EMPTY
 */
export async function readTestPairs(file: string): Promise<TestPairs> {
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new SimrecError('INPUT_MISSING', `test file ${file} cannot be read: ${(e as Error).message}`, {
      file,
    });
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let line = 0;
  let userCol = -1;
  let itemCol = -1;
  try {
    for await (const raw of lines) {
      line++;
      const text = raw.trim();
      if (line === 1) {
        const cols = text.split(',').map((c) => c.trim());
        userCol = cols.indexOf('user_id');
        itemCol = cols.indexOf('item_id');
        if (userCol < 0 || itemCol < 0)
          throw new SimrecError(
            'INPUT_BAD_HEADER',
            `expected a header with user_id and item_id, got '${raw}'`,
            { file, line: 1 },
          );
        continue;
      }
      if (text === '') continue;
      const f = text.split(',');
      const user = f[userCol]?.trim() ?? '';
      const item = f[itemCol]?.trim() ?? '';
      if (user === '' || item === '')
        throw new SimrecError('INPUT_BAD_ROW', `empty ${user === '' ? 'user_id' : 'item_id'}`, {
          file,
          line,
          column: user === '' ? 'user_id' : 'item_id',
        });
      const key = `${user}\u0000${item}`;
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      pairs.push([user, item]);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (line === 0)
    throw new SimrecError(
      'INPUT_BAD_HEADER',
      `${file} is empty: expected a header with user_id and item_id`,
      {
        file,
      },
    );
  if (pairs.length === 0)
    throw new SimrecError('INPUT_EMPTY', `test file ${file} has no data rows`, { file });
  return { file, pairs, duplicates };
}

/**
 * The families a version can answer with, under the names the report uses: the two-stage recommender with the
 * default strategy, and the single retrieval families as their routes serve them. A strategy asked for by name
 * is the family `two-stage:<name>`.
 */
export const SERVED_FAMILIES = ['two-stage', 'simclusters-ann', 'mf', 'popularity'] as const;
export type ServedFamily = (typeof SERVED_FAMILIES)[number] | `two-stage:${string}`;

export interface ServedEvalOptions {
  /** Cut-offs (default 5, 10). */
  ks?: readonly number[];
  /**
   * Strategies of the version (its build config's `recommend.strategies`) measured beside the default, each
   * as the family `two-stage:<name>` (e.g. one source alone, with the ranker or without).
   * @throws CONFIG_INVALID naming `strategies` for a name the version does not have
   */
  strategies?: readonly string[];
  /** Called with every list a family served (external item ids, best first), e.g. to compare with HTTP. */
  onList?: (family: ServedFamily, userId: string, items: string[]) => void;
  onProgress?: (stage: string, done: number, total?: number) => void;
}

export interface ServedEvalResult {
  report: EvalReport;
  /** What was left out, each with its count (also in report.served.notes). */
  notes: string[];
}

/** What `report.served` holds beside the metrics. */
export interface ServedInfo {
  version: string;
  families: ServedFamily[];
  /** Families the version does not hold, and why. */
  absent: Record<string, string>;
  clusters: number | null;
  counts: Record<string, number>;
  notes: string[];
}

/**
 * Measures every family `model` (loaded from `reader`) holds on the test pairs. Test users the version does not
 * know cannot be served by id and are left out; test pairs a user already engaged with in the version are dropped
 * (the serving path excludes them, as the split protocol excludes train positives). Both are counted in notes.
 */
export async function evaluateServed(
  reader: VersionReader,
  model: ServingModel,
  test: TestPairs,
  opts: ServedEvalOptions = {},
): Promise<ServedEvalResult> {
  const ks = normalizeKs(opts.ks ?? [5, 10]);
  const maxK = ks[ks.length - 1];
  if (!reader.has(KEYS.engagements))
    throw new SimrecError(
      'ARTIFACT_MISSING',
      `version ${reader.id} keeps no ${KEYS.engagements}: its users' train positives are unknown, so it cannot be evaluated`,
      { field: KEYS.engagements },
    );
  const engaged: CsrMatrix = await reader.csr(KEYS.engagements);
  const nItems = engaged.nCols;

  // Test pairs grouped by known user; items the version lacks get catalogue indices after its own.
  const cold = new Map<string, number>();
  const byUser = new Map<number, { id: string; items: number[] }>();
  const unknownUsers = new Set<string>();
  let unknownUserPairs = 0;
  let overlap = 0;
  for (const [userId, itemId] of test.pairs) {
    const u = lookup(() => model.userIndex(userId));
    if (u < 0 || u >= engaged.nRows) {
      unknownUsers.add(userId);
      unknownUserPairs++;
      continue;
    }
    let i = lookup(() => model.itemIndex(itemId));
    if (i < 0) {
      i = cold.get(itemId) ?? nItems + cold.size;
      cold.set(itemId, i);
    } else if (hasEntry(engaged, u, i)) {
      overlap++;
      continue;
    }
    let entry = byUser.get(u);
    if (!entry) byUser.set(u, (entry = { id: userId, items: [] }));
    entry.items.push(i);
  }
  const catalogue = nItems + cold.size;
  const coldIds = [...cold.keys()];
  const name = (i: number) => (i < nItems ? model.itemId(i) : coldIds[i - nItems]);
  const users = [...byUser.keys()].sort((a, b) => a - b);
  let coldPairs = 0;
  let testPositives = 0;
  // Train popularity over the whole catalogue (cold items: 0), as the split evaluation computes it.
  const trainCatalogue = {
    nRows: engaged.nRows,
    nCols: catalogue,
    indptr: engaged.indptr,
    indices: engaged.indices,
  };
  const popularity = itemPopularity(trainCatalogue);
  const counts = new Float32Array(catalogue);
  for (let k = 0; k < engaged.nnz; k++) counts[engaged.indices[k]]++;
  for (const u of users) {
    // Cold as in the split evaluation: no train positive at all (known to the version or not).
    for (const i of byUser.get(u)!.items) if (counts[i] === 0) coldPairs++;
    testPositives += byUser.get(u)!.items.length;
  }

  const families: ServedFamily[] = ['two-stage'];
  const absent: Record<string, string> = {};
  const known = (await Engine.for(model)).strategies;
  for (const s of opts.strategies ?? []) {
    if (!known.includes(s))
      throw new SimrecError(
        'CONFIG_INVALID',
        `version ${reader.id} has no strategy '${s}' (it has ${known.join(', ')})`,
        { field: 'strategies' },
      );
    if (s !== 'default' && !families.includes(`two-stage:${s}`)) families.push(`two-stage:${s}`);
  }
  if (model.hasItemIndex) families.push('simclusters-ann');
  else absent['simclusters-ann'] = model.hasSimClusters ? 'no item embeddings' : 'built without SimClusters';
  if (model.hasDense) families.push('mf');
  else absent.mf = 'no MF item vectors (built with mf.enabled false)';
  families.push('popularity');

  const models: Record<string, ModelMetrics> = {};
  for (const family of families) {
    const started = performance.now();
    const ev = new RankingEvaluator(catalogue, ks, popularity);
    const tied = new Float64Array(ks.length);
    let empty = 0;
    const scores = family === 'popularity' ? new Float32Array(catalogue) : null;
    for (let n = 0; n < users.length; n++) {
      const u = users[n];
      const { id, items } = byUser.get(u)!;
      const train = engaged.rowIndices(u);
      if (scores) {
        scores.set(counts);
        ev.addUser(scores, train, items);
        opts.onList?.(family, id, Array.from(ev.user.top.subarray(0, ev.user.topLength), name));
        continue;
      }
      const served =
        family === 'simclusters-ann'
          ? (await model.candidates({ userId: id }, { limit: maxK + 1 })).result
          : family === 'mf'
            ? await model.denseCandidates({ userId: id }, { limit: maxK + 1 })
            : await twoStage(model, id, maxK + 1, family === 'two-stage' ? 'default' : family.slice(10));
      // One more than the largest k is asked for, to see whether the k-th place was decided by a tie.
      const list = served.items.subarray(0, maxK);
      if (list.length === 0) empty++;
      for (let q = 0; q < ks.length; q++) if (tiedAt(served.scores, ks[q])) tied[q]++;
      ev.addList(list, items);
      opts.onList?.(
        family,
        id,
        Array.from(list, (i) => model.itemId(i)),
      );
      if ((n & 255) === 0) opts.onProgress?.(`evaluate ${family}`, n, users.length);
    }
    opts.onProgress?.(`evaluate ${family}`, users.length, users.length);
    const metrics = flattenMetrics(
      { full: ev.summary(), sampled: null, evalSeconds: (performance.now() - started) / 1000 },
      Number.NaN,
    );
    if (family !== 'popularity') {
      for (let q = 0; q < ks.length; q++)
        metrics[`tied_top@${ks[q]}`] = users.length > 0 ? tied[q] / users.length : 0;
      metrics.empty_lists = users.length > 0 ? empty / users.length : 0;
    }
    models[family] = metrics;
  }

  const notes: string[] = [];
  if (unknownUsers.size > 0)
    notes.push(
      `${unknownUsers.size} test user(s) unknown to version ${reader.id} left out (${unknownUserPairs} test pair(s))`,
    );
  if (overlap > 0) notes.push(`${overlap} test pair(s) the user already engaged with in the version dropped`);
  if (test.duplicates > 0) notes.push(`${test.duplicates} repeated test pair(s) collapsed`);
  const manifest = reader.manifest;
  const config = (manifest.config ?? {}) as {
    seed?: number;
    threads?: number;
    mf?: { epochs?: number; params?: { components?: number } };
  };
  const served: ServedInfo = {
    version: reader.id,
    families,
    absent,
    clusters: model.hasSimClusters ? model.k : null,
    counts: manifest.counts,
    notes,
  };
  const report: EvalReport & { served: ServedInfo } = {
    dataset: `version ${reader.id}`,
    split: `served, test ${test.file}`,
    protocol: {
      ...PROTOCOL_RULES,
      ks,
      sampledNegatives: null,
      seed: manifest.seed ?? config.seed ?? Number.NaN,
      epochs: config.mf?.epochs ?? Number.NaN,
      dim: model.dense ? model.dense.dim - 2 : Number.NaN,
      threads: config.threads ?? Number.NaN,
    },
    counts: {
      users: engaged.nRows,
      evaluatedUsers: users.length,
      items: catalogue,
      trainPositives: engaged.nnz,
      testPositives,
      coldTestPositives: coldPairs,
      itemFeatures: 0,
    },
    models,
    served,
  };
  return { report, notes };
}

/** The two-stage list as the GET route answers it with `explore=0` (deterministic), as item indices and scores. */
async function twoStage(
  model: ServingModel,
  userId: string,
  limit: number,
  strategy: string,
): Promise<{ items: Int32Array; scores: Float32Array }> {
  const r = await recommend(model, { userId }, { limit, strategy, explore: 0 });
  const items = new Int32Array(r.items.length);
  const scores = new Float32Array(r.items.length);
  for (let j = 0; j < r.items.length; j++) {
    items[j] = model.itemIndex(r.items[j].itemId);
    scores[j] = r.items[j].score;
  }
  return { items, scores };
}

/** A dense index, or −1 when the lookup throws NOT_FOUND. */
function lookup(fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SimrecError && e.code === 'NOT_FOUND') return -1;
    throw e;
  }
}

function hasEntry(m: CsrMatrix, r: number, c: number): boolean {
  const idx = m.indices;
  let lo = m.indptr[r];
  let hi = m.indptr[r + 1];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idx[mid] < c) lo = mid + 1;
    else hi = mid;
  }
  return lo < m.indptr[r + 1] && idx[lo] === c;
}
