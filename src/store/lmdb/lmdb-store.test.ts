import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { xxh3 } from '@node-rs/xxhash';
import { CsrMatrix } from '../../core/csr.ts';
import type { SimrecError } from '../../core/errors.ts';
import { fileQuickSumOffThread } from '../checksum-thread.ts';
import { encodeSparseRowInto, sparseRowBytes } from '../codec.ts';
import { artifactStoreContract } from '../contract.test-suite.ts';
import { fileQuickSum, fileQuickSumSync } from '../manifest.ts';
import { ReloadingReader } from '../reloading-reader.ts';
import { openVersionEnv, rowKeyBuffer, setRow } from './layout.ts';
import { LmdbArtifactStore } from './lmdb-store.ts';

const err = (code: string) => ({ name: 'SimrecError', code });
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'simrec-store-'));
}

artifactStoreContract('lmdb', async () => {
  const root = tempRoot();
  return {
    store: new LmdbArtifactStore(root),
    reopen: async () => new LmdbArtifactStore(root),
    corrupt: async (id, key, how) => {
      const { env, data } = openVersionEnv(join(root, 'versions', id, 'data.mdb'), false);
      try {
        const value = data.getBinary(key);
        assert.ok(value, `no stored value for ${key}`);
        const bad = how === 'truncate' ? value.subarray(0, 10) : new Uint8Array(value);
        if (how === 'flip') bad[bad.length - 1] ^= 0xff;
        data.putSync(key, bad);
      } finally {
        await env.close();
      }
    },
    child: {
      module: new URL('./lmdb-store.ts', import.meta.url).href,
      export: 'LmdbArtifactStore.open',
      arg: root,
    },
    dispose: async () => rmSync(root, { recursive: true, force: true }),
  };
});

async function withRoot(fn: (root: string, store: LmdbArtifactStore) => Promise<void>): Promise<void> {
  const root = tempRoot();
  try {
    await fn(root, new LmdbArtifactStore(root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('on disk: CURRENT names the version, the manifest sits beside the data, nothing else is left', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    assert.ok(existsSync(join(root, 'LOCK')));
    await w.putJson('a', 1);
    const m = await w.commit({ seed: 3 });
    assert.equal(readFileSync(join(root, 'CURRENT'), 'utf8'), `${w.id}\n`);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'versions', w.id, 'manifest.json'), 'utf8')), m);
    assert.deepEqual(readdirSync(root).sort(), ['CURRENT', 'versions']);
    assert.deepEqual(readdirSync(join(root, 'versions', w.id)).sort(), [
      'data.mdb',
      'data.mdb-lock',
      'manifest.json',
    ]);
  }));

test('entries of 16 MiB and more are decoded in place from the map; smaller ones are copied once', () =>
  withRoot(async (_root, store) => {
    const n = 4_500_000; // 18 MB, above lmdb-js's 16 MiB shared-buffer threshold
    const big = new Float32Array(n);
    for (let i = 0; i < n; i++) big[i] = (i % 1000) * 0.5;
    const w = await store.createVersion();
    await w.putTypedArray('big', big);
    await w.putTypedArray('small', new Float32Array([1, 2, 3]));
    await w.commit();
    const r = await store.openVersion();
    try {
      const got = r.typedArraySync('big', 'float32');
      assert.equal(got.length, n);
      assert.ok(got.buffer.byteLength > got.byteLength + 16, 'expected a view of the memory map');
      let mismatches = 0;
      for (let i = 0; i < n; i++) if (got[i] !== big[i]) mismatches++;
      assert.equal(mismatches, 0);
      assert.equal(r.typedArraySync('big'), got);
      // lmdb-js shares one environment per file within a process: closing another reader must not unmap ours
      const other = await store.openVersion();
      assert.equal(other.typedArraySync('big', 'float32')[n - 1], big[n - 1]);
      await other.close();
      assert.equal(got[n - 1], big[n - 1]);
      const small = r.typedArraySync('small');
      assert.equal(small.buffer.byteLength, 16 + 12);
      assert.deepEqual([...small], [1, 2, 3]);
      await r.verify();
    } finally {
      await r.close();
    }
  }));

