// `simrec serve` and API keys (issue 15 item 7): the warning on a non-loopback address without keys, keys from a
// file and from SIMREC_API_KEYS enforced on POST /v1/events.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SMALL_FIXTURE, writeTestArtifacts } from '../src/query/test-fixtures.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

function serve(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
  const url = new URL('../src/cli/serve.ts', import.meta.url).href;
  const code = `const { serveCommand } = await import(${JSON.stringify(url)});
try { process.exitCode = await serveCommand.run(process.argv.slice(1)); }
catch (e) { process.stderr.write(String(e.code) + ': ' + e.message + '\\n'); process.exitCode = 1; }`;
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
  });
}

/** Waits for the listening line; resolves with the URL and everything printed on stderr so far. */
function listening(child: ChildProcess): Promise<{ url: string; stderr: () => string }> {
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+) /.exec(stdout);
      if (m) resolve({ url: m[1], stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${stdout}${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

test('simrec serve --host 0.0.0.0 warns without API keys, and not with them; keys never printed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-keys-'));
  try {
    await writeTestArtifacts(root, SMALL_FIXTURE);
    const base = ['--artifacts', root, '--port', '0', '--log-level', 'warn', '--poll-ms', '0'];
    const open = serve([...base, '--host', '0.0.0.0'], { SIMREC_API_KEYS: undefined });
    try {
      const { stderr } = await listening(open);
      assert.match(stderr(), /warning: listening on 0\.0\.0\.0 without API keys/);
    } finally {
      await stop(open);
    }

    const keyFile = join(root, 'keys');
    writeFileSync(keyFile, '# test\nsecret-file-key-1\n');
    const keyed = serve([...base, '--host', '0.0.0.0', '--api-keys', keyFile], {
      SIMREC_API_KEYS: 'secret-env-key-2',
    });
    try {
      const { url, stderr } = await listening(keyed);
      assert.doesNotMatch(stderr(), /warning/);
      const post = (headers: Record<string, string>) =>
        fetch(`${url.replace('0.0.0.0', '127.0.0.1')}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ events: [{ userId: 'dave', action: 'fav', itemId: 'i3' }] }),
        });
      const refused = await post({});
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
      // Either source of keys is accepted.
      assert.equal((await post({ authorization: 'Bearer secret-file-key-1' })).status, 202);
      assert.equal((await post({ 'x-api-key': 'secret-env-key-2' })).status, 202);
      assert.doesNotMatch(stderr(), /secret-/);
    } finally {
      await stop(keyed);
    }

    // Loopback without keys: no warning.
    const local = serve(base, { SIMREC_API_KEYS: undefined });
    try {
      const { stderr } = await listening(local);
      assert.doesNotMatch(stderr(), /warning/);
    } finally {
      await stop(local);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('simrec serve --protect-reads without keys is a configuration error', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-keys-'));
  try {
    const child = serve(['--artifacts', root, '--port', '0', '--protect-reads'], {
      SIMREC_API_KEYS: undefined,
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /^CONFIG_INVALID: --protect-reads needs API keys/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
