import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ItemEvent, LogRecord, UserEvent } from '../../core/event.ts';
import { openEventLog } from '../open.ts';
import { decodeRecord, encodeRecord, LmdbEventLog } from './lmdb-event-log.ts';

const CHILD = fileURLToPath(new URL('./event-log-child.ts', import.meta.url));
const T = 1_700_000_000;

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'simrec-events-'));
}

function fav(userId: string, itemId: string, extra: Partial<UserEvent> = {}): UserEvent {
  return { userId, action: 'fav', itemId, ts: T, weight: 1, ...extra };
}

async function withLog(fn: (log: LmdbEventLog, root: string) => Promise<void>): Promise<void> {
  const root = tempRoot();
  const log = new LmdbEventLog(root);
  try {
    await fn(log, root);
  } finally {
    await log.close();
    rmSync(root, { recursive: true, force: true });
  }
}

test('records round-trip through the stored tuple, every field kind included', () => {
  const records: LogRecord[] = [
    fav('u', 'i'),
    { eventId: 'e', userId: 'u', action: 'follow', producerId: 'p', ts: T + 0.25, weight: 0 },
    { userId: 'u', action: 'topic_follow', topic: 'jazz', ts: T, weight: 2 },
    {
      action: 'item_upsert',
      itemId: 'n',
      ts: T,
      authorId: 'a',
      createdTs: T - 9,
      tags: ['x', 'y'],
      eventId: 'e2',
    },
    { action: 'item_upsert', itemId: 'n', ts: T, tags: ['x'] },
    { action: 'item_delete', itemId: 'n', ts: T },
  ];
  records.forEach((r, i) => {
    assert.deepEqual(decodeRecord(encodeRecord(r), i), { ...r, offset: i });
  });
  // No field names are stored: a fav is a 6-element tuple.
  assert.deepEqual(encodeRecord(fav('u', 'i')), ['fav', 'u', 0, 'i', T, 1]);
});

test('append assigns dense offsets from 0; read returns ranges ascending; end and start follow', async () => {
  await withLog(async (log) => {
    assert.equal(log.end(), 0);
    assert.equal(log.start(), 0);
    assert.deepEqual(log.read(0, 10), []);
    const a = await log.append([fav('u1', 'a'), fav('u1', 'b'), fav('u2', 'c')]);
    assert.deepEqual(a, { offsets: [0, 1, 2], appended: 3, duplicates: 0 });
    const up: ItemEvent = { action: 'item_upsert', itemId: 'new', ts: T, tags: ['t'] };
    const b = await log.append([fav('u3', 'd'), up]);
    assert.deepEqual(b.offsets, [3, 4]);
    assert.deepEqual(await log.append([]), { offsets: [], appended: 0, duplicates: 0 });
    assert.equal(log.end(), 5);
    assert.deepEqual(
      log.read(0, 100).map((r) => r.offset),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(log.read(1, 2), [
      { ...fav('u1', 'b'), offset: 1 },
      { ...fav('u2', 'c'), offset: 2 },
    ]);
    assert.deepEqual(log.read(4, 10), [{ ...up, offset: 4 }]);
    assert.deepEqual(log.read(5, 10), []);
    assert.deepEqual(log.read(3, 0), []);
    assert.throws(() => log.read(-1, 5), { code: 'CONFIG_INVALID' });
    assert.throws(() => log.read(1.5, 5), { code: 'CONFIG_INVALID' });
  });
});

test('idempotent on eventId: across appends, within a batch, and only for records that carry one', async () => {
  await withLog(async (log) => {
    const first = await log.append([fav('u', 'a', { eventId: 'x' }), fav('u', 'b')]);
    assert.deepEqual(first.offsets, [0, 1]);
    // A retried batch: x is already there; the record without an eventId is appended again.
    const retry = await log.append([fav('u', 'a', { eventId: 'x' }), fav('u', 'b')]);
    assert.deepEqual(retry, { offsets: [0, 2], appended: 1, duplicates: 1 });
    // Within one batch the repeat collapses to the first.
    const inBatch = await log.append([
      fav('u', 'c', { eventId: 'y' }),
      fav('u', 'd', { eventId: 'z' }),
      fav('u', 'e', { eventId: 'y' }),
      fav('u', 'f', { eventId: 'x' }),
    ]);
    assert.deepEqual(inBatch, { offsets: [3, 4, 3, 0], appended: 2, duplicates: 2 });
    assert.equal(log.end(), 5);
    assert.deepEqual(
      log.read(0, 10).map((r) => (r as UserEvent).itemId),
      ['a', 'b', 'b', 'c', 'd'],
    );
    // An all-duplicate batch writes nothing and moves nothing.
    assert.deepEqual(await log.append([fav('u', 'a', { eventId: 'x' })]), {
      offsets: [0],
      appended: 0,
      duplicates: 1,
    });
    assert.equal(log.end(), 5);
  });
});

test('concurrent appends in one process (one group commit) get distinct dense offsets', async () => {
  await withLog(async (log) => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, b) =>
        log.append([
          fav(`u${b}`, 'a', { eventId: `e${b}` }),
          fav(`u${b}`, 'b'),
          fav('dup', 'c', { eventId: 'same' }),
        ]),
      ),
    );
    const own = results.flatMap((r) => r.offsets.slice(0, 2));
    assert.equal(new Set(own).size, 40);
    // 'same' was appended once, by whichever batch ran first, and every batch got its offset.
    const same = new Set(results.map((r) => r.offsets[2]));
    assert.equal(same.size, 1);
    assert.deepEqual(
      [...own, ...same].sort((p, q) => p - q),
      Array.from({ length: 41 }, (_, i) => i),
    );
    assert.equal(log.end(), 41);
    assert.equal(
      results.reduce((s, r) => s + r.appended, 0),
      41,
    );
  });
});