test('synchronous row reads: into caller buffers without allocating, clipped to their size; damage detected', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    // rows: {1: 0.5, 3: 2}, {}, {0..4: 10..14}, and a long row of 100 entries {k: k/2}
    const long = Array.from({ length: 100 }, (_, k) => k);
    const indptr = new Int32Array([0, 2, 2, 7, 107]);
    const indices = new Int32Array([1, 3, 0, 1, 2, 3, 4, ...long]);
    const values = new Float32Array([0.5, 2, 10, 11, 12, 13, 14, ...long.map((k) => k / 2)]);
    await w.putSparseRows('rows', new CsrMatrix(4, 100, indptr, indices, values));
    await w.commit();
    const r = await store.openVersion();
    try {
      const ids = new Int32Array(2);
      const vals = new Float32Array(2);
      assert.equal(r.readSparseRowInto('rows', 2, ids, vals), 5);
      assert.deepEqual([...ids, ...vals], [0, 1, 10, 11]);
      assert.equal(r.readSparseRowInto('rows', 1, ids, vals), 0);
      assert.equal(r.readSparseRowInto('rows', 0, ids, vals), 2);
      assert.deepEqual([...ids, ...vals], [1, 3, 0.5, 2]);
      assert.deepEqual([...r.sparseRowSync('rows', 2).values], [10, 11, 12, 13, 14]);
      const bigIds = new Int32Array(128);
      const bigVals = new Float32Array(128);
      assert.equal(r.readSparseRowInto('rows', 3, bigIds, bigVals), 100);
      assert.deepEqual([...bigIds.subarray(0, 100)], long);
      assert.deepEqual(
        [...bigVals.subarray(0, 100)],
        long.map((k) => k / 2),
      );
      const picked = r.sparseRowsSync('rows', [3, 0]);
      assert.deepEqual([...picked.indptr], [0, 100, 102]);
      assert.deepEqual([...picked.indices.subarray(98)], [98, 99, 1, 3]);
      assert.throws(() => r.readSparseRowInto('rows', 4, ids, vals), err('NOT_FOUND'));
      assert.throws(() => r.readSparseRowInto('rows', 0.5, ids, vals), err('NOT_FOUND'));
    } finally {
      await r.close();
    }
    const { env, rows } = openVersionEnv(join(root, 'versions', w.id, 'data.mdb'), false);
    rows.putSync(setRow(rowKeyBuffer('rows'), 2), new Uint8Array(12));
    await env.close();
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
    // Unverified (as a caller that skips the check would read it), the damaged row itself is still caught.
    const damaged = await store.openVersion(undefined, { verify: false });
    try {
      assert.equal(damaged.readSparseRowInto('rows', 0, new Int32Array(2), new Float32Array(2)), 2);
      assert.throws(
        () => damaged.readSparseRowInto('rows', 2, new Int32Array(8), new Float32Array(8)),
        err('ARTIFACT_CORRUPT'),
      );
      await assert.rejects(damaged.verify(), err('ARTIFACT_CORRUPT'));
    } finally {
      await damaged.close();
    }
  }));

/** A committed version holding one typed array 'm' of 64 recognisable words; its id and data.mdb path. */
async function markerVersion(root: string, store: LmdbArtifactStore): Promise<{ id: string; path: string }> {
  const w = await store.createVersion();
  await w.putTypedArray('m', MARKER);
  await w.commit();
  return { id: w.id, path: join(root, 'versions', w.id, 'data.mdb') };
}

const MARKER = new Int32Array(64).map((_, i) => 0x5a5a0000 + i);

/** Flips the lowest bit of word `word` of `marker` where the file at path stores it. */
function flipMarkerBit(path: string, marker: Int32Array, word: number): void {
  const file = readFileSync(path);
  const at = file.indexOf(Buffer.from(marker.buffer));
  assert.ok(at >= 0, `marker not found in ${path}`);
  file[at + 4 * word] ^= 1;
  writeFileSync(path, file);
}

test('a byte flipped inside data.mdb is refused at open; unverified, it decodes silently but fails verify()', () =>
  withRoot(async (root, store) => {
    const { path } = await markerVersion(root, store);
    flipMarkerBit(path, MARKER, 25);
    await assert.rejects(
      store.openVersion(),
      (e: SimrecError) => e.code === 'ARTIFACT_CORRUPT' && e.detail.field === 'm',
    );
    const r = await store.openVersion(undefined, { verify: false });
    try {
      assert.equal((await r.typedArray('m', 'int32'))[25], (0x5a5a0000 + 25) ^ 1);
      await assert.rejects(r.verify(), err('ARTIFACT_CORRUPT'));
    } finally {
      await r.close();
    }
  }));

