// The write routes (issue 15 items 1, 2, 7, 8) over an in-memory log: 202 with offsets once appended, a bad
// event rejects the batch (nothing written), idempotent retries, 413, 429 while the applier lags, API keys,
// metrics and /readyz lag.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SimrecError } from '../core/errors.ts';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { type AppOptions, buildApp, type SimrecFastify } from './app.ts';
import type { OverlayFactory } from './applier.ts';
import { assertError } from './test-assertions.ts';
import { MemoryEventLog, recordingOverlays } from './test-event-log.ts';

let root: string;
let artifacts: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-events-'));
  artifacts = join(root, 'a');
  await writeTestArtifacts(artifacts, SMALL_FIXTURE);
});

after(() => rmSync(root, { recursive: true, force: true }));

async function withApp(
  options: Partial<AppOptions>,
  fn: (app: SimrecFastify, log: MemoryEventLog) => Promise<void>,
): Promise<void> {
  const log = (options.eventLog as MemoryEventLog | undefined) ?? new MemoryEventLog();
  const app = await buildApp({
    artifacts,
    pollMs: 0,
    docs: false,
    eventLog: log,
    overlays: recordingOverlays(),
    ...options,
  });
  try {
    await fn(app, log);
  } finally {
    await app.close();
  }
}

