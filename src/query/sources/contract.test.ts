// Every registered candidate source answers the same contract (issue 14 item 2): limit, the shared filter,
// unknown subjects, subjects it cannot use, order and determinism.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimrecError } from '../../core/errors.ts';
import { openArtifactStore } from '../../store/open.ts';
import { LiveOverlay } from '../live/overlay.ts';
import { ServingModel } from '../serving-model.ts';
import { MF_FIXTURE, SIMCLUSTERS_KEYS, SMALL_FIXTURE, writeTestArtifacts } from '../test-fixtures.ts';
import { candidateSources, SOURCE_FACTORIES } from './registry.ts';

async function withModel<T>(spec: typeof MF_FIXTURE, fn: (m: ServingModel) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-sources-'));
  await writeTestArtifacts(dir, spec);
  const store = openArtifactStore(dir);
  const reader = await store.openVersion();
  try {
    return await fn(await ServingModel.load(reader));
  } finally {
    await reader.close();
    await store.close();
  }
}

const code = (c: string, field?: string) => (e: unknown) =>
  e instanceof SimrecError && e.code === c && (field === undefined || e.detail.field === field);

test('the registry builds the sources a version can serve', async () => {
  assert.deepEqual(Object.keys(SOURCE_FACTORIES), ['simclusters', 'dense', 'popular']);
  await withModel(MF_FIXTURE, async (m) => {
    assert.deepEqual(
      candidateSources(m).map((s) => s.name),
      ['simclusters', 'dense', 'popular'],
    );
  });
  await withModel(SMALL_FIXTURE, async (m) => {
    assert.deepEqual(
      candidateSources(m).map((s) => s.name),
      ['simclusters', 'popular'],
    );
  });
  await withModel({ ...MF_FIXTURE, omit: SIMCLUSTERS_KEYS }, async (m) => {
    assert.deepEqual(
      candidateSources(m).map((s) => s.name),
      ['dense', 'popular'],
    );
  });
});

async function contract(m: ServingModel): Promise<void> {
  for (const source of candidateSources(m)) {
    const subject = { userId: 'dave' };
    const full = await source.retrieve(subject, 10);
    assert.ok(full.items.length >= 2, `${source.name}: ${full.items.length} items`);
    assert.equal(full.items.length, full.scores.length);
    for (let j = 1; j < full.scores.length; j++) assert.ok(full.scores[j - 1] >= full.scores[j], source.name);
    assert.deepEqual(await source.retrieve(subject, 10), full, `${source.name}: deterministic`);
    const one = await source.retrieve(subject, 1);
    assert.deepEqual([...one.items], [full.items[0]], `${source.name}: limit`);
    const top = m.itemId(full.items[0]);
    const second = m.itemId(full.items[1]);
    const without = await source.retrieve(subject, 10, { exclude: [top] });
    assert.deepEqual(
      [...without.items].map((i) => m.itemId(i)),
      [...full.items].slice(1).map((i) => m.itemId(i)),
      `${source.name}: exclude`,
    );
    const only = await source.retrieve(subject, 10, { allow: [second, 'no-such-item'] });
    assert.deepEqual(
      [...only.items].map((i) => m.itemId(i)),
      [second],
      `${source.name}: allow`,
    );
    await assert.rejects(source.retrieve({ userId: 'nobody' }, 10), code('NOT_FOUND'), source.name);
  }
}

test('every source: limit, exclude, allow, order, determinism, unknown and unusable subjects', async () => {
  await withModel(MF_FIXTURE, contract);
});

test('every source through a live overlay, popular in its live mode', async () => {
  await withModel(MF_FIXTURE, async (m) => {
    const overlay = await LiveOverlay.create(m);
    const now = 1_700_000_000;
    const events = [
      ['erin', 'i2', now],
      ['alice', 'i2', now],
      ['erin', 'i0', now],
      ['alice', 'n1', now + 3600],
      ['bob', 'i4', now],
    ] as const;
    overlay.apply(
      events.map(([userId, itemId, ts], offset) => ({
        userId,
        action: 'fav',
        itemId,
        ts,
        weight: 1,
        offset,
      })),
    );
    await contract(overlay.model);
    const popular = candidateSources(overlay.model).find((s) => s.name === 'popular')!;
    const r = await popular.retrieve({ userId: 'dave' }, 10);
    // Trending as of the latest event (now + 1 h, half-life 8 h): i2 2·2^(−1/8), n1 1, i0 and i4 2^(−1/8).
    assert.deepEqual(
      [...r.items].map((i) => overlay.model.itemId(i)),
      ['i2', 'n1', 'i0', 'i4'],
    );
    assert.ok(Math.abs(r.scores[0] - 2 * 2 ** (-1 / 8)) < 1e-6);
    assert.equal(r.stats.mode, 'live');
  });
});

test('a subject a source cannot use is CONFIG_INVALID naming the source field', async () => {
  await withModel(MF_FIXTURE, async (m) => {
    const [sc, dense, popular] = candidateSources(m);
    await assert.rejects(sc.retrieve({ vector: [1, 0, 0] }, 5), code('CONFIG_INVALID', 'source'));
    await assert.rejects(dense.retrieve({ topic: 'cats' }, 5), code('CONFIG_INVALID', 'source'));
    await assert.rejects(popular.retrieve({ topic: 'cats' }, 5), code('CONFIG_INVALID', 'source'));
  });
});
