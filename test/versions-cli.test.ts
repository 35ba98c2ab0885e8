import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runVersions } from '../src/cli/versions.ts';
import { SimrecError } from '../src/core/errors.ts';
import { openArtifactStore } from '../src/store/open.ts';
import { ReloadingReader } from '../src/store/reloading-reader.ts';

/**
 * Runs `simrec versions ARGV` in this process: its exit code and output, or the coded error main() would print
 * (code 2 for CONFIG_INVALID, 1 otherwise) as `err`.
 */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  assert.equal(argv[0], 'versions');
  let out = '';
  try {
    const code = await runVersions(argv.slice(1), { write: (s: string) => (out += s) });
    return { code, out, err: '' };
  } catch (e) {
    if (!(e instanceof SimrecError)) throw e;
    return { code: e.code === 'CONFIG_INVALID' ? 2 : 1, out, err: `error ${e.code}: ${e.message}` };
  }
}

/** Three committed versions with known counts (users = 10, 20, 30), the last current. */
async function threeVersions(root: string): Promise<string[]> {
  const store = openArtifactStore(root);
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const w = await store.createVersion();
    await w.putJson('meta', { i });
    await w.commit({ counts: { users: 10 * i, clusters: i } });
    ids.push(w.id);
  }
  await store.close();
  return ids;
}

function filesBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

test('versions lists every version with date, size, counts and which is current', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-versions-'));
  try {
    const ids = await threeVersions(root);
    // A build that died before committing leaves a directory without a manifest.
    const dead = '20000101T000000.000Z-abcdef';
    mkdirSync(join(root, 'versions', dead));

    const json = await cli('versions', '--artifacts', root, '--json');
    assert.equal(json.code, 0, json.err);
    const { versions } = JSON.parse(json.out) as {
      versions: { id: string; current: boolean; state: string; diskBytes: number; manifest: unknown }[];
    };
    assert.deepEqual(
      versions.map((v) => [v.id, v.current, v.state]),
      [
        [dead, false, 'uncommitted'],
        [ids[0], false, 'committed'],
        [ids[1], false, 'committed'],
        [ids[2], true, 'committed'],
      ],
    );
    for (const v of versions) assert.equal(v.diskBytes, filesBytes(join(root, 'versions', v.id)));

    const table = await cli('versions', '--artifacts', root);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.split('\n');
    const row = (id: string) => lines.findIndex((l) => l.includes(id));
    assert.match(
      lines[row(ids[2])],
      new RegExp(`^\\* ${ids[2]}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\d`),
    );
    assert.match(lines[row(ids[0])], new RegExp(`^ {2}${ids[0]} `));
    assert.equal(lines[row(ids[1]) + 1].trim(), 'users=20 clusters=2');
    assert.match(lines[row(dead)], / {2}- +\d+ B {2}uncommitted$/);
    assert.match(table.out, new RegExp(`4 version\\(s\\), .* on disk; current: ${ids[2]}`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('versions use switches current atomically and a running reader follows, back and forward', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-versions-'));
  try {
    const ids = await threeVersions(root);
    // What `simrec serve` holds: a reader on current that looks at the pointer (here on refresh()).
    const live = new ReloadingReader(openArtifactStore(root), { pollMs: 0 });
    try {
      assert.deepEqual(await live.use((r) => r.json('meta')), { i: 3 });
      const back = await cli('versions', 'use', ids[0], '--artifacts', root);
      assert.equal(back.code, 0, back.err);
      assert.equal(back.out, `current: ${ids[2]} → ${ids[0]} in ${root}\n`);
      assert.equal(readFileSync(join(root, 'CURRENT'), 'utf8'), `${ids[0]}\n`);
      assert.equal(await live.refresh(), true);
      assert.deepEqual(await live.use((r) => r.json('meta')), { i: 1 });
      assert.equal((await cli('versions', 'use', ids[2], '--artifacts', root)).code, 0);
      assert.equal(await live.refresh(), true);
      assert.deepEqual(await live.use((r) => r.json('meta')), { i: 3 });
    } finally {
      await live.close();
    }

    const missing = await cli('versions', 'use', '20000101T000000.000Z-abcdef', '--artifacts', root);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /error ARTIFACT_MISSING: .*20000101T000000\.000Z-abcdef.* does not exist/);
    const bad = await cli('versions', 'use', 'latest', '--artifacts', root);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /error CONFIG_INVALID: 'latest' is not a version id/);
    assert.equal(
      readFileSync(join(root, 'CURRENT'), 'utf8'),
      `${ids[2]}\n`,
      'failed switches change nothing',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('versions prune keeps the N newest committed versions and the current one, and says what it freed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-versions-'));
  try {
    const ids = await threeVersions(root);
    const dead = '20000101T000000.000Z-abcdef';
    mkdirSync(join(root, 'versions', dead));
    assert.equal((await cli('versions', 'use', ids[0], '--artifacts', root)).code, 0);
    const freed = filesBytes(join(root, 'versions', ids[1]));

    const r = await cli('versions', 'prune', '--keep', '1', '--artifacts', root);
    assert.equal(r.code, 0, r.err);
    // ids[2] is the newest, ids[0] is current; ids[1] and the dead build go.
    assert.deepEqual(readdirSync(join(root, 'versions')).sort(), [ids[0], ids[2]]);
    assert.match(r.out, new RegExp(`^removed 2 version\\(s\\), .* freed: ${dead} ${ids[1]}\\n`));
    assert.match(r.out, new RegExp(`\\nkept 2: ${ids[0]} ${ids[2]}\\n$`));
    assert.ok(freed > 0 && r.out.includes(freed < 1024 ? `${freed} B` : 'KiB'));
    assert.equal(readFileSync(join(root, 'CURRENT'), 'utf8'), `${ids[0]}\n`);

    for (const argv of [
      ['prune', '--artifacts', root],
      ['prune', '--keep', '0', '--artifacts', root],
      ['list', '--keep', '1', '--artifacts', root],
      ['use', '--artifacts', root],
      ['drop', '--artifacts', root],
      ['--artifacts', root, '--bogus'],
    ]) {
      const e = await cli('versions', ...argv);
      assert.equal(e.code, 2, `versions ${argv.join(' ')}`);
      assert.match(e.err, /error CONFIG_INVALID/);
    }
    assert.equal(readdirSync(join(root, 'versions')).length, 2, 'refused prunes remove nothing');
    const nowhere = await cli('versions', '--artifacts', join(root, 'nope'));
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.err, /error ARTIFACT_MISSING: .*nope is not an artifact directory/);
    assert.ok(!existsSync(join(root, 'nope')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
