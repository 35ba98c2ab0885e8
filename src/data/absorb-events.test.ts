// The log folded into a build's dataset must equal the same facts read from files: each relation is compared by
// external ids against a directory holding the files' rows plus the events as rows.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { LoggedRecord } from '../core/event.ts';
import { absorbEvents } from './absorb-events.ts';
import type { Dataset } from './dataset.ts';
import { loadDataset } from './load.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-absorb-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function dirWith(files: Record<string, string>): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function engagementSet(d: Dataset): string[] {
  const e = d.engagements!;
  const out: string[] = [];
  const m = e.matrix;
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++)
      out.push(`${d.users.id(u)} ${d.items.id(m.indices[k])} ${m.values?.[k]} ${e.ts[k]} ${e.action[k]}`);
  return out.sort();
}

function edgeSet(d: Dataset, which: 'follows' | 'topicFollows' | 'itemTags'): string[] {
  const m = d[which];
  if (!m) return [];
  const rowName = (r: number) => (which === 'itemTags' ? d.items.id(r) : d.users.id(r));
  const colName = (c: number) => (which === 'follows' ? d.users.id(c) : d.topics.id(c));
  const out: string[] = [];
  for (let r = 0; r < m.nRows; r++)
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) out.push(`${rowName(r)} ${colName(m.indices[k])}`);
  return out.sort();
}

function authors(d: Dataset): string[] {
  const out: string[] = [];
  for (let i = 0; i < d.items.size; i++)
    out.push(
      `${d.items.id(i)} ${d.itemAuthor[i] < 0 ? '-' : d.users.id(d.itemAuthor[i])} ${d.itemCreatedTs[i]}`,
    );
  return out.sort();
}

const FILES = {
  'follows.csv': 'consumer_id,producer_id\nalice,bob\nalice,carol\nbob,carol\n',
  'items.csv': 'item_id,author_id,created_ts,tags\ni1,bob,100,cats|dogs\ni2,carol,110,dogs\n',
  'engagements.csv': 'user_id,item_id,action,weight,ts\nalice,i1,fav,1,200\nbob,i2,fav,2,210\n',
};

const EVENTS: LoggedRecord[] = [
  { offset: 5, userId: 'alice', action: 'fav', itemId: 'i2', ts: 300, weight: 1 },
  { offset: 6, userId: 'dave', action: 'follow', producerId: 'bob', ts: 301, weight: 1 },
  { offset: 7, userId: 'alice', action: 'unfollow', producerId: 'carol', ts: 302, weight: 1 },
  {
    offset: 8,
    action: 'item_upsert',
    itemId: 'i3',
    authorId: 'erin',
    createdTs: 303,
    tags: ['birds'],
    ts: 303,
  },
  { offset: 9, userId: 'dave', action: 'fav', itemId: 'i3', ts: 304, weight: 3 },
  { offset: 10, userId: 'dave', action: 'click', itemId: 'i1', ts: 305, weight: 1 },
  { offset: 11, userId: 'alice', action: 'unfav', itemId: 'i1', ts: 306, weight: 1 },
  { offset: 12, userId: 'dave', action: 'topic_follow', topic: 'cats', ts: 307, weight: 1 },
  { offset: 13, userId: 'dave', action: 'follow', producerId: 'dave', ts: 308, weight: 1 },
  { offset: 14, userId: 'erin', action: 'share', itemId: 'i2', ts: 309, weight: 1 },
];

test('absorbed events equal the same facts read from files', async () => {
  const base = await loadDataset(dirWith(FILES));
  const { dataset, stats } = absorbEvents(base, EVENTS, 15, { engagementActions: ['share'] });
  const expected = await loadDataset(
    dirWith({
      'follows.csv': 'consumer_id,producer_id\nalice,bob\nbob,carol\ndave,bob\n',
      'items.csv':
        'item_id,author_id,created_ts,tags\ni1,bob,100,cats|dogs\ni2,carol,110,dogs\ni3,erin,303,birds\n',
      'engagements.csv':
        'user_id,item_id,action,weight,ts\nalice,i1,fav,1,200\nbob,i2,fav,2,210\nalice,i2,fav,1,300\n' +
        'dave,i3,fav,3,304\nalice,i1,unfav,1,306\nerin,i2,share,1,309\n',
      'topic_follows.csv': 'user_id,topic\ndave,cats\n',
    }),
  );
  assert.deepEqual(engagementSet(dataset), engagementSet(expected));
  assert.deepEqual(edgeSet(dataset, 'follows'), edgeSet(expected, 'follows'));
  assert.deepEqual(edgeSet(dataset, 'topicFollows'), edgeSet(expected, 'topicFollows'));
  assert.deepEqual(edgeSet(dataset, 'itemTags'), edgeSet(expected, 'itemTags'));
  assert.deepEqual(authors(dataset), authors(expected));
  assert.equal(dataset.dataTime, 309);
  assert.equal(dataset.stats.engagements, 6);
  assert.equal(dataset.stats.unfavEngagements, 1);
  assert.equal(dataset.stats.followEdges, 3);
  // New ids come after the files' ids, in log order.
  assert.deepEqual(dataset.users.idList(), [...base.users.idList(), 'dave', 'erin']);
  assert.deepEqual(dataset.items.idList(), ['i1', 'i2', 'i3']);
  assert.deepEqual(
    { ...stats },
    {
      records: 10,
      fromOffset: 5,
      toOffset: 15,
      engagements: 3,
      unfavs: 1,
      followsAdded: 1,
      followsRemoved: 1,
      topicFollows: 1,
      itemsUpserted: 1,
      itemsDeleted: 0,
      signalsOnly: 1,
    },
  );
  // The input dataset is untouched.
  assert.equal(base.users.size, 3);
  assert.equal(base.engagements!.matrix.nnz, 2);
});

test('a deleted item leaves the version with its engagements and tags; a later upsert brings it back', async () => {
  const base = await loadDataset(dirWith(FILES));
  const del: LoggedRecord[] = [{ offset: 0, action: 'item_delete', itemId: 'i1', ts: 400 }];
  const { dataset } = absorbEvents(base, del, 1);
  assert.deepEqual(dataset.items.idList(), ['i2']);
  assert.deepEqual(engagementSet(dataset), ['bob i2 2 210 0']);
  assert.deepEqual(edgeSet(dataset, 'itemTags'), ['i2 dogs']);
  assert.deepEqual(authors(dataset), ['i2 carol 110']);
  const back = absorbEvents(base, [...del, { offset: 1, action: 'item_upsert', itemId: 'i1', ts: 401 }], 2);
  assert.deepEqual(back.dataset.items.idList(), ['i1', 'i2']);
  assert.deepEqual(authors(back.dataset), authors(base));
});
