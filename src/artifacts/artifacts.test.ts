import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { IdMap } from '../core/id-map.ts';
import { openArtifactStore } from '../store/open.ts';
import type { VersionReader, VersionWriter } from '../store/store.ts';
import { readEngagedItems } from './inputs.ts';
import { KEYS } from './keys.ts';
import { readMfModel, writeMfModel } from './mf.ts';
import {
  csrAsTopList,
  readProducers,
  readSimClustersMeta,
  topListAsCsr,
  writeSimClustersMeta,
} from './simclusters.ts';

/** Writes one version with `write`, then hands its reader to `read`. */
async function withVersion(
  write: (w: VersionWriter) => Promise<void>,
  read: (r: VersionReader) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-artifacts-'));
  const store = openArtifactStore(dir);
  try {
    const w = await store.createVersion();
    await write(w);
    await w.commit({});
    const r = await store.openVersion();
    try {
      await read(r);
    } finally {
      await r.close();
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const isCode = (code: string, field: string) => (e: unknown) =>
  e instanceof SimrecError && e.code === code && e.detail.field === field;

test('sc/meta: read back as written; a missing or malformed record is refused naming the key', async () => {
  await withVersion(
    (w) => writeSimClustersMeta(w, { k: 3, case: 'catalogue', now: 1700000000, params: { a: 1 } }),
    async (r) => {
      assert.deepEqual(await readSimClustersMeta(r), {
        k: 3,
        case: 'catalogue',
        now: 1700000000,
        params: { a: 1 },
      });
    },
  );
  await withVersion(
    (w) => w.putJson(KEYS.simclustersMeta, { k: 0, case: 'social' }),
    (r) => assert.rejects(readSimClustersMeta(r), isCode('ARTIFACT_CORRUPT', KEYS.simclustersMeta)),
  );
  await withVersion(
    (w) => w.putJson(KEYS.simclustersMeta, { k: 2, case: 'graph' }),
    (r) => assert.rejects(readSimClustersMeta(r), isCode('ARTIFACT_CORRUPT', KEYS.simclustersMeta)),
  );
  await withVersion(
    async () => {},
    (r) => assert.rejects(readSimClustersMeta(r), isCode('ARTIFACT_MISSING', KEYS.simclustersMeta)),
  );
});

test('producers map into users (social) or items (catalogue); one outside the id map is corrupt', async () => {
  const users = IdMap.from(['u0', 'u1', 'u2']);
  const items = IdMap.from(['i0', 'i1']);
  await withVersion(
    async (w) => {
      await w.putIdMap(KEYS.users, users);
      await w.putIdMap(KEYS.items, items);
      await w.putTypedArray(KEYS.producers, Int32Array.from([2, 0]));
    },
    async (r) => {
      const social = await readProducers(r, { k: 1, case: 'social', now: null, params: {} });
      assert.deepEqual([social.id(0), social.id(1)], ['u2', 'u0']);
      assert.equal(social.social, true);
      // Catalogue: producer 0 is item 2, and there are two items.
      await assert.rejects(
        readProducers(r, { k: 1, case: 'catalogue', now: null, params: {} }),
        isCode('ARTIFACT_CORRUPT', KEYS.producers),
      );
    },
  );
});

test('a ranked cluster list survives its CSR form; a list stored without scores ranks all 1', () => {
  const list = {
    nClusters: 2,
    nEntities: 4,
    indptr: Int32Array.from([0, 2, 3]),
    ids: Int32Array.from([3, 1, 0]),
    scores: Float32Array.from([0.9, 0.5, 0.7]),
  };
  assert.deepEqual(csrAsTopList(topListAsCsr(list)), list);
  const bare = new CsrMatrix(1, 4, Int32Array.from([0, 2]), Int32Array.from([2, 0]), null);
  assert.deepEqual(csrAsTopList(bare).scores, Float32Array.from([1, 1]));
});

test('the MF model buffers come back by name; no model is null; engaged items past the log are none', async () => {
  const buffers = { meta: Uint8Array.from([1, 2]), items: Uint8Array.from([3]) };
  await withVersion(
    async (w) => {
      await writeMfModel(w, buffers);
      await w.putSparseRows(
        KEYS.engagements,
        new CsrMatrix(2, 5, Int32Array.from([0, 2, 2]), Int32Array.from([1, 4]), Float32Array.from([1, 1])),
      );
    },
    async (r) => {
      assert.deepEqual(await readMfModel(r), buffers);
      assert.deepEqual(await readEngagedItems(r, 0), Int32Array.from([1, 4]));
      assert.deepEqual(await readEngagedItems(r, 1), new Int32Array(0));
      assert.deepEqual(await readEngagedItems(r, 7), new Int32Array(0));
    },
  );
  await withVersion(
    async () => {},
    async (r) => assert.equal(await readMfModel(r), null),
  );
});
