// simrec replay on the tiny preset: the queries are exactly the first engagements of a pair after the cut (counted
// here independently from the data), and the live model, which learns the items created after the cut from their
// events, finds more of them than the frozen version, which cannot return an item it has never seen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ACTION_UNFAV } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runReplay } from '../src/eval/replay.ts';
import { replayCut } from '../src/eval/replay-split.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-replay-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('replay asks about every first engagement after the cut; live beats frozen on new items', async () => {
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 1 });
  const report = await runReplay({ data, config: resolveBuildConfig(undefined, { seed: 1 }), k: 10 });

  const d = await loadDataset(data);
  const at = replayCut(d, 0.8);
  assert.equal(report.at, at);
  const e = d.engagements!;
  const m = e.matrix;
  const before = new Set<string>();
  const after: { ts: number; pair: string }[] = [];
  for (let u = 0; u < m.nRows; u++)
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) {
      const pair = `${u} ${m.indices[j]}`;
      if (e.ts[j] < at) before.add(pair);
      else if (e.action[j] !== ACTION_UNFAV) after.push({ ts: e.ts[j], pair });
    }
  const firsts = new Set<string>();
  for (const x of after) if (!before.has(x.pair)) firsts.add(x.pair);
  assert.equal(report.queries, firsts.size);
  assert.equal(report.queries + report.notAsked, after.length);

  let newItems = 0;
  for (let i = 0; i < d.items.size; i++) if (d.itemCreatedTs[i] >= at) newItems++;
  assert.equal(report.laterItems, newItems);
  assert.ok(newItems > 0);
  assert.ok(
    report.live.hitRate > report.frozen.hitRate,
    `live ${report.live.hitRate} vs frozen ${report.frozen.hitRate}`,
  );
  assert.ok(report.live.mrr > report.frozen.mrr);
  assert.ok(report.live.mrr <= report.live.hitRate && report.frozen.mrr <= report.frozen.hitRate);
});
