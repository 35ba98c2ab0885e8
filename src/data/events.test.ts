import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EVENT_LIMITS,
  validateEvent,
  validateEvents,
  validateEventsBatch,
  validateItemDelete,
  validateItemUpsert,
} from './events.ts';

const NOW = 1_700_000_000;
const opts = { receiveTime: NOW };

/** Asserts fn throws CONFIG_INVALID naming `field`, and that the message contains `words`. */
function rejects(fn: () => unknown, field: string, words: string): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code: string; detail: { field?: string }; message: string };
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.detail.field, field);
    assert.ok(err.message.startsWith(field), err.message);
    assert.ok(err.message.includes(words), `${err.message} lacks ${words}`);
    return true;
  });
}

const fav = { userId: 'u1', action: 'fav', itemId: 'i1' };

test('a valid batch gets its defaults: ts the receive time, weight 1; given values are kept', () => {
  const out = validateEventsBatch(
    {
      events: [
        fav,
        { eventId: 'e2', userId: 'u2', action: 'follow', producerId: 'p', ts: NOW - 60, weight: 2.5 },
        { userId: 'u3', action: 'topic_follow', topic: 'jazz', weight: 0 },
      ],
    },
    opts,
  );
  assert.deepEqual(out, [
    { userId: 'u1', action: 'fav', itemId: 'i1', ts: NOW, weight: 1 },
    { eventId: 'e2', userId: 'u2', action: 'follow', producerId: 'p', ts: NOW - 60, weight: 2.5 },
    { userId: 'u3', action: 'topic_follow', topic: 'jazz', ts: NOW, weight: 0 },
  ]);
});

test('every built-in action needs exactly the target ACTION_TARGET names', () => {
  for (const action of ['fav', 'unfav', 'click', 'impression', 'hide'])
    assert.equal(validateEvent({ userId: 'u', action, itemId: 'x' }, opts).itemId, 'x');
  for (const action of ['follow', 'unfollow'])
    assert.equal(validateEvent({ userId: 'u', action, producerId: 'x' }, opts).producerId, 'x');
  rejects(
    () => validateEvents([fav, { userId: 'u', action: 'follow' }], opts),
    'events[1].producerId',
    'required',
  );
  rejects(
    () => validateEvents([{ userId: 'u', action: 'fav', itemId: 'i', topic: 't' }], opts),
    'events[0].topic',
    'not allowed',
  );
  rejects(
    () => validateEvents([{ userId: 'u', action: 'unfollow', producerId: 'p', itemId: 'i' }], opts),
    'events[0].itemId',
    'targets producerId',
  );
});

test('actions: unknown ones are rejected; declared engagement actions target itemId', () => {
  rejects(
    () => validateEvents([fav, fav, { ...fav, action: 'retweet' }], opts),
    'events[2].action',
    '"retweet"',
  );
  rejects(
    () => validateEvents([{ ...fav, action: 'item_upsert' }], opts),
    'events[0].action',
    'not an action',
  );
  rejects(() => validateEvents([{ ...fav, action: 7 }], opts), 'events[0].action', 'must be a string');
  const o = { ...opts, engagementActions: ['retweet'] };
  assert.equal(validateEvents([{ ...fav, action: 'retweet' }], o)[0].action, 'retweet');
  rejects(
    () => validateEvents([{ userId: 'u', action: 'retweet', producerId: 'p' }], o),
    'events[0].itemId',
    'required',
  );
  rejects(
    () => validateEvents([fav], { engagementActions: ['item_delete'] }),
    'engagementActions',
    'catalogue',
  );
  rejects(
    () => validateEvents([fav], { engagementActions: ['Bad Name'] }),
    'engagementActions',
    'lower-case',
  );
});

test('ids: non-empty strings of at most the id length limit', () => {
  const long = 'x'.repeat(EVENT_LIMITS.idLength);
  assert.equal(validateEvent({ ...fav, userId: long }, opts).userId, long);
  rejects(() => validateEvents([{ ...fav, userId: `${long}y` }], opts), 'events[0].userId', 'at most 1024');
  rejects(() => validateEvents([{ ...fav, userId: '' }], opts), 'events[0].userId', 'must not be empty');
  rejects(
    () => validateEvents([{ action: 'fav', itemId: 'i' }], opts),
    'events[0].userId',
    'must be a string',
  );
  rejects(() => validateEvents([{ ...fav, userId: 42 }], opts), 'events[0].userId', 'number 42');
  rejects(() => validateEvents([{ ...fav, itemId: '' }], opts), 'events[0].itemId', 'must not be empty');
  rejects(() => validateEvents([{ ...fav, eventId: '' }], opts), 'events[0].eventId', 'must not be empty');
  rejects(() => validateEvents([{ ...fav, eventId: `${long}y` }], opts), 'events[0].eventId', 'at most');
  // Files may hold whole numbers as ids (as ingestion reads them); fractions are not ids.
  assert.equal(validateEvent({ ...fav, userId: 42 }, { ...opts, numericIds: true }).userId, '42');
  rejects(
    () => validateEvent({ ...fav, userId: 4.5 }, { ...opts, numericIds: true }),
    'userId',
    'whole number',
  );
});

