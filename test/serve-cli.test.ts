import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  MF_FIXTURE,
  SIMCLUSTERS_KEYS,
  SMALL_FIXTURE,
  writeTestArtifacts,
} from '../src/query/test-fixtures.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

/**
 * Runs a Command module's `run` in a child process, as `simrec <name>` would (the command list that wires
 * names to modules is the lead's, so the test names the module directly).
 */
function runCommand(module: string, name: string, args: string[]): ChildProcess {
  const url = new URL(`../src/cli/${module}.ts`, import.meta.url).href;
  const code = `const { ${name} } = await import(${JSON.stringify(url)});
try { process.exitCode = await ${name}.run(process.argv.slice(1)); }
catch (e) { process.stderr.write(String(e.code) + ': ' + e.message + '\\n'); process.exitCode = 1; }`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

interface Answer {
  version?: string;
  candidates?: { itemId: string }[];
  error?: { code: string };
}

/** The backlog of the socket listening on port (Linux `ss`), or null where ss or somaxconn cannot show it. */
function listenerBacklog(port: number): number | null {
  const r = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  let somaxconn = 0;
  try {
    somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  } catch {
    return null;
  }
  if (r.status !== 0 || somaxconn < 1500) return null;
  const fields = r.stdout.trim().split(/\s+/);
  return fields.length >= 3 ? Number(fields[2]) : null;
}

async function getJson(url: string): Promise<{ status: number; body: Answer }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Answer };
}

