// The log applier's mechanics with a recording overlay: order, rebase on a version switch from the version's
// absorbed offset, checkpoints bounding a restart's replay, and a compaction that outran it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { UserEvent } from '../core/event.ts';
import { LiveModel } from '../query/serving-model.ts';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { openArtifactStore } from '../store/open.ts';
import type { ArtifactStore } from '../store/store.ts';
import { checkpointKey, LogApplier } from './applier.ts';
import { MemoryEventLog, recordingOverlays } from './test-event-log.ts';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'simrec-applier-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const fav = (i: number): UserEvent => ({
  userId: `u${i}`,
  action: 'fav',
  itemId: 'i3',
  ts: 1_700_000_000 + i,
  weight: 1,
});
const favs = (from: number, n: number) => Array.from({ length: n }, (_, i) => fav(from + i));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function served(dir: string): Promise<{ store: ArtifactStore; live: LiveModel; version: string }> {
  const version = await writeTestArtifacts(dir, SMALL_FIXTURE);
  const store = openArtifactStore(dir);
  const live = new LiveModel(store, { pollMs: 0 });
  await live.start();
  return { store, live, version };
}

test('every record once, in offset order, across reads of a few records and slices that run out at once', async () => {
  const { store, live } = await served(join(root, 'order'));
  const log = new MemoryEventLog();
  const overlays = recordingOverlays();
  const applier = new LogApplier(log, live, overlays, { readBatch: 3, sliceMs: 0, pollMs: 1 });
  try {
    applier.start();
    for (let b = 0; b < 10; b++) {
      await log.append(favs(10 * b, 10));
      if (b % 3 === 0) applier.poke();
    }
    await applier.waitFor(100);
    assert.equal(overlays.made.length, 1);
    assert.deepEqual(overlays.made[0].offsets, range(0, 100));
    assert.equal(applier.lagEvents(), 0);
    assert.equal(applier.lagSeconds(), 0);
    assert.ok(applier.ready);
  } finally {
    await applier.close();
    await live.close();
    await store.close();
  }
});

test('a version switch starts a fresh overlay after the offset the new version absorbed', async () => {
  const dir = join(root, 'switch');
  const { store, live, version: a } = await served(dir);
  const log = new MemoryEventLog();
  await log.append(favs(0, 6));
  const b = await writeTestArtifacts(dir, { ...SMALL_FIXTURE, now: 1_700_000_100 });
  // b was built from the log up to offset 3 (records 0..3)
  const overlays = recordingOverlays({ [b]: 3 });
  const rebased: [string, number, boolean][] = [];
  const applier = new LogApplier(log, live, overlays, {
    pollMs: 1,
    onRebase: (v, from) => rebased.push([v, from.offset, from.checkpoint]),
  });
  try {
    applier.start();
    await applier.waitFor(6);
    const before = live.current;
    assert.equal(before?.version, a);
    await live.refresh();
    assert.equal(live.current?.version, b);
    await log.append(favs(6, 2));
    await applier.waitFor(8);
    assert.deepEqual(
      overlays.made.map((o) => [o.model.version, o.offsets]),
      [
        [a, range(0, 6)],
        [b, [4, 5, 6, 7]],
      ],
    );
    assert.deepEqual(rebased, [
      [a, 0, false],
      [b, 4, false],
    ]);
    // A request still holding the old version answers from the old overlay; the new version from its own.
    assert.equal(applier.view(before as NonNullable<typeof before>), overlays.made[0].model);
  } finally {
    await applier.close();
    await live.close();
    await store.close();
  }
});