const events = (app: SimrecFastify, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/events', payload: payload as object, headers });

test('a batch is appended whole, with defaults, and answered 202 with its offsets', async () => {
  await withApp({}, async (app, log) => {
    const before = Date.now() / 1000;
    const res = await events(app, {
      events: [
        { userId: 'dave', action: 'fav', itemId: 'i3', ts: 1_700_000_000 },
        { userId: 'newbie', action: 'follow', producerId: 'alice', weight: 2, eventId: 'e-1' },
      ],
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { accepted: 2, duplicates: 0, offsets: [0, 1] });
    const [a, b] = log.read(0, 10);
    assert.deepEqual(a, {
      userId: 'dave',
      action: 'fav',
      itemId: 'i3',
      ts: 1_700_000_000,
      weight: 1,
      offset: 0,
    });
    assert.equal(b.eventId, 'e-1');
    assert.equal('weight' in b && b.weight, 2);
    assert.ok(b.ts >= before && b.ts <= Date.now() / 1000, 'ts defaults to the receive time');
  });
});

test('one bad event: 400 naming events[i].field, and nothing of the batch is written', async () => {
  await withApp({}, async (app, log) => {
    const good = { userId: 'dave', action: 'fav', itemId: 'i3' };
    const cases: [unknown, string][] = [
      [{ events: [good, good, good, { userId: 'dave', action: 'like', itemId: 'i3' }] }, 'events[3].action'],
      [{ events: [good, { userId: 'dave', action: 'fav' }] }, 'events[1].itemId'],
      [
        { events: [good, { userId: 'dave', action: 'follow', itemId: 'i1', producerId: 'a' }] },
        'events[1].itemId',
      ],
      [{ events: [{ ...good, weight: -1 }] }, 'events[0].weight'],
      [{ events: [{ ...good, itemID: 'x' }] }, 'events[0].itemID'],
      [{ events: [{ ...good, userId: '' }] }, 'events[0].userId'],
      [{ events: [{ ...good, ts: 'yesterday' }] }, 'events[0].ts'],
      [{ events: 'fav' }, 'events'],
      [{}, 'events'],
      [{ events: [], extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) assertError(await events(app, body), 400, 'REQUEST_INVALID', field);
    // The query string and the media type are checked as on every route.
    assertError(
      await app.inject({ method: 'POST', url: '/v1/events?dryRun=1', payload: { events: [good] } }),
      400,
      'REQUEST_INVALID',
      'dryRun',
    );
    assertError(
      await app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: JSON.stringify({ events: [good] }),
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'content-type',
    );
    assert.equal(log.end(), 0, 'nothing written');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(
      metrics,
      new RegExp(`simrec_events_rejected_total\\{reason="invalid"\\} ${cases.length}\\n`),
    );
  });
});

test('a retried batch is not appended twice: same offsets, counted as duplicates', async () => {
  await withApp({}, async (app, log) => {
    const batch = {
      events: [
        { eventId: 'a', userId: 'dave', action: 'fav', itemId: 'i3' },
        { userId: 'erin', action: 'click', itemId: 'i1' },
        { eventId: 'b', userId: 'erin', action: 'hide', itemId: 'i2' },
      ],
    };
    assert.deepEqual((await events(app, batch)).json(), { accepted: 3, duplicates: 0, offsets: [0, 1, 2] });
    // The event without an id cannot be recognised: it is appended again.
    assert.deepEqual((await events(app, batch)).json(), { accepted: 1, duplicates: 2, offsets: [0, 3, 2] });
    assert.equal(log.end(), 4);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /simrec_events_accepted_total 4\n/);
    assert.match(metrics, /simrec_events_deduplicated_total 2\n/);
  });
});

test('over the batch limit: 413 naming events, nothing written', async () => {
  await withApp({ events: { maxBatch: 3 } }, async (app, log) => {
    const e = { userId: 'dave', action: 'fav', itemId: 'i3' };
    assertError(await events(app, { events: [e, e, e, e] }), 413, 'BODY_TOO_LARGE', 'events');
    assert.equal(log.end(), 0);
    assert.equal((await events(app, { events: [e, e, e] })).statusCode, 202);
  });
});

test('while the applier lags beyond the bound: 429 with Retry-After, nothing written; then accepted again', async () => {
  // The overlay of the version is held back until released, so nothing is applied meanwhile.
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const inner = recordingOverlays();
  const slow: OverlayFactory = {
    ...inner,
    create: async (m, from) => {
      await held;
      return inner.create(m, from);
    },
  };
  await withApp({ overlays: slow, events: { maxLagEvents: 2, retryAfterSeconds: 3 } }, async (app, log) => {
    const e = { userId: 'dave', action: 'fav', itemId: 'i3' };
    assert.equal((await events(app, { events: [e, e, e] })).statusCode, 202);
    const refused = await events(app, { events: [e] });
    assertError(refused, 429, 'LOG_BACKLOG');
    assert.equal(refused.headers['retry-after'], '3');
    assertError(
      await app.inject({ method: 'POST', url: '/v1/items', payload: { itemId: 'n1' } }),
      429,
      'LOG_BACKLOG',
    );
    assert.equal(log.end(), 3);
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
    assert.equal(ready.lag.events, 3);
    assert.ok(ready.lag.seconds >= 0);
    release();
    await app.simrec.applier?.waitFor(3);
    assert.deepEqual(inner.made.at(-1)?.offsets, [0, 1, 2]);
    assert.equal((await events(app, { events: [e] })).statusCode, 202);
    await app.simrec.applier?.waitFor(4);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/readyz' })).json().lag, {
      events: 0,
      seconds: 0,
    });
  });
});

test('/readyz is 503 replaying, with the lag, until the log found at start is applied; later lag keeps it 200', async () => {
  const log = new MemoryEventLog();
  const e = { userId: 'dave', action: 'fav', itemId: 'i3', ts: 1_700_000_000, weight: 1 };
  await log.append([e, e, e, e, e]);
  // The overlay is held back until released (nothing applied meanwhile), then can be paused.
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  let paused = false;
  const inner = recordingOverlays();
  const gated: OverlayFactory = {
    ...inner,
    create: async (m, from) => {
      await held;
      const o = await inner.create(m, from);
      const apply = o.apply.bind(o);
      o.apply = (records) => {
        if (!paused) apply(records);
      };
      return o;
    },
  };
  await withApp({ eventLog: log, overlays: gated }, async (app) => {
    const replaying = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(replaying.statusCode, 503);
    const body = replaying.json();
    assert.equal(body.status, 'replaying');
    assert.equal(body.lag.events, 5);
    assert.equal(app.simrec.applier?.replaying, true);
    release();
    await app.simrec.applier?.waitFor(5);
    for (let tries = 0; app.simrec.applier?.replaying && tries < 200; tries++)
      await new Promise((r) => setTimeout(r, 5));
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json().lag, { events: 0, seconds: 0 });
    // Behind again after the first catch-up (an append not applied yet): still ready, with the lag.
    paused = true;
    assert.equal((await events(app, { events: [e] })).statusCode, 202);
    const behind = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(behind.statusCode, 200);
    assert.equal(behind.json().lag.events, 1);
  });
});