test('the quick checksums give the published XXH3-64 and CRC-32 of "abc": async, synchronous and on the worker', async () => {
  const dir = tempRoot();
  try {
    const path = join(dir, 'abc');
    writeFileSync(path, 'abc');
    // XXH3_64bits("abc") = 0x78af5f94892f3950 (xxHash's test vectors); CRC-32("abc") = 0x352441c2.
    const inThread = async (p: string, kind: 'xxh3' | 'crc32') => fileQuickSumSync(p, kind);
    for (const sum of [fileQuickSum, inThread, fileQuickSumOffThread]) {
      assert.deepEqual(await sum(path, 'xxh3'), { bytes: 3, xxh3: '78af5f94892f3950' });
      assert.deepEqual(await sum(path, 'crc32'), { bytes: 3, crc32: 0x352441c2 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data.mdb is checked by its XXH3-64; a version committed before it (CRC-32 only) is still checked', () =>
  withRoot(async (root, store) => {
    const { id, path } = await markerVersion(root, store);
    const manifestPath = join(root, 'versions', id, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const bytes = readFileSync(path);
    const [file] = manifest.files;
    assert.equal(file.xxh3, xxh3.xxh64(bytes).toString(16).padStart(16, '0'));
    assert.equal(file.crc32, crc32(bytes));
    await store.verifyVersion(id);

    flipMarkerBit(path, MARKER, 25);
    await assert.rejects(store.verifyVersion(id), err('ARTIFACT_CORRUPT'));
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));

    // The same damage under a manifest of an older version, which recorded CRC-32 alone.
    delete file.xxh3;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    await assert.rejects(store.verifyVersion(id), err('ARTIFACT_CORRUPT'));
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
    writeFileSync(path, bytes);
    await store.verifyVersion(id);
    await (await store.openVersion()).close();
  }));

test('lazy prefixes: their entries live in lazy.mdb, checked on first read, not by the serving check', () =>
  withRoot(async (root, store) => {
    const marker = new Int32Array(256).map((_, i) => 0x6b6b0000 + i);
    const w = await store.createVersion({ lazyPrefixes: ['big/'] });
    await w.putJson('small', { a: 1 });
    await w.putTypedArray('big/marker', marker);
    await w.putSparseRows(
      'rows',
      new CsrMatrix(2, 4, new Int32Array([0, 1, 2]), new Int32Array([1, 3]), new Float32Array([0.5, 2])),
    );
    await w.commit();
    const dir = join(root, 'versions', w.id);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      manifest.files.map((f: { name: string; lazy?: boolean }) => [f.name, f.lazy ?? false]),
      [
        ['data.mdb', false],
        ['lazy.mdb', true],
      ],
    );
    assert.deepEqual(
      manifest.entries.map((e: { key: string; file?: string }) => [e.key, e.file ?? null]),
      [
        ['big/marker', 'lazy.mdb'],
        ['rows', null],
        ['small', null],
      ],
    );
    assert.ok(
      !readFileSync(join(dir, 'data.mdb')).includes(Buffer.from(marker.buffer)),
      'marker in data.mdb',
    );
    const r0 = await store.openVersion();
    try {
      assert.deepEqual([...(await r0.typedArray('big/marker', 'int32'))], [...marker]);
      await r0.verify();
    } finally {
      await r0.close();
    }

    // One flipped bit in lazy.mdb: the serving check (main part only) passes and the main part reads; the first
    // read of a lazy entry is refused; a full open and the per-entry check refuse the version.
    flipMarkerBit(join(dir, 'lazy.mdb'), marker, 100);
    await store.verifyVersion(w.id);
    const r = await store.openVersion(w.id, { verify: false });
    try {
      assert.deepEqual(await r.json('small'), { a: 1 });
      assert.equal((await r.sparseRow('rows', 1)).values[0], 2);
      await assert.rejects(r.typedArray('big/marker', 'int32'), err('ARTIFACT_CORRUPT'));
      await assert.rejects(r.verify(), err('ARTIFACT_CORRUPT'));
    } finally {
      await r.close();
    }
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
  }));

test('a sparse-rows entry under a lazy prefix is refused at write time', () =>
  withRoot(async (_root, store) => {
    const w = await store.createVersion({ lazyPrefixes: ['big/'] });
    await assert.rejects(
      w.putSparseRows(
        'big/rows',
        new CsrMatrix(1, 2, new Int32Array([0, 1]), new Int32Array([1]), new Float32Array([1])),
      ),
      err('INTERNAL'),
    );
    await w.abort();
  }));

test('a damaged pointer, manifest or data file is ARTIFACT_CORRUPT; a missing directory ARTIFACT_MISSING', () =>
  withRoot(async (root, store) => {
    const ids: string[] = [];
    for (const tag of ['one', 'two']) {
      const w = await store.createVersion();
      await w.putJson('tag', tag);
      await w.commit();
      ids.push(w.id);
    }
    const [v1, v2] = ids;
    writeFileSync(join(root, 'CURRENT'), 'garbage\n');
    await assert.rejects(store.currentVersionId(), err('ARTIFACT_CORRUPT'));
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
    writeFileSync(join(root, 'CURRENT'), `${v2}\n`);
    const manifest1 = join(root, 'versions', v1, 'manifest.json');
    const good = readFileSync(manifest1, 'utf8');
    writeFileSync(manifest1, good.slice(0, 40));
    await assert.rejects(store.openVersion(v1), err('ARTIFACT_CORRUPT'));
    writeFileSync(manifest1, good.replaceAll(v1, v2));
    await assert.rejects(store.openVersion(v1), err('ARTIFACT_CORRUPT'));
    rmSync(join(root, 'versions', v2, 'data.mdb'));
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
    const nowhere = new LmdbArtifactStore(join(root, 'nowhere'));
    await assert.rejects(
      nowhere.openVersion(),
      (e: SimrecError) => e.code === 'ARTIFACT_MISSING' && /does not exist/.test(e.message),
    );
    assert.deepEqual(await nowhere.listVersions(), []);
    await assert.rejects(nowhere.prune({ keep: 1 }), err('ARTIFACT_MISSING'));
  }));

test('ReloadingReader keeps serving the old version when the new current cannot be opened', () =>
  withRoot(async (root, store) => {
    const w1 = await store.createVersion();
    await w1.putJson('tag', 'one');
    await w1.commit();
    const rr = new ReloadingReader(store, { pollMs: 0 });
    const errors: unknown[] = [];
    const polling = new ReloadingReader(store, { pollMs: 10, onError: (e) => errors.push(e) });
    try {
      assert.equal(await rr.use((r) => r.json('tag')), 'one');
      assert.equal(await polling.use((r) => r.json('tag')), 'one');
      const w2 = await store.createVersion();
      await w2.putJson('tag', 'two');
      await w2.commit({}, { activate: false });
      writeFileSync(join(root, 'versions', w2.id, 'manifest.json'), '{');
      writeFileSync(join(root, 'CURRENT'), `${w2.id}\n`);
      await assert.rejects(rr.refresh(), err('ARTIFACT_CORRUPT'));
      assert.equal(rr.versionId, w1.id);
      assert.equal(await rr.use((r) => r.json('tag')), 'one');
      for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal((errors[0] as SimrecError).code, 'ARTIFACT_CORRUPT');
      assert.equal(polling.versionId, w1.id);
    } finally {
      await rr.close();
      await polling.close();
    }
  }));

test('a lock left by a dead process is taken over; a live, foreign or unreadable one is not', () =>
  withRoot(async (root, store) => {
    const lockPath = join(root, 'LOCK');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead);
    const owner = (pid: number, host: string, token: string) =>
      JSON.stringify({ pid, host, token, acquiredAt: '2026-01-01T00:00:00.000Z', purpose: 'build' });

    writeFileSync(lockPath, owner(dead, hostname(), 'dead'));
    const w = await store.createVersion();
    assert.notEqual(JSON.parse(readFileSync(lockPath, 'utf8')).token, 'dead');
    await w.abort();
    assert.equal(existsSync(lockPath), false);

    for (const held of [
      owner(process.pid, hostname(), 'other'),
      owner(dead, 'elsewhere.example', 'x'),
      'not json',
    ]) {
      writeFileSync(lockPath, held);
      await assert.rejects(store.createVersion(), err('ARTIFACT_LOCKED'));
      assert.equal(readFileSync(lockPath, 'utf8'), held);
    }
    await assert.rejects(store.createVersion(), (e: SimrecError) =>
      e.message.includes('remove the lock file'),
    );
    rmSync(lockPath);
    const w2 = await store.createVersion();
    await w2.putJson('a', 1);
    await w2.commit();
    assert.deepEqual(readdirSync(root).sort(), ['CURRENT', 'versions']);
  }));

test('another process reads the same version while this one has it open', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    await w.putTypedArray('x', new Float32Array([1.5, 2.5, 3]));
    await w.commit();
    const r = await store.openVersion();
    try {
      const module = new URL('./lmdb-store.ts', import.meta.url).href;
      const script = `
        import { LmdbArtifactStore } from ${JSON.stringify(module)};
        const r = await new LmdbArtifactStore(${JSON.stringify(root)}).openVersion();
        console.log(JSON.stringify({ id: r.id, x: [...(await r.typedArray('x'))] }));
        await r.close();`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), { id: w.id, x: [1.5, 2.5, 3] });
      assert.deepEqual([...(await r.typedArray('x'))], [1.5, 2.5, 3]);
    } finally {
      await r.close();
    }
  }));

