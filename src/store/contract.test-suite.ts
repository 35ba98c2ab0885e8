/**
 * The behaviour every ArtifactStore backend must show, as a node:test suite. A backend's test file calls
 * `artifactStoreContract(name, create)` with a factory for fresh, empty stores plus the few hooks that need
 * backend knowledge (damaging a stored value, a factory a child process can call).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { IdMap } from '../core/id-map.ts';
import { CODE_VERSION } from '../core/version.ts';
import { ReloadingReader } from './reloading-reader.ts';
import type { ArtifactStore, ManifestFields, VersionReader } from './store.ts';
import { isVersionId } from './version-id.ts';

export interface ContractBackend {
  /** A fresh, empty store. */
  store: ArtifactStore;
  /** A second, independent handle on the same storage, as another process would have. */
  reopen(): Promise<ArtifactStore>;
  /**
   * Damages the stored value of an entry of a committed version (no reader of it is open): 'truncate' keeps
   * its first 10 bytes; 'flip' inverts its last byte, leaving the length intact.
   */
  corrupt(versionId: string, key: string, how: 'truncate' | 'flip'): Promise<void>;
  /** How a child process opens this same store: `module` (URL) exports `export` (`fn` or `Class.method`). */
  child: { module: string; export: string; arg: unknown };
  /** Called after a build was killed and before the next one starts (e.g. to wait out a lock lease). */
  afterCrash?(): Promise<void>;
  dispose(): Promise<void>;
}

const err = (code: string) => ({ name: 'SimrecError', code });
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./contract-crash-child.ts', import.meta.url));

/** Commits a version holding a float32 'x' and json 'tag'. */
async function commitTagged(store: ArtifactStore, tag: string, x: number[]): Promise<string> {
  const w = await store.createVersion();
  await w.putTypedArray('x', new Float32Array(x));
  await w.putJson('tag', tag);
  await w.commit({ seed: 1 });
  return w.id;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `gave up waiting for ${what}`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function runCrashedBuild(b: ContractBackend, mode: 'kill' | 'exit'): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ ...b.child, mode })], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (mode === 'kill') assert.equal(r.signal, 'SIGKILL', `child did not die by SIGKILL: ${r.stderr}`);
  else assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const { id } = JSON.parse(r.stdout.trim().split('\n')[0]) as { id: string };
  return id;
}