test('ts: finite Unix seconds inside the plausible window (up to a day after the receive time)', () => {
  assert.equal(validateEvent({ ...fav, ts: 0 }, opts).ts, 0);
  assert.equal(validateEvent({ ...fav, ts: NOW + 86400 }, opts).ts, NOW + 86400);
  rejects(() => validateEvents([{ ...fav, ts: NOW + 86401 }], opts), 'events[0].ts', 'receive time');
  rejects(() => validateEvents([{ ...fav, ts: 1e15 }], opts), 'events[0].ts', 'is after');
  rejects(() => validateEvents([{ ...fav, ts: -1 }], opts), 'events[0].ts', 'is before');
  rejects(() => validateEvents([{ ...fav, ts: '2024-01-01' }], opts), 'events[0].ts', 'finite number');
  rejects(() => validateEvents([{ ...fav, ts: null }], opts), 'events[0].ts', 'null');
  // A configured window applies as at ingestion.
  rejects(
    () => validateEvents([{ ...fav, ts: 5 }], { ...opts, timeWindow: { notBefore: 10 } }),
    'events[0].ts',
    'is before',
  );
});

test('weight: a finite number ≥ 0', () => {
  rejects(() => validateEvents([{ ...fav, weight: -0.5 }], opts), 'events[0].weight', '≥ 0');
  rejects(() => validateEvents([{ ...fav, weight: '2' }], opts), 'events[0].weight', 'string');
  rejects(() => validateEvents([{ ...fav, weight: null }], opts), 'events[0].weight', 'null');
});

test('shape: unknown fields, non-objects, a missing or oversized list', () => {
  rejects(
    () => validateEvents([fav, { ...fav, itemID: 'i' }], opts),
    'events[1].itemID',
    'not a known field',
  );
  rejects(() => validateEvents([fav, 'fav'], opts), 'events[1]', 'must be an object');
  rejects(() => validateEvents([null], opts), 'events[0]', 'null');
  rejects(() => validateEventsBatch({}, opts), 'events', 'required');
  rejects(() => validateEventsBatch({ events: [fav], extra: 1 }, opts), 'extra', 'not a known field');
  rejects(() => validateEventsBatch([fav], opts), 'body', 'must be an object');
  rejects(() => validateEventsBatch({ events: {} }, opts), 'events', 'array');
  const big = new Array(EVENT_LIMITS.batchSize + 1).fill(fav);
  rejects(() => validateEvents(big, opts), 'events', 'at most 1000');
  assert.equal(validateEvents(big.slice(1), opts).length, EVENT_LIMITS.batchSize);
  rejects(() => validateEvents([fav, fav, fav], { ...opts, maxBatchSize: 2 }), 'events', 'at most 2');
});

test('the first bad event is the one reported', () => {
  rejects(
    () => validateEvents([fav, { ...fav, weight: -1 }, { ...fav, action: 'nope' }], opts),
    'events[1].weight',
    '≥ 0',
  );
});

test('item upserts and deletes', () => {
  assert.deepEqual(validateItemUpsert({ itemId: 'n1' }, opts), {
    action: 'item_upsert',
    itemId: 'n1',
    ts: NOW,
  });
  assert.deepEqual(
    validateItemUpsert(
      { itemId: 'n1', authorId: 'a', createdTs: NOW - 5, tags: ['x', 'y'], eventId: 'e' },
      opts,
    ),
    {
      action: 'item_upsert',
      itemId: 'n1',
      authorId: 'a',
      createdTs: NOW - 5,
      tags: ['x', 'y'],
      eventId: 'e',
      ts: NOW,
    },
  );
  rejects(() => validateItemUpsert({}, opts), 'itemId', 'must be a string');
  rejects(() => validateItemUpsert({ itemId: 'n', author: 'a' }, opts), 'author', 'not a known field');
  rejects(
    () => validateItemUpsert({ itemId: 'n', createdTs: NOW + 2 * 86400 }, opts),
    'createdTs',
    'is after',
  );
  rejects(() => validateItemUpsert({ itemId: 'n', tags: 'x' }, opts), 'tags', 'array');
  rejects(() => validateItemUpsert({ itemId: 'n', tags: ['x', 3] }, opts), 'tags[1]', 'must be a string');
  rejects(() => validateItemUpsert({ itemId: 'n', tags: ['x', ''] }, opts), 'tags[1]', 'must not be empty');
  rejects(
    () => validateItemUpsert({ itemId: 'n', tags: ['x'.repeat(EVENT_LIMITS.tagLength + 1)] }, opts),
    'tags[0]',
    'at most 256',
  );
  rejects(
    () => validateItemUpsert({ itemId: 'n', tags: new Array(EVENT_LIMITS.tags + 1).fill('t') }, opts),
    'tags',
    'at most 100',
  );
  rejects(
    () => validateItemUpsert({ itemId: 'n', tags: ['x', 3] }, opts, 'items[2]'),
    'items[2].tags[1]',
    'string',
  );
  rejects(() => validateItemUpsert(null, opts), 'body', 'must be an object');
  assert.deepEqual(validateItemDelete('n1', opts), { action: 'item_delete', itemId: 'n1', ts: NOW });
  rejects(() => validateItemDelete('', opts, 'params.itemId'), 'params.itemId', 'must not be empty');
});