test('items: upsert and delete are appended as catalogue changes; bad ones 400', async () => {
  await withApp({}, async (app, log) => {
    const up = await app.inject({
      method: 'POST',
      url: '/v1/items',
      payload: {
        itemId: 'brand-new',
        authorId: 'alice',
        createdTs: 1_700_000_000,
        tags: ['cats'],
        eventId: 'u1',
      },
    });
    assert.equal(up.statusCode, 202, up.body);
    assert.deepEqual(up.json(), { accepted: 1, duplicates: 0, offsets: [0] });
    const del = await app.inject({ method: 'DELETE', url: '/v1/items/i0' });
    assert.deepEqual([del.statusCode, del.json()], [202, { accepted: 1, duplicates: 0, offsets: [1] }]);
    const [u, d] = log.read(0, 2);
    assert.equal(u.action, 'item_upsert');
    assert.deepEqual(
      { itemId: u.itemId, tags: 'tags' in u ? u.tags : null, eventId: u.eventId },
      { itemId: 'brand-new', tags: ['cats'], eventId: 'u1' },
    );
    assert.deepEqual([d.action, d.itemId], ['item_delete', 'i0']);
    assertError(
      await app.inject({ method: 'POST', url: '/v1/items', payload: { itemId: 'x', tags: [''] } }),
      400,
      'REQUEST_INVALID',
      'tags[0]',
    );
    assertError(
      await app.inject({ method: 'POST', url: '/v1/items', payload: {} }),
      400,
      'REQUEST_INVALID',
      'itemId',
    );
    assert.equal(log.end(), 2);
  });
});

test('with API keys: a write without a valid key is 401 and writes nothing; with one it is appended', async () => {
  await withApp({ apiKeys: ['k1'] }, async (app, log) => {
    const body = { events: [{ userId: 'dave', action: 'fav', itemId: 'i3' }] };
    assertError(await events(app, body), 401, 'UNAUTHORIZED', 'authorization');
    assertError(
      await events(app, body, { authorization: 'Bearer k2' }),
      401,
      'UNAUTHORIZED',
      'authorization',
    );
    assertError(
      await app.inject({ method: 'POST', url: '/v1/items', payload: { itemId: 'n' } }),
      401,
      'UNAUTHORIZED',
      'authorization',
    );
    assertError(
      await app.inject({ method: 'DELETE', url: '/v1/items/i0' }),
      401,
      'UNAUTHORIZED',
      'authorization',
    );
    assert.equal(log.end(), 0);
    assert.equal((await events(app, body, { authorization: 'Bearer k1' })).statusCode, 202);
    assert.equal(log.end(), 1);
  });
});

test('the applier applies every record in offset order; metrics show the log and the lag', async () => {
  const overlays = recordingOverlays();
  await withApp({ overlays }, async (app, log) => {
    const e = (i: number) => ({ userId: `u${i}`, action: 'fav', itemId: 'i3' });
    for (let b = 0; b < 5; b++) await events(app, { events: [e(3 * b), e(3 * b + 1), e(3 * b + 2)] });
    await app.simrec.applier?.waitFor(15);
    assert.deepEqual(
      overlays.made.at(-1)?.offsets,
      Array.from({ length: 15 }, (_, i) => i),
    );
    assert.equal(log.end(), 15);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /simrec_event_log_records 15\n/);
    assert.match(metrics, /simrec_applier_lag_events 0\n/);
    assert.match(metrics, /simrec_applier_lag_seconds 0\n/);
    assert.match(metrics, /simrec_overlay_entities\{kind="item_rows"\} 15\n/);
  });
});

test('an append that fails is a 503 and the batch is not acknowledged', async () => {
  await withApp({}, async (app, log) => {
    log.failNext = new SimrecError('ARTIFACT_IO', 'disk full at /secret/path');
    const res = await events(app, { events: [{ userId: 'dave', action: 'fav', itemId: 'i3' }] });
    assertError(res, 503, 'ARTIFACT_IO');
    assert.doesNotMatch(res.body, /secret/);
    assert.equal(log.end(), 0);
  });
});

test('without an event log the write routes answer 503', async () => {
  const app = await buildApp({ artifacts, pollMs: 0, docs: false, eventLog: false });
  try {
    assertError(
      await events(app, { events: [{ userId: 'dave', action: 'fav', itemId: 'i3' }] }),
      503,
      'ARTIFACT_MISSING',
      'events',
    );
    assertError(
      await app.inject({ method: 'DELETE', url: '/v1/items/i0' }),
      503,
      'ARTIFACT_MISSING',
      'events',
    );
  } finally {
    await app.close();
  }
});
