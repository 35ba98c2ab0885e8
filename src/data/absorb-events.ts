/**
 * The event log as build input (issue 15 item 5): `simrec build` folds the records a location's log holds into the
 * dataset it read from files, so the next version has learnt what was sent since the last one, and the live overlay
 * of that version only needs what came after. The log is one more input: the same id spaces (new ids are appended
 * in log order after the files' ids, so the order stays deterministic), the same relations, the same data time.
 *
 * - `fav` and the config's engagement actions are positive engagements (weight as sent), `unfav` an unfav
 *   (core/event.ts engagementKind); every other user action is a live signal only. A MovieLens `minRating`
 *   does not apply: an event is an explicit engagement, whatever weight it carries.
 * - `follow`/`unfollow` add and remove follow edges, the latest event of a pair deciding; `topic_follow` adds a
 *   topic follow. Self-follows are dropped as in the files.
 * - `item_upsert` sets an item's author, creation time and tags (replacing the files' tags when it gives tags);
 *   `item_delete` removes the item from the version altogether, with its engagements and tags, so a deleted
 *   item stays deleted once the overlay that hid it is rebased onto the version. A later upsert brings it back.
 */
import { CsrMatrix } from '../core/csr.ts';
import { engagementKind, isItemEvent, type LoggedRecord } from '../core/event.ts';
import { IdMap } from '../core/id-map.ts';
import { countNonEmptyCols, countNonEmptyRows } from './assemble.ts';
import { binaryCsr, csrOrder } from './coo.ts';
import { ACTION_POSITIVE, ACTION_UNFAV, type Dataset, type Engagements } from './dataset.ts';

export interface AbsorbOptions {
  /** Engagement actions the build config declares beyond `fav`. */
  engagementActions?: readonly string[];
}

export interface AbsorbStats {
  records: number;
  /** Offsets absorbed: [from, to) (to = the next offset the overlay must apply). */
  fromOffset: number;
  toOffset: number;
  engagements: number;
  unfavs: number;
  followsAdded: number;
  followsRemoved: number;
  topicFollows: number;
  itemsUpserted: number;
  itemsDeleted: number;
  /** User actions that are live signals only (clicks, impressions, hides). */
  signalsOnly: number;
}

/**
 * The dataset with the records folded in. `records` must be in offset order; `toOffset` is the log's end when it
 * was read (records may be fewer after compaction). The input dataset's id maps are not modified; its `inputs`
 * are kept as they are (the caller, which read the log, describes it).
 */
