import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_KEEP, demoCommand } from '../src/cli/demo.ts';
import { listVersionDirs } from '../src/store/lmdb/version-listing.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

test('simrec demo generates, builds, serves, and the curl commands it prints answer; SIGTERM stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-demo-'));
  const child = spawn(
    process.execPath,
    ['bin/simrec.js', 'demo', '--dir', dir, '--preset', 'tiny', '--port', '0'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The poll stops with the test: a demo that exits before serving must fail the test, not keep it alive.
  let polling = true;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        const check = () => {
          if (/serving on http/.test(stdout)) resolve();
          else if (polling) setTimeout(check, 50);
        };
        check();
      }),
      exited.then((code) => assert.fail(`demo exited (${code}) before serving:\n${stdout}\n${stderr}`)),
    ]);
    const commands = [...stdout.matchAll(/^ {3}curl -s (.*)$/gm)].map((m) => m[1]);
    assert.ok(commands.length >= 4, stdout);
    for (const command of commands) {
      const post = /^-X POST '([^']+)' -H 'content-type: application\/json' -d '(.*)'$/.exec(command);
      const url = post ? post[1] : /^'([^']+)'$/.exec(command)?.[1];
      assert.ok(url, `a curl command the test can replay: ${command}`);
      const res = await fetch(
        url,
        post ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: post[2] } : undefined,
      );
      const write = /\/v1\/(events|items)'/.test(command);
      assert.equal(res.status, write ? 202 : 200, `${command}: ${await res.clone().text()}`);
      if (post && !write) {
        const body = (await res.json()) as { candidates?: unknown[]; items?: unknown[] };
        assert.ok((body.candidates ?? body.items ?? []).length > 0, `${command} returns candidates`);
      } else if (/recommendations\?/.test(command)) {
        const body = (await res.json()) as { items: { explanation?: unknown }[] };
        assert.ok(body.items.length > 0 && body.items.every((x) => x.explanation), command);
      } else await res.arrayBuffer();
    }
    // Recommendations with explanations, and the writes with the new item's live candidates, are offered.
    assert.ok(commands.some((c) => /\/v1\/users\/[^/]+\/recommendations\?limit=10&explain=true/.test(c)));
    assert.ok(commands.some((c) => c.includes("/v1/events'") && c.includes('demo-new-item')));
    assert.ok(commands.some((c) => c.includes('/v1/items/demo-new-item/similar')));
    assert.match(stdout, /recommendations \(two-stage: [^\n]*\n {5}item \S+ +score \d[^\n]* from \w+ #\d/);
    // The sample answer printed is the one the first POST gives.
    assert.match(
      stdout,
      /top candidates \(SimClusters ANN over their InterestedIn\):\n {5}item \S+ +score \d/,
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /stopped/);
  } finally {
    polling = false;
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('repeated demos keep only the newest two versions, the newest current', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-demo-'));
  const artifacts = join(dir, 'artifacts');
  const run = () => demoCommand.run(['--dir', dir, '--preset', 'tiny', '--build-only']);
  const current = () => readFileSync(join(artifacts, 'CURRENT'), 'utf8').trim();
  try {
    assert.equal(DEMO_KEEP, 2);
    assert.equal(await run(), 0);
    const first = current();
    assert.equal(await run(), 0);
    const second = current();
    assert.deepEqual(
      listVersionDirs(artifacts).map((v) => v.id),
      [first, second],
    );
    assert.equal(await run(), 0);
    const third = current();
    const left = listVersionDirs(artifacts);
    assert.deepEqual(
      left.map((v) => [v.id, v.current, v.state]),
      [
        [second, false, 'committed'],
        [third, true, 'committed'],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