test('a commit whose re-read does not match what was written fails and leaves current alone', () =>
  withRoot(async (root, store) => {
    const w1 = await store.createVersion();
    await w1.putJson('tag', 'one');
    await w1.commit();
    const w2 = await store.createVersion();
    await w2.putJson('tag', 'two');
    // a second handle on the writer's file (lmdb-js shares the environment) slips in a key nobody declared
    const intruder = openVersionEnv(join(root, 'versions', w2.id, 'data.mdb'), false);
    try {
      intruder.data.putSync('stray', new Uint8Array([1]));
      await assert.rejects(w2.commit(), err('ARTIFACT_CORRUPT'));
    } finally {
      await intruder.env.close();
    }
    assert.equal(await store.currentVersionId(), w1.id);
    // nothing of the failed version is left behind
    assert.deepEqual(
      (await store.listVersions()).map((v) => [v.id, v.committed]),
      [[w1.id, true]],
    );
    assert.equal(existsSync(join(root, 'LOCK')), false);
    assert.deepEqual(await store.prune({ keep: 3 }), { removed: [], kept: [w1.id] });
  }));

test('a data file that is not LMDB, or is truncated, is ARTIFACT_CORRUPT for a reader instead of a crash', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    for (let i = 0; i < 50; i++) await w.putTypedArray(`b${i}`, new Int32Array(3000).fill(i));
    await w.commit();
    const good = readFileSync(join(root, 'versions', w.id, 'data.mdb'));
    const damaged: [string, Buffer][] = [
      ['zeros', Buffer.alloc(8192)],
      ['text', Buffer.from('user_id,item_id\n1,2\n')],
      ['empty', Buffer.alloc(0)],
      ['truncated after the meta pages', good.subarray(0, 8192)],
      ['truncated in the middle', good.subarray(0, good.length >> 1)],
      ['meta stamp cleared', Buffer.concat([good.subarray(0, 24), Buffer.alloc(4), good.subarray(28)])],
    ];
    for (const [what, bytes] of damaged) {
      const path = join(root, `${what.replaceAll(' ', '-')}.mdb`);
      writeFileSync(path, bytes);
      assert.throws(
        () => openVersionEnv(path, true),
        (e: SimrecError) => e.code === 'ARTIFACT_CORRUPT' && e.detail.file === path,
        what,
      );
    }
    // The committed original still opens, so the checks accept what the store writes.
    const { env } = openVersionEnv(join(root, 'versions', w.id, 'data.mdb'), true);
    await env.close();
  }));