export function artifactStoreContract(name: string, create: () => Promise<ContractBackend>): void {
  const withBackend = (fn: (b: ContractBackend) => Promise<void>) => async () => {
    const b = await create();
    try {
      await fn(b);
    } finally {
      await b.dispose();
    }
  };

  describe(`ArtifactStore contract: ${name}`, () => {
    test(
      'every kind of entry round-trips, empty ones too, with a manifest that describes it',
      withBackend(async ({ store }) => {
        const i32 = new Int32Array([-2147483648, -1, 0, 1, 2147483647]);
        const f32 = new Float32Array([Number.NaN, -0, Number.POSITIVE_INFINITY, 1.5, 1e-45]);
        const f64 = new Float64Array([Math.PI, Number.NEGATIVE_INFINITY, 5e-324, Number.NaN]);
        const blob = new Uint8Array(256).map((_, i) => i);
        const ids = IdMap.from(['alice', 'bob,comma', 'new\nline', 'ünïcødé 🎈', '']);
        // 3×4: row 0 {0: 1.5, 3: -2}, row 1 empty, row 2 {1: 0.25}
        const csr = CsrMatrix.fromCoo(
          new Int32Array([0, 2, 0]),
          new Int32Array([3, 1, 0]),
          new Float32Array([-2, 0.25, 1.5]),
          3,
          4,
        );
        const pattern = CsrMatrix.fromCoo(new Int32Array([0, 1, 0]), new Int32Array([2, 1, 0]), null, 2, 3);
        // 5×10 for point lookup: rows 1 and 3 empty
        const rows = CsrMatrix.fromCoo(
          new Int32Array([0, 0, 2, 2, 2, 4]),
          new Int32Array([7, 1, 9, 0, 4, 5]),
          new Float32Array([2, 0.5, -1, 1, 3, 42]),
          5,
          10,
        );
        const dense = { rows: 3, dim: 2, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
        const meta = { a: [1, 'x', null], nested: { ok: true }, s: 'ü' };

        const w = await store.createVersion();
        assert.ok(isVersionId(w.id));
        await w.putBlob('blob/bytes', blob);
        await w.putBlob('blob/empty', new Uint8Array(0));
        await w.putTypedArray('arr/i32', i32);
        await w.putTypedArray('arr/f32', f32);
        await w.putTypedArray('arr/f64', f64);
        await w.putTypedArray('arr/i32-empty', new Int32Array(0));
        await w.putTypedArray('arr/f32-empty', new Float32Array(0));
        await w.putTypedArray('arr/f64-empty', new Float64Array(0));
        await w.putTypedArray('arr/view', new Int32Array([9, 8, 7, 6]).subarray(1, 3));
        await w.putIdMap('ids/users', ids);
        await w.putIdMap('ids/empty', new IdMap());
        await w.putCsr('csr/values', csr);
        await w.putCsr('csr/pattern', pattern);
        await w.putCsr(
          'csr/empty',
          new CsrMatrix(0, 0, new Int32Array(1), new Int32Array(0), new Float32Array(0)),
        );
        await w.putSparseRows('rows/emb', rows);
        await w.putSparseRows('rows/pattern', pattern);
        await w.putSparseRows(
          'rows/none',
          new CsrMatrix(2, 5, new Int32Array(3), new Int32Array(0), new Float32Array(0)),
        );
        await w.putDense('dense/m', dense);
        await w.putDense('dense/empty', { rows: 0, dim: 4, data: new Float32Array(0) });
        await w.putJson('meta/json', meta);
        const fields: ManifestFields = {
          seed: 42,
          config: { k: 3, nested: { a: 'b' } },
          inputs: [{ kind: 'edges', path: '/data/edges.csv', bytes: 10, sha256: 'a'.repeat(64), rows: 3 }],
          counts: { producers: 3 },
          stages: ['similarity', 'known-for'],
          timings: { similarity: 1.5, 'known-for': 2 },
          extra: { note: 'x' },
        };
        const committed = await w.commit(fields);
        assert.equal(await store.currentVersionId(), w.id);

        const r = await store.openVersion();
        try {
          assert.equal(r.id, w.id);
          const m = r.manifest;
          assert.deepEqual(m, committed);
          assert.equal(m.id, w.id);
          assert.equal(m.codeVersion, CODE_VERSION);
          assert.equal(m.seed, 42);
          assert.deepEqual(m.config, fields.config);
          assert.deepEqual(m.inputs, fields.inputs);
          assert.deepEqual(m.counts, fields.counts);
          assert.deepEqual(m.stages, fields.stages);
          assert.deepEqual(m.extra, fields.extra);
          assert.equal(m.timings.similarity, 1.5);
          assert.ok(m.timings['store.commit'] >= 0);
          assert.ok(Date.parse(m.createdAt) <= Date.parse(m.committedAt));
          assert.equal(m.totals.entries, 20);
          // 20 entries, plus rows stored singly: rows/emb 3, rows/pattern 2, rows/none 0
          assert.equal(m.totals.keys, 25);

          // sizes and checksums, from the documented byte layouts
          const f32Entry = r.entry('arr/f32');
          assert.deepEqual(
            { bytes: f32Entry?.bytes, dtype: f32Entry?.dtype, shape: f32Entry?.shape },
            { bytes: 16 + 20, dtype: 'float32', shape: [5] },
          );
          const viewBytes = new Uint8Array([
            ...[0x53, 0x52, 0x41, 0x31, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
            ...[8, 0, 0, 0, 7, 0, 0, 0],
          ]);
          assert.equal(r.entry('arr/view')?.sha256, sha256(viewBytes));
          assert.equal(r.entry('blob/bytes')?.bytes, 8 + 256);
          assert.equal(r.entry('dense/m')?.bytes, 16 + 24);
          // whole matrix 24 + 4·6 + 4·6·2 = 96; rows of 2, 3 and 1 entries: 24 + 32 + 16
          assert.deepEqual(
            {
              bytes: r.entry('rows/emb')?.bytes,
              rowKeys: r.entry('rows/emb')?.rowKeys,
              shape: r.entry('rows/emb')?.shape,
            },
            { bytes: 96 + 72, rowKeys: 3, shape: [5, 10, 6] },
          );

          assert.equal(r.has('arr/f32'), true);
          assert.equal(r.has('arr/nope'), false);
          assert.deepEqual(r.keys('arr/'), [
            'arr/f32',
            'arr/f32-empty',
            'arr/f64',
            'arr/f64-empty',
            'arr/i32',
            'arr/i32-empty',
            'arr/view',
          ]);
          assert.equal(r.keys().length, 20);

          assert.deepEqual(await r.blob('blob/bytes'), blob);
          assert.equal((await r.blob('blob/empty')).byteLength, 0);
          const gotI32 = await r.typedArray('arr/i32', 'int32');
          assert.ok(gotI32 instanceof Int32Array);
          assert.deepEqual([...gotI32], [...i32]);
          const gotF32 = await r.typedArray('arr/f32');
          assert.ok(gotF32 instanceof Float32Array);
          assert.ok(
            Number.isNaN(gotF32[0]) && Object.is(gotF32[1], -0) && gotF32[2] === Number.POSITIVE_INFINITY,
          );
          assert.deepEqual([...gotF32.subarray(3)], [...f32.subarray(3)]);
          const gotF64 = await r.typedArray('arr/f64', 'float64');
          assert.ok(gotF64 instanceof Float64Array);
          assert.deepEqual([...gotF64.subarray(0, 3)], [Math.PI, Number.NEGATIVE_INFINITY, 5e-324]);
          assert.ok(Number.isNaN(gotF64[3]));
          assert.ok((await r.typedArray('arr/i32-empty')) instanceof Int32Array);
          assert.equal((await r.typedArray('arr/f64-empty', 'float64')).length, 0);
          assert.deepEqual([...(await r.typedArray('arr/view'))], [8, 7]);

          const gotIds = await r.idMap('ids/users');
          assert.deepEqual(gotIds.idList(), ids.idList());
          assert.equal(gotIds.get('new\nline'), 2);
          assert.equal((await r.idMap('ids/empty')).size, 0);

          const gotCsr = await r.csr('csr/values');
          assert.deepEqual([gotCsr.nRows, gotCsr.nCols], [3, 4]);
          assert.deepEqual([...gotCsr.indptr], [0, 2, 2, 3]);
          assert.deepEqual([...gotCsr.indices], [0, 3, 1]);
          assert.deepEqual([...(gotCsr.values ?? [])], [1.5, -2, 0.25]);
          const gotPattern = await r.csr('csr/pattern');
          assert.equal(gotPattern.values, null);
          assert.deepEqual([...gotPattern.indices], [0, 2, 1]);
          const gotEmpty = await r.csr('csr/empty');
          assert.deepEqual([gotEmpty.nRows, gotEmpty.nCols, gotEmpty.nnz], [0, 0, 0]);

          const row0 = await r.sparseRow('rows/emb', 0);
          assert.deepEqual([...row0.ids], [1, 7]);
          assert.deepEqual([...row0.values], [0.5, 2]);
          assert.equal((await r.sparseRow('rows/emb', 1)).ids.length, 0);
          const row2 = await r.sparseRow('rows/emb', 2);
          assert.deepEqual([...row2.ids], [0, 4, 9]);
          assert.deepEqual([...row2.values], [1, 3, -1]);
          assert.deepEqual([...(await r.sparseRow('rows/emb', 4)).values], [42]);
          // rows read one after another stay intact (no shared read buffer leaks through)
          assert.deepEqual([...row0.ids], [1, 7]);
          const pr = await r.sparseRow('rows/pattern', 0);
          assert.deepEqual([...pr.ids], [0, 2]);
          assert.deepEqual([...pr.values], [1, 1]);
          assert.equal((await r.sparseRow('rows/none', 1)).ids.length, 0);
          const picked = await r.sparseRows('rows/emb', [4, 1, 0, 2, 0]);
          assert.deepEqual([picked.nRows, picked.nCols], [5, 10]);
          assert.deepEqual([...picked.indptr], [0, 1, 1, 3, 6, 8]);
          assert.deepEqual([...picked.indices], [5, 1, 7, 0, 4, 9, 1, 7]);
          assert.deepEqual([...(picked.values ?? [])], [42, 0.5, 2, 1, 3, -1, 0.5, 2]);
          assert.equal((await r.sparseRows('rows/emb', [])).nRows, 0);
          const whole = await r.csr('rows/emb');
          assert.deepEqual([...whole.indptr], [...rows.indptr]);
          assert.deepEqual([...whole.indices], [...rows.indices]);

          const gotDense = await r.dense('dense/m');
          assert.deepEqual([gotDense.rows, gotDense.dim, ...gotDense.data], [3, 2, 1, 2, 3, 4, 5, 6]);
          assert.deepEqual([...(await r.denseRow('dense/m', 1))], [3, 4]);
          const emptyDense = await r.dense('dense/empty');
          assert.deepEqual([emptyDense.rows, emptyDense.dim, emptyDense.data.length], [0, 4, 0]);

          assert.deepEqual(await r.json('meta/json'), meta);
          await r.verify();
        } finally {
          await r.close();
        }
        assert.equal(r.closed, true);
        assert.throws(() => r.has('arr/f32'), err('INTERNAL'));
      }),
    );

    test(
      'version ids are unique and sort in commit order; listVersions is oldest first',
      withBackend(async ({ store }) => {
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) ids.push(await commitTagged(store, `v${i}`, [i]));
        assert.equal(new Set(ids).size, 4);
        assert.deepEqual([...ids].sort(), ids);
        const list = await store.listVersions();
        assert.deepEqual(
          list.map((v) => [v.id, v.committed, v.current]),
          ids.map((id, i) => [id, true, i === 3]),
        );
      }),
    );

    test(
      'readers of the old version keep working while a new one is written and committed',
      withBackend(async (b) => {
        const { store } = b;
        const v1 = await commitTagged(store, 'one', [1, 2, 3]);
        const old = await store.openVersion();
        const other = await b.reopen();
        try {
          const w = await store.createVersion();
          await w.putTypedArray('x', new Float32Array([4, 5, 6]));
          await w.putJson('tag', 'two');
          // written but not committed: nobody sees it
          assert.equal(await store.currentVersionId(), v1);
          assert.equal(await other.currentVersionId(), v1);
          const mid = await other.openVersion();
          assert.equal(await mid.json('tag'), 'one');
          await mid.close();
          await assert.rejects(other.openVersion(w.id), err('ARTIFACT_MISSING'));
          await w.commit();
          assert.equal(await other.currentVersionId(), w.id);
          assert.deepEqual([...(await old.typedArray('x'))], [1, 2, 3]);
          assert.equal(await old.json('tag'), 'one');
          await old.verify();
          const fresh = await other.openVersion();
          assert.equal(fresh.id, w.id);
          assert.deepEqual([...(await fresh.typedArray('x'))], [4, 5, 6]);
          await fresh.close();
          const pinned = await other.openVersion(v1);
          assert.equal(await pinned.json('tag'), 'one');
          await pinned.close();
        } finally {
          await old.close();
          await other.close();
        }
      }),
    );

    for (const mode of ['kill', 'exit'] as const) {
      test(
        `a build that ${mode === 'kill' ? 'is killed mid-write' : 'exits without committing'} leaves the previous version current`,
        withBackend(async (b) => {
          const { store } = b;
          const v1 = await commitTagged(store, 'one', [1, 2, 3]);
          const before = await store.openVersion();
          try {
            const crashed = runCrashedBuild(b, mode);
            assert.ok(isVersionId(crashed));
            assert.notEqual(crashed, v1);
            assert.equal(await store.currentVersionId(), v1);
            assert.deepEqual([...(await before.typedArray('x'))], [1, 2, 3]);
            const again = await store.openVersion();
            assert.equal(again.id, v1);
            await again.verify();
            await again.close();
            const crashedInfo = (await store.listVersions()).find((v) => v.id === crashed);
            assert.deepEqual(crashedInfo, { id: crashed, committed: false, current: false });
            await assert.rejects(store.openVersion(crashed), err('ARTIFACT_MISSING'));
            await assert.rejects(store.activate(crashed), err('ARTIFACT_MISSING'));

            await b.afterCrash?.();
            // The next build takes over the dead build's lock and removes its partial version.
            const v2 = await commitTagged(store, 'two', [7]);
            assert.equal(await store.currentVersionId(), v2);
            assert.deepEqual(
              (await store.listVersions()).map((v) => v.id),
              [v1, v2],
            );
            const pruned = await store.prune({ keep: 5 });
            assert.deepEqual(pruned, { removed: [], kept: [v1, v2] });
            assert.deepEqual(
              (await store.listVersions()).map((v) => v.id),
              [v1, v2],
            );
          } finally {
            await before.close();
          }
        }),
      );
    }

    test(
      'a writer that never commits changes nothing, and abort removes its version',
      withBackend(async ({ store }) => {
        const v1 = await commitTagged(store, 'one', [1]);
        const w = await store.createVersion();
        await w.putTypedArray('x', new Float32Array([9]));
        assert.equal(await store.currentVersionId(), v1);
        assert.deepEqual(
          (await store.listVersions()).map((v) => [v.id, v.committed]),
          [
            [v1, true],
            [w.id, false],
          ],
        );
        await assert.rejects(store.openVersion(w.id), err('ARTIFACT_MISSING'));
        await w.abort();
        await w.abort();
        await assert.rejects(w.putJson('late', 1), err('INTERNAL'));
        await assert.rejects(w.commit(), err('INTERNAL'));
        assert.deepEqual(
          (await store.listVersions()).map((v) => v.id),
          [v1],
        );
        assert.equal(await store.currentVersionId(), v1);
        // the lock went with it
        const v2 = await commitTagged(store, 'two', [2]);
        assert.equal(await store.currentVersionId(), v2);
      }),
    );

    test(
      'one build at a time: a second writer, prune or activate meets ARTIFACT_LOCKED until commit',
      withBackend(async (b) => {
        const { store } = b;
        const v1 = await commitTagged(store, 'one', [1]);
        const other = await b.reopen();
        try {
          const w = await store.createVersion();
          await assert.rejects(store.createVersion(), err('ARTIFACT_LOCKED'));
          await assert.rejects(other.createVersion(), err('ARTIFACT_LOCKED'));
          await assert.rejects(other.prune({ keep: 1 }), err('ARTIFACT_LOCKED'));
          await assert.rejects(other.activate(v1), err('ARTIFACT_LOCKED'));
          await w.putJson('tag', 'two');
          await w.commit();
          const w3 = await other.createVersion();
          await assert.rejects(store.createVersion(), err('ARTIFACT_LOCKED'));
          await w3.abort();
          await other.activate(v1);
          assert.equal(await store.currentVersionId(), v1);
        } finally {
          await other.close();
        }
      }),
    );

    test(
      'commit without activation, activate for rollback, and prune that never removes current',
      withBackend(async ({ store }) => {
        const v1 = await commitTagged(store, 'one', [1]);
        const v2 = await commitTagged(store, 'two', [2]);
        const v3 = await commitTagged(store, 'three', [3]);
        const w = await store.createVersion();
        await w.putJson('tag', 'four');
        await w.commit({}, { activate: false });
        const v4 = w.id;
        assert.equal(await store.currentVersionId(), v3);
        await store.activate(v2);
        assert.equal(await store.currentVersionId(), v2);
        await assert.rejects(store.prune({ keep: -1 }), err('CONFIG_INVALID'));
        await assert.rejects(store.prune({ keep: 1.5 }), err('CONFIG_INVALID'));
        assert.deepEqual(await store.prune({ keep: 1 }), { removed: [v1, v3], kept: [v2, v4] });
        await assert.rejects(store.openVersion(v1), err('ARTIFACT_MISSING'));
        const r4 = await store.openVersion(v4);
        assert.equal(await r4.json('tag'), 'four');
        await r4.close();
        assert.deepEqual(await store.prune({ keep: 0 }), { removed: [v4], kept: [v2] });
        const cur = await store.openVersion();
        assert.equal(await cur.json('tag'), 'two');
        await cur.close();
      }),
    );

    test(
      'a damaged version is refused when opened; unverified, damage reads as ARTIFACT_CORRUPT or fails verify()',
      withBackend(async (b) => {
        const { store } = b;
        const w = await store.createVersion();
        await w.putTypedArray('a', new Float32Array([1, 2, 3]));
        await w.putTypedArray('b', new Int32Array([4, 5, 6]));
        await w.commit();
        await b.corrupt(w.id, 'b', 'flip');
        const isB = (e: SimrecError) => e.code === 'ARTIFACT_CORRUPT' && e.detail.field === 'b';
        await assert.rejects(store.openVersion(), isB);
        await assert.rejects(store.openVersion(w.id), isB);
        const r1 = await store.openVersion(undefined, { verify: false });
        try {
          await assert.rejects(
            r1.verify(),
            (e: SimrecError) => e.code === 'ARTIFACT_CORRUPT' && e.detail.field === 'b',
          );
        } finally {
          await r1.close();
        }
        await b.corrupt(w.id, 'a', 'truncate');
        await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
        const r2 = await store.openVersion(w.id, { verify: false });
        try {
          await assert.rejects(r2.typedArray('a'), err('ARTIFACT_CORRUPT'));
          await assert.rejects(r2.verify(), err('ARTIFACT_CORRUPT'));
        } finally {
          await r2.close();
        }
      }),
    );

    test(
      'verifyVersion checks a version opened unverified; ReloadingReader prepares beside the check',
      withBackend(async (b) => {
        const { store } = b;
        const w1 = await store.createVersion();
        await w1.putTypedArray('a', new Float32Array([1, 2, 3]));
        await w1.commit();
        await store.verifyVersion(w1.id);
        const prepared: string[] = [];
        const rr = new ReloadingReader(store, {
          pollMs: 0,
          prepare: async (reader) => {
            prepared.push(reader.id);
            return `model of ${reader.id}`;
          },
        });
        try {
          const lease = await rr.acquire();
          assert.equal(lease.prepared, `model of ${w1.id}`);
          lease.release();
          // A damaged version: the check fails, the preparation ran to its end, the old version keeps serving.
          const w2 = await store.createVersion();
          await w2.putTypedArray('a', new Float32Array([4, 5, 6]));
          await w2.commit();
          await b.corrupt(w2.id, 'a', 'flip');
          await assert.rejects(store.verifyVersion(w2.id), err('ARTIFACT_CORRUPT'));
          await assert.rejects(rr.refresh(), err('ARTIFACT_CORRUPT'));
          assert.deepEqual(prepared, [w1.id, w2.id]);
          assert.equal(rr.versionId, w1.id);
          assert.equal(rr.failure?.id, w2.id);
          // Not checked or prepared again while `current` still names it; the old version answers.
          assert.equal(await rr.refresh(), false);
          assert.deepEqual(prepared, [w1.id, w2.id]);
          // A preparation that fails keeps the old version too.
          const w3 = await store.createVersion();
          await w3.putTypedArray('a', new Float32Array([7]));
          await w3.commit();
          const failing = new ReloadingReader(store, {
            pollMs: 0,
            prepare: async () => {
              throw new SimrecError('ARTIFACT_MISSING', 'cannot be served');
            },
          });
          await assert.rejects(failing.acquire(), err('ARTIFACT_MISSING'));
          assert.equal(failing.failure?.id, w3.id);
          await failing.close();
        } finally {
          await rr.close();
        }
      }),
    );

    test(
      'bad keys, values, fields and requests are refused with their codes',
      withBackend(async ({ store }) => {
        await assert.rejects(store.openVersion(), err('ARTIFACT_MISSING'));
        assert.equal(await store.currentVersionId(), null);
        assert.deepEqual(await store.listVersions(), []);
        const w = await store.createVersion();
        await assert.rejects(w.putJson('', 1), err('CONFIG_INVALID'));
        await assert.rejects(w.putJson('a\u0000b', 1), err('CONFIG_INVALID'));
        await assert.rejects(w.putJson('x'.repeat(300), 1), err('CONFIG_INVALID'));
        await w.putJson('k', 1);
        await assert.rejects(w.putJson('k', 2), err('CONFIG_INVALID'));
        await assert.rejects(w.putTypedArray('u8', new Uint8Array(2) as never), err('CONFIG_INVALID'));
        await assert.rejects(
          w.putDense('d', { rows: 2, dim: 3, data: new Float32Array(5) }),
          err('CONFIG_INVALID'),
        );
        await assert.rejects(w.putJson('j', undefined), err('CONFIG_INVALID'));
        await assert.rejects(w.putJson('j', { n: 1n }), err('CONFIG_INVALID'));
        const badCsr = new CsrMatrix(
          1,
          2,
          new Int32Array([0, 1]),
          new Int32Array([5]),
          new Float32Array([1]),
        );
        await assert.rejects(w.putSparseRows('s', badCsr), err('CONFIG_INVALID'));
        await assert.rejects(w.commit({ seed: 1.5 }), err('CONFIG_INVALID'));
        await assert.rejects(w.commit({ timings: { a: -1 } }), err('CONFIG_INVALID'));
        await assert.rejects(w.commit({ inputs: [{ kind: 'x' }] as never }), err('CONFIG_INVALID'));
        await w.putSparseRows(
          'rows',
          new CsrMatrix(2, 3, new Int32Array([0, 1, 1]), new Int32Array([2]), null),
        );
        await w.putDense('dense', { rows: 1, dim: 2, data: new Float32Array([1, 2]) });
        await w.commit({ seed: 7 });

        await assert.rejects(store.openVersion('../etc'), err('CONFIG_INVALID'));
        await assert.rejects(store.openVersion('20200101T000000.000Z-000000'), err('ARTIFACT_MISSING'));
        await assert.rejects(store.activate('20200101T000000.000Z-000000'), err('ARTIFACT_MISSING'));
        const r = await store.openVersion();
        try {
          assert.equal(r.manifest.seed, 7);
          await assert.rejects(r.json('nope'), err('ARTIFACT_MISSING'));
          await assert.rejects(r.typedArray('k'), err('INTERNAL'));
          await assert.rejects(r.sparseRow('rows', 2), err('NOT_FOUND'));
          await assert.rejects(r.sparseRow('rows', -1), err('NOT_FOUND'));
          await assert.rejects(r.sparseRows('rows', [0, 5]), err('NOT_FOUND'));
          await assert.rejects(r.denseRow('dense', 1), err('NOT_FOUND'));
          await assert.rejects(r.csr('k'), err('INTERNAL'));
          assert.deepEqual([...(await r.sparseRow('rows', 0)).ids], [2]);
        } finally {
          await r.close();
        }
        await assert.rejects(r.json('k'), err('INTERNAL'));
      }),
    );

    test(
      'ReloadingReader opens lazily, switches on refresh, and closes the old version after its last lease',
      withBackend(async ({ store }) => {
        const switches: [string | null, string][] = [];
        const rr = new ReloadingReader(store, { pollMs: 0, onSwitch: (f, t) => switches.push([f, t]) });
        assert.equal(rr.versionId, null);
        await assert.rejects(rr.acquire(), err('ARTIFACT_MISSING'));
        const v1 = await commitTagged(store, 'one', [1]);
        assert.equal(rr.versionId, null);
        const lease = await rr.acquire();
        assert.equal(lease.reader.id, v1);
        const v2 = await commitTagged(store, 'two', [2]);
        // no polling: still serving v1 until refresh
        assert.equal(await rr.use((r) => r.json('tag')), 'one');
        assert.equal(await rr.refresh(), true);
        assert.equal(rr.versionId, v2);
        assert.equal(await rr.use((r) => r.json('tag')), 'two');
        // the request that started on v1 finishes on v1
        assert.equal(lease.reader.closed, false);
        assert.deepEqual([...(await lease.reader.typedArray('x'))], [1]);
        lease.release();
        await until(() => lease.reader.closed, 'the replaced version to close');
        lease.release();
        assert.equal(await rr.refresh(), false);
        const [a, b2] = await Promise.all([rr.refresh(), rr.refresh()]);
        assert.deepEqual([a, b2], [false, false]);
        assert.deepEqual(switches, [
          [null, v1],
          [v1, v2],
        ]);
        await assert.rejects(
          rr.use(async () => {
            throw new Error('boom');
          }),
          /boom/,
        );
        const held = await rr.acquire();
        await rr.close();
        assert.equal(held.reader.closed, false);
        assert.equal(await held.reader.json('tag'), 'two');
        held.release();
        await until(() => held.reader.closed, 'the last reader to close');
        await assert.rejects(rr.acquire(), err('INTERNAL'));
      }),
    );

    test(
      'ReloadingReader polling picks up a version committed through another handle',
      withBackend(async (b) => {
        const { store } = b;
        await commitTagged(store, 'one', [1]);
        const serving = await b.reopen();
        const errors: unknown[] = [];
        const rr = new ReloadingReader(serving, { pollMs: 10, onError: (e) => errors.push(e) });
        let seen: VersionReader | undefined;
        try {
          assert.equal(
            await rr.use((r) => {
              seen = r;
              return r.json('tag');
            }),
            'one',
          );
          const v2 = await commitTagged(store, 'two', [2]);
          await until(() => rr.versionId === v2, 'the poll to switch');
          assert.equal(await rr.use((r) => r.json('tag')), 'two');
          await until(() => seen?.closed === true, 'the idle old version to close');
          assert.deepEqual(errors, []);
        } finally {
          await rr.close();
          await serving.close();
        }
      }),
    );
  });
}