export function absorbEvents(
  dataset: Dataset,
  records: readonly LoggedRecord[],
  toOffset: number,
  options: AbsorbOptions = {},
): { dataset: Dataset; stats: AbsorbStats } {
  const extra = options.engagementActions ?? [];
  const users = IdMap.from(dataset.users.idList());
  const items = IdMap.from(dataset.items.idList());
  const topics = IdMap.from(dataset.topics.idList());
  const stats: AbsorbStats = {
    records: records.length,
    fromOffset: records.length > 0 ? records[0].offset : toOffset,
    toOffset,
    engagements: 0,
    unfavs: 0,
    followsAdded: 0,
    followsRemoved: 0,
    topicFollows: 0,
    itemsUpserted: 0,
    itemsDeleted: 0,
    signalsOnly: 0,
  };

  // Pass 1: intern every id in log order and collect the relations' new entries as coordinates.
  const eUser: number[] = [];
  const eItem: number[] = [];
  const eWeight: number[] = [];
  const eTs: number[] = [];
  const eAction: number[] = [];
  /** Follow pair → whether its latest event follows. Keyed by `u p`, built once per pair, not per entry. */
  const followState = new Map<string, { u: number; p: number; on: boolean }>();
  const tfUser: number[] = [];
  const tfTopic: number[] = [];
  const upserts = new Map<number, { author?: number; createdTs?: number; tags?: number[] }>();
  const deleted = new Set<number>();
  let maxEngagementTs = Number.NaN;
  for (const r of records) {
    if (isItemEvent(r)) {
      const i = items.intern(r.itemId);
      if (r.action === 'item_delete') {
        deleted.add(i);
        upserts.delete(i);
        stats.itemsDeleted++;
        continue;
      }
      deleted.delete(i);
      const u = upserts.get(i) ?? {};
      if (r.authorId !== undefined) u.author = users.intern(r.authorId);
      if (r.createdTs !== undefined) u.createdTs = r.createdTs;
      if (r.tags !== undefined) u.tags = r.tags.map((t) => topics.intern(t));
      upserts.set(i, u);
      stats.itemsUpserted++;
      continue;
    }
    const u = users.intern(r.userId);
    const kind = r.itemId !== undefined ? engagementKind(r.action, extra) : null;
    if (kind !== null && r.itemId !== undefined) {
      eUser.push(u);
      eItem.push(items.intern(r.itemId));
      eWeight.push(r.weight);
      eTs.push(r.ts);
      eAction.push(kind === 'unfav' ? ACTION_UNFAV : ACTION_POSITIVE);
      if (kind === 'unfav') stats.unfavs++;
      else stats.engagements++;
      if (!(r.ts <= maxEngagementTs)) maxEngagementTs = r.ts;
    } else if ((r.action === 'follow' || r.action === 'unfollow') && r.producerId !== undefined) {
      const p = users.intern(r.producerId);
      if (p === u) continue;
      const key = `${u} ${p}`;
      const on = r.action === 'follow';
      const s = followState.get(key);
      if (s) s.on = on;
      else followState.set(key, { u, p, on });
    } else if (r.action === 'topic_follow' && r.topic !== undefined) {
      tfUser.push(u);
      tfTopic.push(topics.intern(r.topic));
      stats.topicFollows++;
    } else {
      stats.signalsOnly++;
    }
  }

  // Items: the kept ones in their order; a deleted item leaves the id space.
  const nItemsAll = items.size;
  const newItem = new Int32Array(nItemsAll).fill(-1);
  const kept: string[] = [];
  for (let i = 0; i < nItemsAll; i++) {
    if (deleted.has(i)) continue;
    newItem[i] = kept.length;
    kept.push(items.id(i));
  }
  const finalItems = deleted.size > 0 ? IdMap.from(kept) : items;
  const nItems = finalItems.size;
  const nUsers = users.size;
  const nTopics = topics.size;

  const itemAuthor = new Int32Array(nItems).fill(-1);
  const itemCreatedTs = new Float64Array(nItems).fill(Number.NaN);
  for (let i = 0; i < dataset.itemAuthor.length; i++) {
    const j = newItem[i];
    if (j < 0) continue;
    itemAuthor[j] = dataset.itemAuthor[i];
    itemCreatedTs[j] = dataset.itemCreatedTs[i];
  }
  for (const [i, u] of upserts) {
    const j = newItem[i];
    if (u.author !== undefined) itemAuthor[j] = u.author;
    if (u.createdTs !== undefined) itemCreatedTs[j] = u.createdTs;
  }

  const engagements = mergeEngagements(dataset.engagements, newItem, nUsers, nItems, {
    user: eUser,
    item: eItem,
    weight: eWeight,
    ts: eTs,
    action: eAction,
  });

  let follows = dataset.follows;
  if (followState.size > 0 || (follows && follows.nRows !== nUsers)) {
    const rows: number[] = [];
    const cols: number[] = [];
    if (follows)
      for (let u = 0; u < follows.nRows; u++)
        for (let k = follows.indptr[u]; k < follows.indptr[u + 1]; k++) {
          const p = follows.indices[k];
          const s = followState.get(`${u} ${p}`);
          if (s && !s.on) {
            stats.followsRemoved++;
            continue;
          }
          rows.push(u);
          cols.push(p);
        }
    for (const s of followState.values()) {
      if (!s.on || (follows && s.u < follows.nRows && follows.get(s.u, s.p) !== 0)) continue;
      rows.push(s.u);
      cols.push(s.p);
      stats.followsAdded++;
    }
    follows = binaryCsr(Int32Array.from(rows), Int32Array.from(cols), nUsers, nUsers).matrix;
  }

  const itemTags = mergeItemTags(dataset.itemTags, newItem, upserts, nItems, nTopics);

  let topicFollows = dataset.topicFollows;
  if (
    tfUser.length > 0 ||
    (topicFollows && (topicFollows.nRows !== nUsers || topicFollows.nCols !== nTopics))
  ) {
    const rows: number[] = [];
    const cols: number[] = [];
    if (topicFollows)
      for (let u = 0; u < topicFollows.nRows; u++)
        for (let k = topicFollows.indptr[u]; k < topicFollows.indptr[u + 1]; k++) {
          rows.push(u);
          cols.push(topicFollows.indices[k]);
        }
    rows.push(...tfUser);
    cols.push(...tfTopic);
    topicFollows = binaryCsr(Int32Array.from(rows), Int32Array.from(cols), nUsers, nTopics).matrix;
  }

  const dataTime =
    Number.isNaN(maxEngagementTs) || (dataset.dataTime !== null && dataset.dataTime >= maxEngagementTs)
      ? dataset.dataTime
      : maxEngagementTs;
  let unfav = 0;
  if (engagements) for (let k = 0; k < engagements.action.length; k++) unfav += engagements.action[k];
  const nnz = engagements ? engagements.matrix.nnz : 0;
  return {
    dataset: {
      ...dataset,
      dataTime,
      users,
      items: finalItems,
      topics,
      follows,
      engagements,
      itemAuthor,
      itemCreatedTs,
      itemTags,
      topicFollows,
      stats: {
        ...dataset.stats,
        users: nUsers,
        consumers: follows ? countNonEmptyRows(follows) : 0,
        producers: follows ? countNonEmptyCols(follows) : 0,
        followEdges: follows ? follows.nnz : 0,
        items: nItems,
        engagements: nnz,
        positiveEngagements: nnz - unfav,
        unfavEngagements: unfav,
        engagingUsers: engagements ? countNonEmptyRows(engagements.matrix) : 0,
        engagedItems: engagements ? countNonEmptyCols(engagements.matrix) : 0,
        topics: nTopics,
        topicFollows: topicFollows ? topicFollows.nnz : 0,
        itemTags: itemTags ? itemTags.nnz : 0,
        maxTs:
          Number.isNaN(maxEngagementTs) || dataset.stats.maxTs >= maxEngagementTs
            ? dataset.stats.maxTs
            : maxEngagementTs,
      },
    },
    stats,
  };
}