test('an artifact root that is a file is ARTIFACT_IO naming it, and nothing is created', () =>
  withRoot(async (root) => {
    const file = join(root, 'not-a-dir');
    writeFileSync(file, 'x');
    await assert.rejects(
      new LmdbArtifactStore(file).createVersion(),
      (e: SimrecError) =>
        e.code === 'ARTIFACT_IO' && e.detail.file === file && /not a directory/.test(e.message),
    );
    // a path through a file fails in mkdir: the cause is kept, the path named
    const below = join(file, 'artifacts');
    await assert.rejects(
      new LmdbArtifactStore(below).createVersion(),
      (e: SimrecError) => e.code === 'ARTIFACT_IO' && /ENOTDIR/.test(e.message) && e.cause !== undefined,
    );
    assert.deepEqual(readdirSync(root), ['not-a-dir']);
  }));

test('a write failure (file-size limit) is ARTIFACT_IO; the previous version stays current and nothing is left', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    await w.putJson('tag', 'one');
    await w.commit();
    // 1 MiB (2048 blocks of 512 bytes) is far below the 16 MiB the child writes.
    const child = fileURLToPath(new URL('./io-failure-child.ts', import.meta.url));
    const r = spawnSync(
      '/bin/sh',
      ['-c', 'ulimit -f 2048 && exec "$0" --import tsx "$1" "$2"', process.execPath, child, root],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const outcome = JSON.parse(r.stdout.trim()) as { code?: string; file?: string; message?: string };
    assert.equal(outcome.code, 'ARTIFACT_IO', outcome.message);
    assert.match(outcome.file ?? '', /versions\/[^/]+\/data\.mdb$/);
    assert.equal(await store.currentVersionId(), w.id);
    assert.deepEqual(
      (await store.listVersions()).map((v) => [v.id, v.committed]),
      [[w.id, true]],
    );
    assert.equal(existsSync(join(root, 'LOCK')), false);
  }));

