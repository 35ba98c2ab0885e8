import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));

// What `npm install simrec-x.tgz` does, minus fetching dependencies and compiling the addon (the install
// script), which this checkout already did: unpack the tarball into a project's node_modules and link the
// checkout's dependencies and native build beside it. Everything then runs on plain `node`, without tsx.
test('the packed package imports and runs its CLI from a plain-node project', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'simrec-pack-'));
  try {
    // The build is what `prepare` runs before `npm pack`; done here first so pack's JSON is all of stdout.
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'pipe' });
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
        cwd: REPO,
        encoding: 'utf8',
      }),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    for (const f of [
      'package.json',
      'bin/simrec.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/simclusters/known-for-worker.js',
      'dist/serve/worker.js',
      'native/binding.gyp',
      'native/hnsw.cc',
    ])
      assert.ok(files.includes(f), `${f} is packed`);
    assert.deepEqual(
      files.filter(
        (f) =>
          f.startsWith('src/') ||
          /\.test\.|test-suite/.test(f) ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
      [],
      'no sources or tests are packed',
    );

    const project = join(tmp, 'project');
    const pkg = join(project, 'node_modules', 'simrec');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', join(tmp, packed[0].filename), '-C', pkg, '--strip-components=1']);
    symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    symlinkSync(join(REPO, 'native', 'build'), join(pkg, 'native', 'build'), 'dir');
    assert.ok(!existsSync(join(pkg, 'src')));

    const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
    const imported = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        // HnswIndex runs on the native addon, found relative to the compiled file.
        "const m = await import('simrec'); const h = m.HnswIndex.create(2, 'cosine');" +
          ' h.add(Int32Array.of(1, 2), Float32Array.of(1, 0, 0, 1));' +
          ' console.log(m.CODE_VERSION, typeof m.SimrecError, h.search(Float32Array.of(0.1, 1), 1).ids[0]);',
      ],
      { cwd: project, encoding: 'utf8' },
    );
    assert.equal(imported.status, 0, imported.stderr);
    assert.equal(imported.stdout.trim(), `${version} function 2`);

    const bin = join(pkg, 'bin', 'simrec.js');
    const help = spawnSync(process.execPath, [bin, '--help'], { cwd: project, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: simrec <command>/);
    assert.match(help.stdout, /\n {2}versions +list artifact versions/);

    // A threaded build starts its KnownFor worker threads from the compiled worker files (build.mjs rewrote
    // their URLs; a `.ts` entry would fail here without tsx).
    const data = join(tmp, 'data');
    const art = join(tmp, 'artifacts');
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: project, encoding: 'utf8' });
      assert.equal(r.status, 0, `simrec ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    run('generate', '--preset', 'tiny', '--out', data);
    run('build', '--data', data, '--out', art, '--threads', '2');
    const listing = run('versions', '--artifacts', art, '--json');
    const { versions } = JSON.parse(listing) as { versions: { current: boolean; state: string }[] };
    assert.equal(versions.length, 1);
    assert.deepEqual([versions[0].current, versions[0].state], [true, 'committed']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