test('simrec serve --workers 2: both workers answer on one port, SIGHUP switches versions, SIGTERM stops', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-cli-'));
  const child = runCommand('serve', 'serveCommand', [
    '--artifacts',
    root,
    '--port',
    '0',
    '--workers',
    '2',
    '--poll-ms',
    '0',
    '--log-level',
    'warn',
    '--health-port',
    '0',
    '--backlog',
    '1500',
  ]);
  const done = output(child);
  try {
    const a = await writeTestArtifacts(root, SMALL_FIXTURE);
    let stdout = '';
    const [url, healthUrl] = await new Promise<[string, string]>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        stdout += d;
        const m =
          /listening on (http:\/\/\S+) \(2 workers\).*health checks also at (http:\/\/\S+)\/healthz/.exec(
            stdout,
          );
        if (m) resolve([m[1], m[2]]);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stdout}`)));
    });
    assert.equal((await getJson(`${url}/healthz`)).status, 200);
    // the listening socket (the primary's, under cluster) has the backlog asked for: Linux's ss shows a
    // listener's backlog as its Send-Q
    const listener = listenerBacklog(Number(new URL(url).port));
    if (listener !== null) assert.equal(listener, 1500);
    // the primary's health port watches both workers' loops
    const health = (await (await fetch(`${healthUrl}/healthz`)).json()) as { status: string; loops: number };
    assert.deepEqual([health.status, health.loops], ['ok', 2]);
    // every worker loads the version; requests spread over both
    const ready = async (version: string) => {
      for (let tries = 0; tries < 200; tries++) {
        const answers = await Promise.all([0, 1, 2, 3, 4, 5].map(() => getJson(`${url}/readyz`)));
        if (answers.every((r) => r.status === 200 && r.body.version === version)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`not every worker serves ${version}`);
    };
    await ready(a);
    const res = await fetch(`${url}/v1/candidates/simclusters`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: { userId: 'dave' } }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      ((await res.json()) as Answer).candidates?.map((c) => c.itemId),
      ['i0', 'i4', 'i2'],
    );
    const bad = await getJson(`${url}/v1/clusters/99`);
    assert.deepEqual([bad.status, bad.body.error?.code], [404, 'NOT_FOUND']);
    // a scrape of any worker shows the whole server
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`simrec_artifact_info\\{version="${a}"\\} 1`));
    assert.match(
      metrics,
      /simrec_http_request_duration_seconds_count\{route="\/readyz",method="GET",status="200"\} \d+/,
    );

    // polling is off: the new version is served once the primary is signalled
    const b = await writeTestArtifacts(root, {
      ...SMALL_FIXTURE,
      interestedIn: { dave: [[3, 1]] },
      interestedInByKind: {},
    });
    child.kill('SIGHUP');
    await ready(b);

    child.kill('SIGTERM');
    const { code, stdout: all } = await done;
    assert.equal(code, 0);
    assert.match(all, /simrec serve: stopped/);
    await assert.rejects(fetch(`${url}/healthz`));
    await assert.rejects(fetch(`${healthUrl}/healthz`));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

test('simrec candidates and simrec similar answer from the current version', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-cli-'));
  try {
    await writeTestArtifacts(root, SMALL_FIXTURE);
    const [user, item, table, unknown] = await Promise.all([
      output(
        runCommand('candidates', 'candidatesCommand', ['--artifacts', root, '--user', 'dave', '--json']),
      ),
      output(
        runCommand('similar', 'similarCommand', [
          '--artifacts',
          root,
          '--item',
          'i4',
          '--limit',
          '2',
          '--json',
        ]),
      ),
      output(runCommand('candidates', 'candidatesCommand', ['--artifacts', root, '--topic', 'dogs'])),
      output(runCommand('similar', 'similarCommand', ['--artifacts', root, '--item', 'nope'])),
    ]);
    assert.equal(user.code, 0, user.stderr);
    const u = JSON.parse(user.stdout);
    assert.deepEqual(
      u.candidates.map((c: { itemId: string }) => c.itemId),
      ['i0', 'i4', 'i2'],
    );
    assert.equal(u.params.limit, 10);
    assert.equal(item.code, 0, item.stderr);
    assert.deepEqual(
      JSON.parse(item.stdout).candidates.map((c: { itemId: string }) => c.itemId),
      ['i1', 'i0'],
    );
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0], /rank\s+item_id\s+score\s+approx/);
    assert.match(lines[1], /^\s+1\s+i5\s+1\.000000\s+1\.000000$/);
    assert.match(lines[2], /^\s+2\s+i3\s+0\.800000\s+0\.800000$/);
    assert.match(
      lines[3],
      /^# version \S+, source topic: 1 clusters scanned, 2 candidates scored, 2 embeddings fetched$/,
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /NOT_FOUND: unknown item 'nope'/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('simrec candidates --source dense and simrec similar --source mf answer like the dense route', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-cli-'));
  try {
    await writeTestArtifacts(root, MF_FIXTURE);
    const [user, exact, item, topic, unknown] = await Promise.all([
      output(
        runCommand('candidates', 'candidatesCommand', [
          '--artifacts',
          root,
          '--source',
          'dense',
          '--user',
          'dave',
          '--json',
        ]),
      ),
      output(
        runCommand('candidates', 'candidatesCommand', [
          '--artifacts',
          root,
          '--source',
          'dense',
          '--user',
          'erin',
          '--mode',
          'exact',
        ]),
      ),
      output(
        runCommand('similar', 'similarCommand', [
          '--artifacts',
          root,
          '--item',
          'i0',
          '--source',
          'mf',
          '--limit',
          '2',
        ]),
      ),
      output(
        runCommand('candidates', 'candidatesCommand', [
          '--artifacts',
          root,
          '--source',
          'dense',
          '--topic',
          'dogs',
        ]),
      ),
      output(
        runCommand('candidates', 'candidatesCommand', [
          '--artifacts',
          root,
          '--source',
          'dense',
          '--user',
          'zed',
        ]),
      ),
    ]);
    // worked answers in test-fixtures.ts (MF_FIXTURE)
    assert.equal(user.code, 0, user.stderr);
    const u = JSON.parse(user.stdout);
    assert.deepEqual(
      u.candidates.map((c: { itemId: string }) => c.itemId),
      ['i2', 'i0', 'i3', 'i5', 'i4'],
    );
    assert.equal(u.source, 'mf:user');
    assert.deepEqual(u.params, { limit: 10, mode: 'ann', excluded: 1 });
    assert.equal(exact.code, 0, exact.stderr);
    const lines = exact.stdout.trim().split('\n');
    assert.match(lines[0], /rank\s+item_id\s+score$/);
    assert.match(lines[1], /^\s+1\s+i1\s+1\.000000$/);
    assert.match(lines[2], /^\s+2\s+i2\s+0\.500000$/);
    assert.match(lines[5], /^# version \S+, source mf:user: scan index of 6 items, 4 items scored$/);
    assert.equal(item.code, 0, item.stderr);
    const sim = item.stdout.trim().split('\n');
    assert.match(sim[1], /^\s+1\s+i2\s+1\.000000$/);
    assert.match(sim[2], /^\s+2\s+i3\s+0\.707107$/);
    assert.match(sim[3], /^# version \S+, source mf:item: exact index of 6 items$/);
    assert.notEqual(topic.code, 0);
    assert.match(topic.stderr, /CONFIG_INVALID: --source dense takes exactly one of --user, --item/);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /NOT_FOUND: unknown user 'zed'/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('on a version built with MF only, simrec similar answers from MF unasked and refuses SimClusters', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-cli-'));
  try {
    await writeTestArtifacts(root, { ...MF_FIXTURE, omit: SIMCLUSTERS_KEYS });
    const [plain, sc, dense] = await Promise.all([
      output(runCommand('similar', 'similarCommand', ['--artifacts', root, '--item', 'i0', '--limit', '2'])),
      output(
        runCommand('similar', 'similarCommand', [
          '--artifacts',
          root,
          '--item',
          'i0',
          '--source',
          'simclusters',
        ]),
      ),
      output(
        runCommand('candidates', 'candidatesCommand', [
          '--artifacts',
          root,
          '--source',
          'dense',
          '--user',
          'dave',
        ]),
      ),
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    const sim = plain.stdout.trim().split('\n');
    assert.match(sim[1], /^\s+1\s+i2\s+1\.000000$/);
    assert.match(sim[3], /^# version \S+, source mf:item: exact index of 6 items$/);
    assert.notEqual(sc.code, 0);
    assert.match(sc.stderr, /ARTIFACT_MISSING: .*holds no SimClusters outputs/);
    assert.equal(dense.code, 0, dense.stderr);
    assert.match(dense.stdout.trim().split('\n')[1], /^\s+1\s+i2\s+/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