test('a batch that fails part-way leaves nothing behind, and later appends continue densely', async () => {
  await withLog(async (log) => {
    await log.append([fav('u', 'a', { eventId: 'k' })]);
    // A value the encoder cannot store fails inside the transaction, after the first record was put.
    const bad = [fav('u', 'b', { eventId: 'm' }), fav(Symbol('x') as unknown as string, 'c')];
    await assert.rejects(log.append(bad), { code: 'ARTIFACT_IO' });
    assert.equal(log.end(), 1);
    assert.deepEqual(log.read(0, 10).length, 1);
    // m was rolled back with its record, so it is not a duplicate now.
    assert.deepEqual((await log.append([fav('u', 'b', { eventId: 'm' })])).offsets, [1]);
  });
});

test('compact drops a prefix and its eventIds; offsets are never reused', async () => {
  await withLog(async (log) => {
    await log.append([0, 1, 2, 3, 4].map((i) => fav('u', `i${i}`, { eventId: `e${i}` })));
    assert.equal(await log.compact(2), 2);
    assert.equal(log.start(), 2);
    assert.equal(log.end(), 5);
    assert.deepEqual(
      log.read(0, 10).map((r) => r.offset),
      [2, 3, 4],
    );
    assert.equal(await log.compact(2), 0);
    assert.equal(await log.compact(1), 0);
    // A compacted record's eventId no longer dedupes; a held one still does.
    const r = await log.append([fav('u', 'i0', { eventId: 'e0' }), fav('u', 'i3', { eventId: 'e3' })]);
    assert.deepEqual(r.offsets, [5, 3]);
    const s = log.stats();
    assert.equal(s.start, 2);
    assert.equal(s.end, 6);
    assert.equal(s.records, 4);
    assert.equal(s.eventIds, 4);
    assert.ok(s.diskBytes > 0);
    // Past the end is clamped to the end.
    assert.equal(await log.compact(100), 4);
    assert.equal(log.start(), 6);
    assert.deepEqual(log.read(0, 10), []);
    assert.equal(log.stats().eventIds, 0);
    assert.deepEqual((await log.append([fav('u', 'z')])).offsets, [6]);
  });
});

test('offsetAtTime: the first held record whose ts is at or after the time', async () => {
  await withLog(async (log) => {
    const ts = [100, 300, 200, 400, 400];
    await log.append(ts.map((t, i) => fav('u', `i${i}`, { ts: t })));
    await log.append([{ action: 'item_delete', itemId: 'i0', ts: 500 }]);
    assert.equal(log.offsetAtTime(50), 0);
    assert.equal(log.offsetAtTime(100), 0);
    assert.equal(log.offsetAtTime(101), 1);
    assert.equal(log.offsetAtTime(250), 1); // offset 2 (ts 200) is older, but a compaction is a prefix
    assert.equal(log.offsetAtTime(301), 3);
    assert.equal(log.offsetAtTime(450), 5);
    assert.equal(log.offsetAtTime(501), 6);
    await log.compact(2);
    assert.equal(log.offsetAtTime(0), 2);
  });
});

