// The replay's two halves are the whole: the "before" files read back and the later events folded in by the
// build's own absorbEvents give the full data set again (same engagements, items and authors, by external id).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isItemEvent } from '../core/event.ts';
import { absorbEvents } from '../data/absorb-events.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { generateSynthetic } from '../data/synthetic/generate.ts';
import { replayCut, splitForReplay } from './replay-split.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-replay-split-'));
after(() => rmSync(root, { recursive: true, force: true }));

function engagementSet(d: Dataset): string[] {
  const e = d.engagements!;
  const m = e.matrix;
  const out: string[] = [];
  for (let u = 0; u < m.nRows; u++)
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++)
      out.push(`${d.users.id(u)} ${d.items.id(m.indices[k])} ${m.values?.[k]} ${e.ts[k]} ${e.action[k]}`);
  return out.sort();
}

function itemSet(d: Dataset): string[] {
  const out: string[] = [];
  for (let i = 0; i < d.items.size; i++) {
    const a = d.itemAuthor[i];
    const tags = d.itemTags ? Array.from(d.itemTags.rowIndices(i), (t) => d.topics.id(t)).sort() : [];
    out.push(`${d.items.id(i)} ${a < 0 ? '-' : d.users.id(a)} ${d.itemCreatedTs[i]} ${tags.join('|')}`);
  }
  return out.sort();
}

test('before-files plus the later events give the whole data set back', async () => {
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 3 });
  const full = await loadDataset(data);
  const at = replayCut(full, 0.7);
  const split = splitForReplay(full, at, join(root, 'before'));
  assert.ok(split.records.length > 0 && split.laterItems > 0, 'the tiny preset has later events and items');
  for (let j = 1; j < split.records.length; j++) {
    assert.ok(split.records[j].ts >= split.records[j - 1].ts, 'time order');
    assert.equal(split.records[j].offset, j);
  }
  // Every engagement's item exists before its first event.
  const seen = new Set<string>();
  for (const r of split.records) {
    if (isItemEvent(r)) seen.add(r.itemId);
    else if (r.itemId !== undefined) {
      const created = full.itemCreatedTs[full.items.get(r.itemId)];
      if (created >= at) assert.ok(seen.has(r.itemId), `item ${r.itemId} engaged before its upsert`);
    }
  }
  const before = await loadDataset(join(root, 'before'));
  const timed = Array.from(before.engagements!.ts).filter((t) => t >= at);
  assert.deepEqual(timed, [], 'nothing at or after the cut is in the before-files');
  const { dataset: whole } = absorbEvents(before, split.records, split.records.length);
  assert.deepEqual(engagementSet(whole), engagementSet(full));
  assert.deepEqual(itemSet(whole), itemSet(full));
  assert.equal(whole.follows!.nnz, full.follows!.nnz);
});
