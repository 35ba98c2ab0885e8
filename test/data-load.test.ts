/**
 * loadDataset against an independent reference on a few hundred thousand rows: many DuckDB chunks, ids of
 * every kind the interner treats differently (decimal, non-canonical decimal, short text, long text), repeats,
 * self-follows, and engagements in file order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CsrMatrix, cooOrder } from '../src/core/csr.ts';
import { IdMap } from '../src/core/id-map.ts';
import { Rng } from '../src/core/prng.ts';
import { loadDataset } from '../src/data/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'simrec-data-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function userId(rng: Rng): string {
  const k = rng.int(4000);
  switch (k % 4) {
    case 0:
      return String(k);
    case 1:
      return `0${k}`; // not canonical: must stay apart from String(k)
    case 2:
      return `u${k}`;
    default:
      return `a-rather-long-user-name-${k}`;
  }
}

test('300k follows and 200k engagements load exactly as a plain reference computes them', async () => {
  const rng = new Rng(42);
  const follows: [string, string][] = [];
  for (let i = 0; i < 300_000; i++) {
    const c = userId(rng);
    // Grouped by consumer in runs, like real exports.
    const run = 1 + rng.int(8);
    for (let j = 0; j < run && follows.length < 300_000; j++)
      follows.push([c, rng.next() < 0.01 ? c : userId(rng)]);
    i += run - 1;
  }
  const engagements: [string, string, number, number][] = [];
  for (let i = 0; i < 200_000; i++) {
    engagements.push([userId(rng), `item-${rng.int(5000)}`, 1 + rng.int(5), 1_600_000_000 + i]);
  }
  writeFileSync(
    join(dir, 'follows.csv'),
    `consumer_id,producer_id\n${follows.map((r) => r.join(',')).join('\n')}\n`,
  );
  writeFileSync(
    join(dir, 'engagements.csv'),
    `user_id,item_id,weight,ts\n${engagements.map((r) => r.join(',')).join('\n')}\n`,
  );

  const ds = await loadDataset(dir);

  // Reference: ids by first appearance (follows row by row, then engagements), matrices via core CSR.
  const users = new IdMap();
  const items = new IdMap();
  const fr: number[] = [];
  const fc: number[] = [];
  let self = 0;
  for (const [c, p] of follows) {
    const a = users.intern(c);
    const b = users.intern(p);
    if (a === b) self++;
    else {
      fr.push(a);
      fc.push(b);
    }
  }
  const er = new Int32Array(engagements.length);
  const ec = new Int32Array(engagements.length);
  engagements.forEach(([u, it], k) => {
    er[k] = users.intern(u);
    ec[k] = items.intern(it);
  });
  assert.deepEqual(ds.users.idList(), users.idList());
  assert.deepEqual(ds.items.idList(), items.idList());

  const f = CsrMatrix.fromCoo(
    Int32Array.from(fr),
    Int32Array.from(fc),
    null,
    users.size,
    users.size,
    'first',
  );
  assert.deepEqual(ds.follows!.indptr, f.indptr);
  assert.deepEqual(ds.follows!.indices, f.indices);
  assert.equal(ds.stats.selfFollowsDropped, self);
  assert.equal(ds.stats.duplicateFollowsMerged, fr.length - f.nnz);

  const { order, indptr } = cooOrder(er, ec, users.size, items.size);
  const m = ds.engagements!.matrix;
  assert.deepEqual(m.indptr, indptr);
  for (let k = 0; k < order.length; k++) {
    const [, , w, ts] = engagements[order[k]];
    assert.equal(m.indices[k], ec[order[k]]);
    assert.equal(m.values![k], w);
    assert.equal(ds.engagements!.ts[k], ts);
  }
});
