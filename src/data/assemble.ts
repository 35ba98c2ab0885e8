/**
 * The shared back half of every loader: run planned reads (each file's query started while the previous
 * result is still being copied out, on a second connection, so parsing and copying overlap), then assemble
 * the Dataset's matrices and counts from what the readers produced.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { binaryCsr, csrOrder } from './coo.ts';
import type { Dataset, DatasetStats, Engagements, InputFileInfo, LoadOptions } from './dataset.ts';
import type { Duck } from './duckdb.ts';
import type { InputFile } from './inputs.ts';
import type { StringInterner } from './interner.ts';
import {
  BadRows,
  finishRead,
  type PendingRead,
  type ReadRequest,
  type ReadResult,
  startRead,
} from './readers.ts';
import { type InputProblem, problemsError } from './validate.ts';

/** Where readers put problems: a job throws on fatal ones, validate collects everything. */
export interface ProblemSink {
  addFatal(...ps: InputProblem[]): void;
  addBadRows(ps: InputProblem[], total: number): void;
}

/** One file to read, planned: its request and its kind (an input kind, or e.g. a split's 'train'). */
export interface FilePlan {
  kind: string;
  file: InputFile;
  req: ReadRequest;
  required: boolean;
}

/** What the readers produced, by kind, and the id spaces they share. */
export interface Parts {
  users: StringInterner;
  items: StringInterner;
  topics: StringInterner;
  results: Map<string, { plan: FilePlan; result: ReadResult }>;
}

/**
 * Runs the reads in order, each query started while the previous result is being copied out. `afterFirstQuery`
 * runs once DuckDB has finished the first query, when a core is free for side work (checksums).
 */
export async function runPlans(
  duck: Duck,
  plans: readonly FilePlan[],
  parts: Parts,
  log: ProblemSink,
  afterFirstQuery?: () => void,
): Promise<void> {
  if (plans.length === 0) return;
  const conns = [duck.conn, plans.length > 1 ? await duck.connect() : duck.conn];
  const pending: (PendingRead | undefined)[] = [];
  try {
    pending[0] = startRead(conns[0], plans[0].req);
    await pending[0].result.catch(() => {});
    afterFirstQuery?.();
    for (let i = 0; i < plans.length; i++) {
      if (i + 1 < plans.length) pending[i + 1] = startRead(conns[(i + 1) % 2], plans[i + 1].req);
      const plan = plans[i];
      try {
        const result = await finishRead(pending[i]!);
        pending[i] = undefined;
        if (result.badRows > 0) log.addBadRows(result.problems, result.badRows);
        parts.results.set(plan.kind, { plan, result });
      } catch (e) {
        pending[i] = undefined;
        if (e instanceof BadRows) {
          // A job stops here; validate never gets here (it always skips).
          throw problemsError(e.problems, e.total);
        }
        if (e instanceof SimrecError) {
          log.addFatal({ code: inputCode(e.code), file: plan.file.path, reason: e.message });
          continue;
        }
        throw e;
      }
    }
  } finally {
    // A query still running when the load stops must end before its database is closed.
    for (const p of pending) {
      if (!p) continue;
      p.conn.interrupt();
      await p.result.catch(() => {});
    }
  }
}

