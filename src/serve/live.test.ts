// Issue 15 end to end in one process: events posted over HTTP, appended to the LMDB log at the artifact location,
// applied by the applier to the live overlay, visible through the read routes; two applications on one location
// answer alike. Expected answers are worked out from SMALL_FIXTURE (test-fixtures.ts); waits poll with a
// deadline (the applier's waitFor), never a fixed sleep.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { assertError, assertRanked } from './test-assertions.ts';

async function withLocation(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-live-serve-'));
  try {
    await writeTestArtifacts(dir, SMALL_FIXTURE);
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const open = (dir: string) => buildApp({ artifacts: dir, pollMs: 0, docs: false });

async function write(app: SimrecFastify, method: 'POST' | 'DELETE', url: string, payload?: unknown) {
  const res = await app.inject({ method, url, payload: payload as object });
  assert.equal(res.statusCode, 202, res.body);
  return res.json() as { offsets: number[] };
}

const post = (app: SimrecFastify, events: unknown[]) => write(app, 'POST', '/v1/events', { events });

/** Waits until the app's applier has applied the whole log as it is now. */
async function caughtUp(app: SimrecFastify): Promise<void> {
  const end = app.simrec.events?.log.end() ?? 0;
  await app.simrec.applier?.waitFor(end);
}

function candidates(app: SimrecFastify, source: object) {
  return app.inject({ method: 'POST', url: '/v1/candidates/simclusters', payload: { source } });
}

async function ranked(app: SimrecFastify, source: object): Promise<[string, number][]> {
  const res = await candidates(app, source);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().candidates as { itemId: string; score: number }[]).map((c) => [c.itemId, c.score]);
}

test('events change what the read routes answer once applied: delete, hide, a new item, a new user', async () => {
  await withLocation(async (dir) => {
    const app = await open(dir);
    try {
      const dave: [string, number][] = [
        ['i0', 0.96],
        ['i4', 0.64],
        ['i2', 0.6],
      ];
      assertRanked(await ranked(app, { userId: 'dave' }), dave);

      // A deleted item is hidden from every answer.
      await write(app, 'DELETE', '/v1/items/i0');
      await caughtUp(app);
      assertRanked(await ranked(app, { userId: 'dave' }), dave.slice(1));

      // A hidden item leaves that user's candidates only.
      await post(app, [{ userId: 'dave', action: 'hide', itemId: 'i4' }]);
      await caughtUp(app);
      assertRanked(await ranked(app, { userId: 'dave' }), [['i2', 0.6]]);

      // A brand-new item faved by erin (InterestedIn [3: 1]) gets her cluster, and the dogs topic ([3: 1]) finds
      // it: cosine 1 like i5 ([3: 1]), ahead of i3 ([2: 0.6, 3: 0.8]: 0.8).
      await write(app, 'POST', '/v1/items', { itemId: 'fresh', createdTs: 1_700_000_000 });
      await post(app, [{ userId: 'erin', action: 'fav', itemId: 'fresh', ts: 1_700_000_000 }]);
      await caughtUp(app);
      const dogs = await ranked(app, { topic: 'dogs' });
      assert.deepEqual(dogs.map(([id]) => id).sort(), ['fresh', 'i3', 'i5']);
      assertRanked(
        dogs.filter(([id]) => id !== 'i5'),
        [
          ['fresh', 1],
          ['i3', 0.8],
        ],
      );

      // A user the version does not know: 404 until they follow alice (KnownFor cluster 0), then cluster 0's
      // items by cosine with [0: 1]: i1 [0: 1] 1, i4 (hidden by dave only) 0.8; i0 is deleted.
      assertError(await candidates(app, { userId: 'newbie' }), 404, 'NOT_FOUND', 'source.userId');
      await post(app, [{ userId: 'newbie', action: 'follow', producerId: 'alice' }]);
      await caughtUp(app);
      assertRanked(await ranked(app, { userId: 'newbie' }), [
        ['i1', 1],
        ['i4', 0.8],
      ]);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /simrec_overlay_applied_records 5\n/);
      assert.match(metrics, /simrec_overlay_entities\{kind="new_items"\} 1\n/);
      assert.match(metrics, /simrec_overlay_entities\{kind="new_users"\} 1\n/);
      assert.match(metrics, /simrec_overlay_entities\{kind="deleted_items"\} 1\n/);
    } finally {
      await app.close();
    }
  });
});