test('checkpoints every N records bound the replay of a restarted process', async () => {
  const { store, live, version } = await served(join(root, 'checkpoint'));
  const log = new MemoryEventLog();
  await log.append(favs(0, 25));
  const first = recordingOverlays();
  const a = new LogApplier(log, live, first, {
    checkpointEvery: 10,
    checkpointMs: 0,
    readBatch: 5,
    pollMs: 1,
  });
  a.start();
  await a.waitFor(25);
  // Passes apply what is there; the checkpoint after a pass covers at least the 10 records asked for.
  const cp = log.getCheckpoint(checkpointKey(version));
  assert.ok(cp && cp.offset >= 10 && cp.offset <= 25, String(cp?.offset));
  await a.close();
  // Closing writes what was applied since.
  assert.equal(log.getCheckpoint(checkpointKey(version))?.offset, 25);

  await log.append(favs(25, 5));
  const second = recordingOverlays();
  const b = new LogApplier(log, live, second, { pollMs: 1 });
  try {
    b.start();
    await b.waitFor(30);
    assert.equal(second.made.length, 1);
    assert.ok(second.made[0].restored, 'restored from the checkpoint');
    assert.deepEqual(second.made[0].offsets, range(25, 30));
  } finally {
    await b.close();
    await live.close();
    await store.close();
  }
});

test('records compacted before this overlay applied them are reported, and applying goes on after them', async () => {
  const { store, live } = await served(join(root, 'gap'));
  const log = new MemoryEventLog();
  await log.append(favs(0, 10));
  await log.compact(4);
  const errors: unknown[] = [];
  const overlays = recordingOverlays();
  const applier = new LogApplier(log, live, overlays, { pollMs: 1, onError: (e) => errors.push(e) });
  try {
    applier.start();
    await applier.waitFor(10);
    assert.deepEqual(overlays.made[0].offsets, range(4, 10));
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /compacted up to offset 4 .* records 0\.\.3 are lost/);
  } finally {
    await applier.close();
    await live.close();
    await store.close();
  }
});

test('a checkpoint by time waits for enough records to be worth one', async () => {
  const { store, live, version } = await served(join(root, 'by-time'));
  const log = new MemoryEventLog();
  const applier = new LogApplier(log, live, recordingOverlays(), {
    checkpointEvery: 0,
    checkpointMs: 1,
    checkpointMinRecords: 5,
    pollMs: 1,
  });
  try {
    applier.start();
    await log.append(favs(0, 3));
    await applier.waitFor(3);
    // Passes keep running past the 1 ms interval; three records are too few.
    await log.append(favs(3, 1));
    await applier.waitFor(4);
    assert.equal(log.getCheckpoint(checkpointKey(version)), undefined);
    await log.append(favs(4, 2));
    await applier.waitFor(6);
    const deadline = Date.now() + 10_000;
    while (!log.getCheckpoint(checkpointKey(version))) {
      assert.ok(Date.now() < deadline, 'no checkpoint after 6 records');
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(log.getCheckpoint(checkpointKey(version))?.offset, 6);
  } finally {
    await applier.close();
    await live.close();
    await store.close();
  }
});

test('lag: records waiting, and seconds bounded by the last catch-up, not by the old timestamps of a backfill', async () => {
  const { store, live } = await served(join(root, 'lag'));
  const log = new MemoryEventLog();
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const inner = recordingOverlays();
  const applier = new LogApplier(
    log,
    live,
    {
      ...inner,
      create: async (m, from) => {
        await held;
        return inner.create(m, from);
      },
    },
    { pollMs: 1 },
  );
  const started = Date.now() / 1000;
  try {
    applier.start();
    // A backfill: events that happened two years ago, sent now.
    const old = started - 2 * 365 * 86400;
    await log.append(favs(0, 3).map((e, i) => ({ ...e, ts: old + i })));
    assert.equal(applier.lagEvents(), 3);
    const now = Date.now() / 1000 + 5;
    const seconds = applier.lagSeconds(now);
    assert.ok(seconds > 0 && seconds <= now - started, String(seconds));
    release();
    await applier.waitFor(3);
    assert.equal(applier.lagEvents(), 0);
    assert.equal(applier.lagSeconds(), 0);
  } finally {
    await applier.close();
    await live.close();
    await store.close();
  }
});