test('a build killed with SIGKILL leaves its directory and lock; the next build takes both over and says so', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    await w.putJson('tag', 'one');
    await w.commit();
    const crash = fileURLToPath(new URL('../contract-crash-child.ts', import.meta.url));
    const spec = {
      module: new URL('./lmdb-store.ts', import.meta.url).href,
      export: 'LmdbArtifactStore.open',
      arg: root,
      mode: 'kill',
    };
    const r = spawnSync(process.execPath, ['--import', 'tsx', crash, JSON.stringify(spec)], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const { id: dead } = JSON.parse(r.stdout.trim().split('\n')[0]) as { id: string };
    assert.ok(existsSync(join(root, 'versions', dead, 'data.mdb')));
    const lock = JSON.parse(readFileSync(join(root, 'LOCK'), 'utf8')) as { pid: number; host: string };
    assert.equal(lock.pid, r.pid);
    assert.equal(lock.host, hostname());

    const lines: string[] = [];
    const next = new LmdbArtifactStore(root, { log: (m) => lines.push(m) });
    const w2 = await next.createVersion();
    assert.equal(existsSync(join(root, 'versions', dead)), false);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], new RegExp(`taking over .*LOCK.*pid ${r.pid}.*no longer running`));
    assert.match(lines[1], new RegExp(`removed partial version ${dead}`));
    await w2.putJson('tag', 'two');
    await w2.commit();
    assert.deepEqual(
      (await next.listVersions()).map((v) => v.id),
      [w.id, w2.id],
    );
  }));

test('decoded values are range-checked: a row with a cluster id past nCols, or a NaN score, fails the read', () =>
  withRoot(async (root, store) => {
    const w = await store.createVersion();
    const m = new CsrMatrix(
      3,
      4,
      new Int32Array([0, 2, 3, 4]),
      new Int32Array([0, 3, 1, 2]),
      new Float32Array([1, 2, 3, 4]),
    );
    await w.putSparseRows('emb', m);
    await w.commit();
    const { env, rows } = openVersionEnv(join(root, 'versions', w.id, 'data.mdb'), false);
    const write = (row: number, ids: number[], values: number[]) => {
      const out = new Uint8Array(sparseRowBytes(ids.length));
      encodeSparseRowInto(new Int32Array(ids), new Float32Array(values), 0, ids.length, out);
      rows.putSync(setRow(rowKeyBuffer('emb'), row), out);
    };
    write(0, [0, 16777215], [1, 2]);
    write(1, [1], [Number.NaN]);
    await env.close();
    await assert.rejects(store.openVersion(), err('ARTIFACT_CORRUPT'));
    const r = await store.openVersion(undefined, { verify: false });
    try {
      assert.throws(
        () => r.readSparseRowInto('emb', 0, new Int32Array(4), new Float32Array(4)),
        (e: SimrecError) =>
          e.code === 'ARTIFACT_CORRUPT' && /column 16777215 outside \[0, 4\)/.test(e.message),
      );
      assert.throws(
        () => r.sparseRowSync('emb', 1),
        (e: SimrecError) => /value NaN/.test(e.message),
      );
      assert.throws(() => r.sparseRowsSync('emb', [2, 0]), err('ARTIFACT_CORRUPT'));
      assert.deepEqual([...r.sparseRowSync('emb', 2).ids], [2]);
    } finally {
      await r.close();
    }
  }));