interface NewEngagements {
  user: number[];
  item: number[];
  weight: number[];
  ts: number[];
  action: number[];
}

/** The files' engagements (items renumbered, deleted ones dropped) then the log's, in CSR order. */
function mergeEngagements(
  old: Engagements | null,
  newItem: Int32Array,
  nUsers: number,
  nItems: number,
  add: NewEngagements,
): Engagements | null {
  const nOld = old ? old.matrix.nnz : 0;
  if (!old && add.user.length === 0) return null;
  const n = nOld + add.user.length;
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  const w = new Float32Array(n);
  const ts = new Float64Array(n);
  const action = new Uint8Array(n);
  if (old) {
    const m = old.matrix;
    for (let u = 0; u < m.nRows; u++)
      for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
        const j = newItem[m.indices[k]];
        rows[k] = j < 0 ? -1 : u;
        cols[k] = j;
        w[k] = m.values ? m.values[k] : 1;
        ts[k] = old.ts[k];
        action[k] = old.action[k];
      }
  }
  for (let e = 0; e < add.user.length; e++) {
    const k = nOld + e;
    const j = newItem[add.item[e]];
    rows[k] = j < 0 ? -1 : add.user[e];
    cols[k] = j;
    w[k] = add.weight[e];
    ts[k] = add.ts[e];
    action[k] = add.action[e];
  }
  const { order, indptr, indices } = csrOrder(rows, cols, nUsers);
  const values = new Float32Array(order.length);
  const outTs = new Float64Array(order.length);
  const outAction = new Uint8Array(order.length);
  for (let k = 0; k < order.length; k++) {
    values[k] = w[order[k]];
    outTs[k] = ts[order[k]];
    outAction[k] = action[order[k]];
  }
  return { matrix: new CsrMatrix(nUsers, nItems, indptr, indices, values), ts: outTs, action: outAction };
}

/** The files' tags (renumbered), an upsert's tags replacing an item's. */
function mergeItemTags(
  old: CsrMatrix | null,
  newItem: Int32Array,
  upserts: ReadonlyMap<number, { tags?: number[] }>,
  nItems: number,
  nTopics: number,
): CsrMatrix | null {
  let replaced = false;
  for (const u of upserts.values()) if (u.tags !== undefined) replaced = true;
  if (!old && !replaced) return null;
  if (old && !replaced && old.nRows === nItems && old.nCols === nTopics && newItem.length === old.nRows) {
    let identity = true;
    for (let i = 0; i < old.nRows && identity; i++) identity = newItem[i] === i;
    if (identity) return old;
  }
  const rows: number[] = [];
  const cols: number[] = [];
  if (old)
    for (let i = 0; i < old.nRows; i++) {
      const j = newItem[i];
      if (j < 0 || upserts.get(i)?.tags !== undefined) continue;
      for (let k = old.indptr[i]; k < old.indptr[i + 1]; k++) {
        rows.push(j);
        cols.push(old.indices[k]);
      }
    }
  for (const [i, u] of upserts)
    if (u.tags !== undefined)
      for (const t of u.tags) {
        rows.push(newItem[i]);
        cols.push(t);
      }
  return binaryCsr(Int32Array.from(rows), Int32Array.from(cols), nItems, nTopics).matrix;
}
