// `simrec serve --workers 2` and the event log (issue 15): each worker process appends to and applies the one log
// in the artifact location, so whichever worker a request lands on, it answers with every acknowledged event.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SMALL_FIXTURE, writeTestArtifacts } from '../src/query/test-fixtures.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const T = 1_700_000_000;

function serve(args: string[]): ChildProcess {
  const url = new URL('../src/cli/serve.ts', import.meta.url).href;
  const code = `const { serveCommand } = await import(${JSON.stringify(url)});
try { process.exitCode = await serveCommand.run(process.argv.slice(1)); }
catch (e) { process.stderr.write(String(e.code) + ': ' + e.message + '\\n'); process.exitCode = 1; }`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function json(url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('simrec serve --workers 2: writes through any worker reach every worker', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-events-'));
  await writeTestArtifacts(root, SMALL_FIXTURE);
  // Shedding off: on a busy test machine a request may wait past the 20 ms default, which is not under test.
  const child = serve([
    '--artifacts',
    root,
    '--port',
    '0',
    '--workers',
    '2',
    '--log-level',
    'warn',
    '--max-queue-ms',
    '0',
  ]);
  try {
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        stdout += d;
        const m = /listening on (http:\/\/\S+) \(2 workers\)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stdout}`)));
    });
    const deadline = Date.now() + 30_000;
    const until = async (what: string, ok: () => Promise<boolean>) => {
      while (!(await ok())) {
        assert.ok(Date.now() < deadline, what);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Six requests in a row on fresh connections land on both workers (round-robin by the primary).
    const everyWorker = async (f: () => Promise<boolean>) => {
      for (let i = 0; i < 6; i++) if (!(await f())) return false;
      return true;
    };
    await until('ready', () => everyWorker(async () => (await json(`${url}/readyz`)).status === 200));

    // A new item, faved by erin ([3: 1]), and a new user following alice, written one request at a time. Times
    // are the fixture's (its version was built at 1_700_000_000): the overlay decays relative to that.
    const writes: [string, unknown][] = [
      ['/v1/items', { itemId: 'fresh', eventId: 'w1', createdTs: T }],
      ['/v1/events', { events: [{ eventId: 'w2', userId: 'erin', action: 'fav', itemId: 'fresh', ts: T }] }],
      [
        '/v1/events',
        { events: [{ eventId: 'w3', userId: 'newbie', action: 'follow', producerId: 'alice', ts: T }] },
      ],
      // a retry through whichever worker: not appended again
      ['/v1/events', { events: [{ eventId: 'w2', userId: 'erin', action: 'fav', itemId: 'fresh', ts: T }] }],
    ];
    const answers = [];
    for (const [path, body] of writes) answers.push(await json(`${url}${path}`, body));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.offsets, a.body.duplicates]),
      [
        [202, [0], 0],
        [202, [1], 0],
        [202, [2], 0],
        [202, [1], 1],
      ],
    );

    const dogs = () => json(`${url}/v1/candidates/simclusters`, { source: { topic: 'dogs' } });
    const newbie = () => json(`${url}/v1/candidates/simclusters`, { source: { userId: 'newbie' } });
    const ids = (a: { body: Record<string, unknown> }) =>
      ((a.body.candidates ?? []) as { itemId: string }[]).map((c) => c.itemId);
    await until('every worker applied the writes', () =>
      everyWorker(async () => ids(await dogs()).includes('fresh') && (await newbie()).status === 200),
    );
    // Applied, every worker answers the same.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(JSON.stringify([(await dogs()).body, (await newbie()).body]));
    assert.equal(seen.size, 1);
    assert.deepEqual(ids(await newbie()), ['i1', 'i4', 'i0']);

    // A scrape of any worker sums the counters over workers; the log gauges are the log's, not summed.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /simrec_events_accepted_total 3\n/);
    assert.match(metrics, /simrec_events_deduplicated_total 1\n/);
    assert.match(metrics, /simrec_event_log_records 3\n/);
    assert.match(metrics, /simrec_applier_lag_events 0\n/);
    assert.match(metrics, /simrec_overlay_applied_records 3\n/);

    const stopped = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await stopped;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});
