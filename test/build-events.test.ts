// A build reads the output location's event log with the data (issue 15 item 5): what was sent since the last
// version is in the next one, the manifest says which offsets it absorbed, and --no-events / absorb false read none.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runEvents } from '../src/cli/events.ts';
import { SimrecError } from '../src/core/errors.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { openArtifactStore, openEventLog } from '../src/store/open.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-build-events-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the next build absorbs the log and records the offsets; without a log or with absorb off it reads none', async () => {
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 5 });
  const out = join(root, 'artifacts');
  const config = resolveBuildConfig(undefined, { seed: 2 });
  const first = await runBuild({ data, out, config });
  assert.equal(first.manifest.extra.events, undefined, 'no log yet: nothing absorbed');
  const items0 = first.manifest.counts.items;
  const engagements0 = first.manifest.counts.engagements;

  const log = openEventLog(out);
  const t = first.manifest.dataTime!;
  await log.append([
    { action: 'item_upsert', itemId: 'brand-new', authorId: 'p0', createdTs: t, ts: t },
    { userId: 'u0', action: 'fav', itemId: 'brand-new', ts: t + 1, weight: 1 },
    { userId: 'newcomer', action: 'fav', itemId: 'brand-new', ts: t + 2, weight: 1 },
    { userId: 'newcomer', action: 'click', itemId: 'brand-new', ts: t + 3, weight: 1 },
  ]);
  await log.close();

  const second = await runBuild({ data, out, config });
  const ev = second.manifest.extra.events as Record<string, number>;
  assert.equal(ev.fromOffset, 0);
  assert.equal(ev.toOffset, 4);
  assert.equal(ev.engagements, 2);
  assert.equal(ev.itemsUpserted, 1);
  assert.equal(ev.signalsOnly, 1);
  assert.equal(second.manifest.counts.items, items0 + 1);
  assert.equal(second.manifest.counts.engagements, engagements0 + 2);
  assert.equal(second.manifest.dataTime, t + 2);
  assert.ok(second.manifest.inputs.some((f) => f.kind === 'events' && f.rows === 4));
  const store = openArtifactStore(out);
  const reader = await store.openVersion();
  assert.ok((await reader.idMap('ids/items')).has('brand-new'));
  assert.ok((await reader.idMap('ids/users')).has('newcomer'));
  const model = await ServingModel.load(reader);
  assert.equal(model.absorbedOffset, 3, 'the overlay applies from offset 4 on');
  assert.deepEqual(model.engagementActions, []);
  await reader.close();

  const off = await runBuild({ data, out, config, events: false });
  assert.equal(off.manifest.extra.events, undefined);
  const offReader = await store.openVersion(off.manifest.id);
  assert.equal((await ServingModel.load(offReader)).absorbedOffset, -1);
  await offReader.close();
  assert.equal(off.manifest.counts.items, items0);
  const offByConfig = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, { seed: 2, events: { absorb: false } }),
  });
  assert.equal(offByConfig.manifest.counts.items, items0);
  await store.close();

  // What the current version absorbed may be compacted; what came after it may not (without --force).
  const late = openEventLog(out);
  await late.append([{ userId: 'u1', action: 'fav', itemId: 'brand-new', ts: t + 5, weight: 1 }]);
  await late.close();
  await runBuild({ data, out, config }); // current again absorbs offsets 0..4
  const logAfter = openEventLog(out);
  await logAfter.append([{ userId: 'u2', action: 'fav', itemId: 'brand-new', ts: t + 6, weight: 1 }]);
  await logAfter.close();
  const io = () => {
    const text = { out: '', err: '' };
    return {
      text,
      io: { out: { write: (s: string) => (text.out += s) }, err: { write: (s: string) => (text.err += s) } },
    };
  };
  const refused = io();
  await assert.rejects(
    runEvents(['compact', '--artifacts', out, '--before', '6'], refused.io),
    (e: unknown) =>
      e instanceof SimrecError && e.detail.field === 'before' && /absorbed offsets below 5/.test(e.message),
  );
  const ok = io();
  assert.equal(await runEvents(['compact', '--artifacts', out, '--before', '5'], ok.io), 0);
  assert.match(ok.text.out, /dropped 5 record/);

  await assert.rejects(
    runBuild({ data, out: join(root, 'other'), config, events: join(root, 'nowhere') }),
    (e: unknown) => e instanceof SimrecError && e.code === 'CONFIG_INVALID' && e.detail.field === 'events',
  );
});
