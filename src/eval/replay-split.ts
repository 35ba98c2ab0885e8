/**
 * The two halves of a replay (issue 15 item 6): what a build knows at time t (every input before it, written as
 * canonical input files so `simrec build` reads it like any data) and what happens after it, as the event log
 * records a server would have received, in time order.
 *
 * Before t: engagements (and unfavs) with ts < t; items created before t or with no creation time (a catalogue's
 * items exist from the start); all follows and topic follows, since follow edges carry no time once read (a
 * known advantage of the frozen version too, so the comparison stays fair). After t: the later engagements as
 * `fav`/`unfav` events, and each later item's `item_upsert` at its creation time, before any event on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoggedRecord } from '../core/event.ts';
import { ACTION_UNFAV, type Dataset } from '../data/dataset.ts';

export interface ReplaySplit {
  /** The cut (Unix seconds). */
  at: number;
  /** Rows written per file of the "before" directory. */
  before: { follows: number; items: number; engagements: number; topicFollows: number };
  /** The later events, in time order, offsets 0, 1, … */
  records: LoggedRecord[];
  /** Items created at or after the cut (upserted during the replay). */
  laterItems: number;
}

/**
 * The cut that leaves `trainFraction` of the timed engagements before it (the temporal split's rule).
 * @throws RangeError when no engagement has a time
 */
export function replayCut(d: Dataset, trainFraction: number): number {
  const e = d.engagements;
  const ts = e ? e.ts.filter((t) => !Number.isNaN(t)) : new Float64Array(0);
  if (ts.length === 0) throw new RangeError('no engagement has a time');
  ts.sort();
  return ts[Math.min(ts.length - 1, Math.floor(trainFraction * ts.length))];
}

/** Writes the inputs before `at` into `dir` (JSONL, canonical layout) and returns the events after it. */
export function splitForReplay(d: Dataset, at: number, dir: string): ReplaySplit {
  mkdirSync(dir, { recursive: true });
  const lines = (rows: string[]) => (rows.length ? `${rows.join('\n')}\n` : '');
  const later = new Uint8Array(d.items.size);
  const items: string[] = [];
  const upserts: LoggedRecord[] = [];
  const tagsOf = (i: number): string[] => {
    const m = d.itemTags;
    if (!m || i >= m.nRows) return [];
    return Array.from(m.rowIndices(i), (t) => d.topics.id(t));
  };
  for (let i = 0; i < d.items.size; i++) {
    const created = d.itemCreatedTs[i];
    const author = d.itemAuthor[i] >= 0 ? d.users.id(d.itemAuthor[i]) : undefined;
    const tags = tagsOf(i);
    if (created >= at) {
      later[i] = 1;
      upserts.push({
        offset: 0,
        action: 'item_upsert',
        itemId: d.items.id(i),
        ...(author !== undefined ? { authorId: author } : {}),
        createdTs: created,
        ...(tags.length ? { tags } : {}),
        ts: created,
      });
      continue;
    }
    const row: Record<string, unknown> = { item_id: d.items.id(i) };
    if (author !== undefined) row.author_id = author;
    if (!Number.isNaN(created)) row.created_ts = created;
    if (tags.length) row.tags = tags.join('|');
    items.push(JSON.stringify(row));
  }
  const follows: string[] = [];
  if (d.follows)
    for (let u = 0; u < d.follows.nRows; u++)
      for (const p of d.follows.rowIndices(u))
        follows.push(JSON.stringify({ consumer_id: d.users.id(u), producer_id: d.users.id(p) }));
  const topicFollows: string[] = [];
  if (d.topicFollows)
    for (let u = 0; u < d.topicFollows.nRows; u++)
      for (const t of d.topicFollows.rowIndices(u))
        topicFollows.push(JSON.stringify({ user_id: d.users.id(u), topic: d.topics.id(t) }));

  const engagements: string[] = [];
  const events: { record: LoggedRecord; order: number }[] = [];
  const e = d.engagements;
  if (e) {
    const m = e.matrix;
    for (let u = 0; u < m.nRows; u++)
      for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
        const ts = e.ts[k];
        const action = e.action[k] === ACTION_UNFAV ? 'unfav' : 'fav';
        const weight = m.values ? m.values[k] : 1;
        const user = d.users.id(u);
        const item = d.items.id(m.indices[k]);
        if (!(ts >= at)) {
          engagements.push(
            JSON.stringify({
              user_id: user,
              item_id: item,
              action,
              weight,
              ...(Number.isNaN(ts) ? {} : { ts }),
            }),
          );
          continue;
        }
        events.push({ record: { offset: 0, userId: user, action, itemId: item, ts, weight }, order: k });
      }
  }
  // Upserts first at equal times (an item exists before its first engagement), then engagements by time and
  // by their place in the data.
  const all = [...upserts.map((record, order) => ({ record, order: order - upserts.length })), ...events];
  all.sort((a, b) => a.record.ts - b.record.ts || a.order - b.order);
  const records = all.map((x, offset) => ({ ...x.record, offset }));

  // An empty input file is an error to the loader: a file is written only when it has rows.
  if (items.length) writeFileSync(join(dir, 'items.jsonl'), lines(items));
  if (engagements.length) writeFileSync(join(dir, 'engagements.jsonl'), lines(engagements));
  if (follows.length) writeFileSync(join(dir, 'follows.jsonl'), lines(follows));
  if (topicFollows.length) writeFileSync(join(dir, 'topic_follows.jsonl'), lines(topicFollows));
  return {
    at,
    before: {
      follows: follows.length,
      items: items.length,
      engagements: engagements.length,
      topicFollows: topicFollows.length,
    },
    records,
    laterItems: upserts.length,
  };
}