test('two applications on one artifact location answer identically after the same events', async () => {
  await withLocation(async (dir) => {
    const a = await open(dir);
    const b = await open(dir);
    try {
      // Writes go to either; each applies the whole log.
      await post(a, [
        { userId: 'erin', action: 'fav', itemId: 'i2', eventId: 'x1' },
        { userId: 'newbie', action: 'follow', producerId: 'alice' },
        { userId: 'dave', action: 'hide', itemId: 'i4' },
      ]);
      await write(b, 'POST', '/v1/items', { itemId: 'fresh' });
      await post(b, [
        { userId: 'alice', action: 'fav', itemId: 'fresh' },
        { userId: 'erin', action: 'fav', itemId: 'i2', eventId: 'x1' },
      ]);
      await write(a, 'DELETE', '/v1/items/i3');
      await caughtUp(a);
      await caughtUp(b);
      const queries: object[] = [
        { userId: 'dave' },
        { userId: 'erin' },
        { userId: 'newbie' },
        { userId: 'alice' },
        { itemId: 'fresh' },
        { itemId: 'i2' },
        { topic: 'dogs' },
        { producerId: 'carol' },
      ];
      let nonEmpty = 0;
      for (const source of queries) {
        const [ra, rb] = [await candidates(a, source), await candidates(b, source)];
        assert.equal(ra.statusCode, rb.statusCode, JSON.stringify(source));
        assert.equal(ra.body, rb.body, JSON.stringify(source));
        if (ra.statusCode === 200 && ra.json().candidates.length > 0) nonEmpty++;
      }
      assert.ok(nonEmpty >= 5, `${nonEmpty} non-empty answers`);
      for (const url of ['/v1/items/fresh/embedding', '/v1/users/newbie/embedding', '/v1/clusters/0']) {
        const [ra, rb] = [await a.inject({ url }), await b.inject({ url })];
        assert.equal(ra.statusCode, 200, `${url}: ${ra.body}`);
        assert.equal(ra.body, rb.body, url);
      }
      // The retried eventId was appended once.
      assert.equal(a.simrec.events?.log.end(), 6);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('a restart restores the overlay from the checkpoint written at close and replays only the tail', async () => {
  await withLocation(async (dir) => {
    const lines: string[] = [];
    const logger = {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(line);
        },
      },
    };
    const first = await buildApp({ artifacts: dir, pollMs: 0, docs: false, logger });
    await write(first, 'POST', '/v1/items', { itemId: 'fresh' });
    await post(first, [
      { userId: 'erin', action: 'fav', itemId: 'fresh' },
      { userId: 'newbie', action: 'follow', producerId: 'alice' },
    ]);
    await caughtUp(first);
    const before = (await candidates(first, { topic: 'dogs' })).body;
    await first.close();

    const second = await buildApp({ artifacts: dir, pollMs: 0, docs: false, logger });
    try {
      await post(second, [{ userId: 'dave', action: 'hide', itemId: 'i4' }]);
      await caughtUp(second);
      const starts = lines
        .map((l) => JSON.parse(l) as { msg: string; offset?: number; checkpoint?: boolean })
        .filter((l) => l.msg === 'event log overlay started for version')
        .map(({ offset, checkpoint }) => ({ offset, checkpoint }));
      assert.deepEqual(starts, [
        { offset: 0, checkpoint: false },
        { offset: 3, checkpoint: true },
      ]);
      assert.equal((await candidates(second, { topic: 'dogs' })).body, before);
      assertRanked(await ranked(second, { userId: 'newbie' }), [
        ['i1', 1],
        ['i4', 0.8],
        ['i0', 0.6],
      ]);
      assertRanked(await ranked(second, { userId: 'dave' }), [
        ['i0', 0.96],
        ['i2', 0.6],
      ]);
    } finally {
      await second.close();
    }
  });
});

test('POST /v1/candidates/popular: the version popularity, then what is trending once favs are applied', async () => {
  await withLocation(async (dir) => {
    const app = await open(dir);
    try {
      const popular = async (source: object) => {
        const res = await app.inject({ method: 'POST', url: '/v1/candidates/popular', payload: { source } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as {
          source: string;
          candidates: { itemId: string; score: number }[];
          stats: { mode: string };
        };
      };
      // The version's engagement log: dave i1, erin i5 and i3 (one user each).
      const before = await popular({});
      assert.equal(before.source, 'popular');
      assert.equal(before.stats.mode, 'version');
      assert.deepEqual(before.candidates.map((c) => c.itemId).sort(), ['i1', 'i3', 'i5']);

      const T = 1_700_000_000;
      await post(app, [
        { userId: 'u1', action: 'fav', itemId: 'i2', ts: T },
        { userId: 'u2', action: 'fav', itemId: 'i2', ts: T },
        { userId: 'u3', action: 'fav', itemId: 'i4', ts: T },
      ]);
      await caughtUp(app);
      const after = await popular({});
      assert.equal(after.stats.mode, 'live');
      assertRanked(
        after.candidates.map((c) => [c.itemId, c.score]),
        [
          ['i2', 2],
          ['i4', 1],
        ],
      );
      // A user's own favs are not recommended back to them.
      assert.deepEqual(
        (await popular({ userId: 'u1' })).candidates.map((c) => c.itemId),
        ['i4'],
      );
    } finally {
      await app.close();
    }
  });
});

test('a new version going live keeps what the log says: its overlay replays the log (nothing absorbed yet)', async () => {
  await withLocation(async (dir) => {
    const app = await open(dir);
    try {
      await write(app, 'DELETE', '/v1/items/i0');
      await post(app, [{ userId: 'newbie', action: 'follow', producerId: 'alice' }]);
      await caughtUp(app);
      const answer = async () => {
        const body = (await candidates(app, { userId: 'newbie' })).json();
        return { version: body.version as string, candidates: body.candidates };
      };
      const before = await answer();
      assert.deepEqual(
        before.candidates.map((c: { itemId: string }) => c.itemId),
        ['i1', 'i4'],
      );
      const next = await writeTestArtifacts(dir, SMALL_FIXTURE);
      assert.ok(await app.simrec.live.refresh());
      await caughtUp(app);
      const after = await answer();
      assert.equal(after.version, next);
      assert.deepEqual(after.candidates, before.candidates);
    } finally {
      await app.close();
    }
  });
});
