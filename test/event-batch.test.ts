/**
 * Validation and the log together, as the events route and `simrec events import` use them: a batch is
 * validated whole before anything is appended, so one bad event leaves the log as it was.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateEventsBatch } from '../src/data/events.ts';
import { openEventLog } from '../src/store/open.ts';

test('a batch with one bad event writes nothing; the corrected batch is appended whole', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-event-batch-'));
  const log = openEventLog(root);
  try {
    const receiveTime = 1_700_000_000;
    const events: Record<string, unknown>[] = [
      { eventId: 'a', userId: 'u1', action: 'fav', itemId: 'i1' },
      { eventId: 'b', userId: 'u2', action: 'follow', producerId: 'u1' },
      { eventId: 'c', userId: 'u3', action: 'favourite', itemId: 'i1' },
      { eventId: 'd', userId: 'u4', action: 'fav', itemId: 'i2', ts: receiveTime + 10 * 86400 },
    ];
    const append = async () => log.append(validateEventsBatch({ events }, { receiveTime }));
    await assert.rejects(append(), { code: 'CONFIG_INVALID', detail: { field: 'events[2].action' } });
    assert.equal(log.end(), 0);
    events[2].action = 'fav';
    await assert.rejects(append(), { code: 'CONFIG_INVALID', detail: { field: 'events[3].ts' } });
    assert.equal(log.end(), 0);
    events[3].ts = receiveTime - 10;
    assert.deepEqual((await append()).offsets, [0, 1, 2, 3]);
    // The client's retry of the same batch changes nothing.
    assert.deepEqual(await append(), { offsets: [0, 1, 2, 3], appended: 0, duplicates: 4 });
    assert.deepEqual(
      log.read(0, 10).map((r) => [r.offset, r.action, r.ts]),
      [
        [0, 'fav', receiveTime],
        [1, 'follow', receiveTime],
        [2, 'fav', receiveTime],
        [3, 'fav', receiveTime - 10],
      ],
    );
  } finally {
    await log.close();
    rmSync(root, { recursive: true, force: true });
  }
});