test('checkpoints: stored with their offset, replaced, kept across reopen', async () => {
  const root = tempRoot();
  try {
    const log = new LmdbEventLog(root);
    assert.equal(log.getCheckpoint('overlay'), undefined);
    await log.putCheckpoint('overlay', new Uint8Array([1, 2, 3]), 7);
    await log.putCheckpoint('overlay', new Uint8Array([9, 8]), 12);
    await log.putCheckpoint('other', new Uint8Array(0), 0);
    await log.append([fav('u', 'a')]);
    await log.close();
    const again = openEventLog(root);
    assert.deepEqual(again.getCheckpoint('overlay'), { offset: 12, bytes: new Uint8Array([9, 8]) });
    assert.deepEqual(again.getCheckpoint('other'), { offset: 0, bytes: new Uint8Array(0) });
    assert.equal(again.stats().checkpoints, 2);
    assert.equal(again.end(), 1);
    assert.equal(again.location, join(root, 'events'));
    await again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('openEventLog takes the locations openArtifactStore takes', () => {
  assert.throws(() => openEventLog(''), { code: 'CONFIG_INVALID' });
  assert.throws(() => openEventLog('redis://localhost'), { code: 'CONFIG_INVALID' });
});

interface ChildLine {
  b: number;
  offsets: number[];
  appended?: number;
}

/** Runs the child; resolves with its output lines; `onLine` may kill it. */
function runChild(
  spec: Record<string, unknown>,
  onLine?: (line: ChildLine, kill: () => void) => void,
): Promise<{ lines: ChildLine[]; signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: ChildLine[] = [];
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as ChildLine;
        buf = buf.slice(nl + 1);
        lines.push(line);
        onLine?.(line, () => child.kill('SIGKILL'));
      }
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ lines, signal, code, stderr }));
  });
}

test('two processes appending at once: offsets dense and unique, every record present once', async () => {
  const root = tempRoot();
  try {
    const spec = { root, batches: 15, batchSize: 20, inFlight: 3 };
    const [a, b] = await Promise.all([
      runChild({ ...spec, prefix: 'a' }),
      runChild({ ...spec, prefix: 'b' }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const log = new LmdbEventLog(root);
    try {
      // 2 × 15 × 20 own events, and 15 shared ones each stored once.
      const total = 2 * 15 * 20 + 15;
      assert.equal(log.end(), total);
      const records = log.read(0, total + 10);
      assert.deepEqual(
        records.map((r) => r.offset),
        Array.from({ length: total }, (_, i) => i),
      );
      const byId = new Map(records.map((r) => [r.eventId, r.offset]));
      assert.equal(byId.size, total);
      for (const child of [a, b]) {
        const prefix = child === a ? 'a' : 'b';
        const batches = child.lines.filter((l) => l.b >= 0);
        assert.equal(batches.length, 15);
        for (const { b: n, offsets } of batches) {
          for (let i = 0; i < 20; i++) assert.equal(offsets[i], byId.get(`${prefix}-${n}-${i}`));
          assert.equal(offsets[20], byId.get(`shared-${n}`));
        }
        // The retry of batch 0 at the end was all duplicates.
        const retry = child.lines.find((l) => l.b === -1);
        assert.equal(retry?.appended, 0);
        assert.deepEqual(retry?.offsets, batches.find((l) => l.b === 0)?.offsets);
      }
    } finally {
      await log.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a process killed with SIGKILL while appending: every append that resolved is in the log, once', async () => {
  const root = tempRoot();
  try {
    const out = await runChild(
      { root, prefix: 'k', batches: 0, batchSize: 10, inFlight: 4 },
      (line, kill) => {
        if (line.b >= 0 && line.b === 40) kill();
      },
    );
    assert.equal(out.signal, 'SIGKILL');
    const resolved = out.lines.filter((l) => l.b >= 0);
    assert.ok(resolved.length >= 1);
    const log = new LmdbEventLog(root);
    try {
      const records = log.read(0, log.end() + 1);
      assert.deepEqual(
        records.map((r) => r.offset),
        Array.from({ length: log.end() }, (_, i) => i),
      );
      const byId = new Map(records.map((r) => [r.eventId, r.offset]));
      assert.equal(byId.size, records.length, 'no eventId twice');
      for (const { b, offsets } of resolved) {
        for (let i = 0; i < 10; i++) assert.equal(byId.get(`k-${b}-${i}`), offsets[i], `k-${b}-${i}`);
        assert.equal(byId.get(`shared-${b}`), offsets[10]);
      }
      // The log is writable after the crash (LMDB's robust lock was released with the process).
      assert.deepEqual((await log.append([fav('after', 'x')])).offsets, [records.length]);
    } finally {
      await log.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