/** Assembles the Dataset from what the readers produced. */
export function buildDataset(
  format: 'canonical' | 'movielens',
  parts: Parts,
  inputs: InputFileInfo[],
  opts: LoadOptions,
): Dataset {
  const nUsers = parts.users.size;
  const nItems = parts.items.size;
  const nTopics = parts.topics.size;
  opts.onProgress?.('build matrices', 0, 4);
  let minTs = Number.NaN;
  let maxTs = Number.NaN;
  const range = (r: ReadResult) => {
    if (!Number.isNaN(r.minTs) && !(r.minTs >= minTs)) minTs = r.minTs;
    if (!Number.isNaN(r.maxTs) && !(r.maxTs <= maxTs)) maxTs = r.maxTs;
  };

  let follows: CsrMatrix | null = null;
  let duplicateFollowsMerged = 0;
  let selfFollowsDropped = 0;
  const f = parts.results.get('follows')?.result;
  if (f) {
    range(f);
    const rows = f.ids.get('consumer_id')!;
    const cols = f.ids.get('producer_id')!;
    for (let k = 0; k < f.rows; k++) {
      if (rows[k] === cols[k]) {
        rows[k] = -1;
        selfFollowsDropped++;
      }
    }
    const built = binaryCsr(rows, cols, nUsers, nUsers);
    follows = built.matrix;
    duplicateFollowsMerged = built.merged;
  }
  opts.onProgress?.('build matrices', 1, 4);

  const itemAuthor = new Int32Array(nItems).fill(-1);
  const itemCreatedTs = new Float64Array(nItems).fill(Number.NaN);
  let itemTags: CsrMatrix | null = null;
  const it = parts.results.get('items')?.result;
  if (it) {
    range(it);
    const item = it.ids.get('item_id')!;
    const author = it.ids.get('author_id');
    const created = it.time;
    // Later rows of the same item override earlier ones where they give a value.
    for (let r = 0; r < it.rows; r++) {
      if (author && author[r] >= 0) itemAuthor[item[r]] = author[r];
      if (created && !Number.isNaN(created[r])) itemCreatedTs[item[r]] = created[r];
    }
    if (it.tags) {
      const { ptr, topics } = it.tags;
      const rows = new Int32Array(topics.length);
      for (let r = 0; r < it.rows; r++) rows.fill(item[r], ptr[r], ptr[r + 1]);
      itemTags = binaryCsr(rows, topics, nItems, nTopics).matrix;
    }
  }
  opts.onProgress?.('build matrices', 2, 4);

  let engagements: Engagements | null = null;
  const e = parts.results.get('engagements')?.result;
  let unfav = 0;
  if (e) {
    range(e);
    const minRating = format === 'movielens' ? (opts.minRating ?? 0) : 0;
    ({ engagements, unfav } = buildEngagements(e, nUsers, nItems, minRating));
  }
  opts.onProgress?.('build matrices', 3, 4);

  let topicFollows: CsrMatrix | null = null;
  const tf = parts.results.get('topic_follows')?.result;
  if (tf) topicFollows = binaryCsr(tf.ids.get('user_id')!, tf.ids.get('topic')!, nUsers, nTopics).matrix;
  opts.onProgress?.('build matrices', 4, 4);

  const stats: DatasetStats = {
    users: nUsers,
    consumers: follows ? countNonEmptyRows(follows) : 0,
    producers: follows ? countNonEmptyCols(follows) : 0,
    followEdges: follows ? follows.nnz : 0,
    duplicateFollowsMerged,
    selfFollowsDropped,
    items: nItems,
    engagements: engagements ? engagements.matrix.nnz : 0,
    positiveEngagements: engagements ? engagements.matrix.nnz - unfav : 0,
    unfavEngagements: unfav,
    engagingUsers: engagements ? countNonEmptyRows(engagements.matrix) : 0,
    engagedItems: engagements ? countNonEmptyCols(engagements.matrix) : 0,
    topics: nTopics,
    topicFollows: topicFollows ? topicFollows.nnz : 0,
    itemTags: itemTags ? itemTags.nnz : 0,
    minTs,
    maxTs,
  };
  const engagementsTime = e && !Number.isNaN(e.maxTs) ? e.maxTs : Number.NaN;
  const latest = Number.isNaN(engagementsTime) ? maxTs : engagementsTime;
  return {
    format,
    dataTime: Number.isNaN(latest) ? null : latest,
    users: parts.users.toIdMap(),
    items: parts.items.toIdMap(),
    topics: parts.topics.toIdMap(),
    follows,
    engagements,
    itemAuthor,
    itemCreatedTs,
    itemTags,
    topicFollows,
    inputs,
    stats,
  };
}

export function countNonEmptyRows(m: CsrMatrix): number {
  let n = 0;
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r + 1] > m.indptr[r]) n++;
  return n;
}

export function countNonEmptyCols(m: CsrMatrix): number {
  const seen = new Uint8Array(m.nCols);
  let n = 0;
  for (let k = 0; k < m.nnz; k++) {
    const c = m.indices[k];
    if (!seen[c]) {
      seen[c] = 1;
      n++;
    }
  }
  return n;
}

/**
 * Engagements from a read: CSR by user, each row sorted by item with repeats in file order, and ts/action
 * aligned with the entries. Rows with weight < minRating are left out (MovieLens; 0 keeps all).
 */
export function buildEngagements(
  e: ReadResult,
  nUsers: number,
  nItems: number,
  minRating = 0,
): { engagements: Engagements; unfav: number } {
  let users = e.ids.get('user_id')!;
  if (minRating > 0 && e.weight) {
    const w = e.weight;
    users = users.slice();
    for (let k = 0; k < users.length; k++) if (!(w[k] >= minRating)) users[k] = -1;
  }
  const { order, indptr, indices } = csrOrder(users, e.ids.get('item_id')!, nUsers);
  const nnz = order.length;
  const values = new Float32Array(nnz);
  const ts = new Float64Array(nnz);
  const action = new Uint8Array(nnz);
  let unfav = 0;
  for (let k = 0; k < nnz; k++) {
    const src = order[k];
    values[k] = e.weight ? e.weight[src] : 1;
    ts[k] = e.time ? e.time[src] : Number.NaN;
    const a = e.action ? e.action[src] : 0;
    action[k] = a;
    unfav += a;
  }
  return {
    engagements: { matrix: new CsrMatrix(nUsers, nItems, indptr, indices, values), ts, action },
    unfav,
  };
}

/** The input problem code closest to an error code. */
export function inputCode(code: string): InputProblem['code'] {
  return code === 'INPUT_MISSING' ||
    code === 'INPUT_EMPTY' ||
    code === 'INPUT_BAD_HEADER' ||
    code === 'INPUT_BAD_ROW'
    ? code
    : 'INPUT_FORMAT';
}
