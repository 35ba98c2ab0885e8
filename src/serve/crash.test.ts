/**
 * Issue 15: a server killed with SIGKILL while clients stream events loses nothing it acknowledged. The server
 * runs in a child process (events-child.ts) over an artifact location whose event log is LMDB on disk; four
 * clients each send batches of events with unique eventIds, one after the other, and the child is killed once
 * a fixed number of batches was acknowledged, with batches still in flight. After a restart on the same
 * location: every event that got a 202 is in the log once, at the offset it was given; the batches whose answer
 * was lost are retried and land exactly once (those that were durable count as duplicates); and the restarted
 * server has applied the whole log.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openEventLog } from '../store/open.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const STREAMS = 4;
const PER_BATCH = 10;
/** Acknowledged batches after which the child is killed (the streams keep sending until it is gone). */
const KILL_AFTER = 24;

function startChild(dir: string): { child: ChildProcess; port: Promise<number> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./events-child.ts', import.meta.url)), dir],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]) as { port: number }).port);
    });
    child.on('exit', (code, signal) =>
      reject(new Error(`server exited (${signal ?? code}) before listening`)),
    );
  });
  return { child, port };
}

interface Batch {
  ids: string[];
  body: string;
}

function batch(stream: number, b: number): Batch {
  const ids: string[] = [];
  const events = [];
  for (let i = 0; i < PER_BATCH; i++) {
    const eventId = `s${stream}-b${b}-e${i}`;
    ids.push(eventId);
    events.push({ eventId, userId: `crash-user-${stream}`, action: 'fav', itemId: `i${(b + i) % 6}` });
  }
  return { ids, body: JSON.stringify({ events }) };
}

async function send(
  port: number,
  b: Batch,
): Promise<{ status: number; offsets?: number[]; duplicates?: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: b.body,
  });
  const body = (await res.json()) as { offsets?: number[]; duplicates?: number };
  return { status: res.status, ...body };
}

test('SIGKILL while streaming events: every acknowledged event is in the log once, and applied after restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-crash-'));
  let child: ChildProcess | undefined;
  try {
    const first = startChild(dir);
    child = first.child;
    const port = await first.port;
    const exited = new Promise((r) => first.child.once('exit', r));

    /** eventId → offset, from the 202 answers. */
    const acked = new Map<string, number>();
    /** Batches sent whose answer never came (in flight at the kill). */
    const unanswered: Batch[] = [];
    let ackedBatches = 0;
    let killed = false;
    const stream = async (s: number) => {
      for (let b = 0; !killed || b === 0; b++) {
        const x = batch(s, b);
        let r: Awaited<ReturnType<typeof send>>;
        try {
          r = await send(port, x);
        } catch {
          unanswered.push(x);
          return;
        }
        assert.equal(r.status, 202);
        for (let i = 0; i < x.ids.length; i++) acked.set(x.ids[i], (r.offsets as number[])[i]);
        if (++ackedBatches === KILL_AFTER) {
          // One more batch goes out as the server dies, so at least one is surely unanswered.
          killed = true;
          const last = batch(s, b + 1);
          const sent = send(port, last);
          first.child.kill('SIGKILL');
          await sent.then(
            () => assert.fail('answered by a killed server'),
            () => unanswered.push(last),
          );
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: STREAMS }, (_, s) => stream(s)));
    await exited;
    assert.ok(ackedBatches >= KILL_AFTER);
    assert.ok(unanswered.length > 0, 'batches were in flight at the kill');

    // Everything acknowledged is on disk, once, at its offset (read by this process while no server runs).
    const log = openEventLog(dir);
    try {
      const seen = new Map<string, number>();
      for (const r of log.read(0, 1_000_000)) {
        assert.ok(r.eventId !== undefined);
        assert.ok(!seen.has(r.eventId), `${r.eventId} twice`);
        seen.set(r.eventId, r.offset);
      }
      for (const [id, offset] of acked) assert.equal(seen.get(id), offset, id);
      assert.equal(log.end(), seen.size);
    } finally {
      await log.close();
    }

    const second = startChild(dir);
    child = second.child;
    const port2 = await second.port;
    // The clients retry what they never heard back about: durable ones are duplicates, the others appended.
    for (const x of unanswered) {
      const r = await send(port2, x);
      assert.equal(r.status, 202);
      x.ids.forEach((id, i) => {
        if (acked.has(id)) assert.equal((r.offsets as number[])[i], acked.get(id));
      });
    }
    const all = new Set<string>();
    for (const x of unanswered) for (const id of x.ids) all.add(id);
    for (const id of acked.keys()) all.add(id);
    const log2 = openEventLog(dir);
    try {
      const records = log2.read(0, 1_000_000);
      assert.deepEqual(records.map((r) => r.eventId).sort(), [...all].sort(), 'every event once');
    } finally {
      await log2.close();
    }
    // The restarted server replays the log into its overlay: every record applied, once.
    const deadline = Date.now() + 30_000;
    let applied = -1;
    while (applied !== all.size) {
      assert.ok(Date.now() < deadline, `the restarted server applied ${applied} of ${all.size} records`);
      const metrics = await (await fetch(`http://127.0.0.1:${port2}/metrics`)).text();
      applied = Number(/^simrec_overlay_applied_records (\d+)$/m.exec(metrics)?.[1] ?? -1);
      if (applied !== all.size) await new Promise((r) => setTimeout(r, 20));
    }
    const ready = (await (await fetch(`http://127.0.0.1:${port2}/readyz`)).json()) as {
      lag: { events: number };
    };
    assert.equal(ready.lag.events, 0);
    // The streaming users, unknown to the version, exist in the restarted server's state.
    for (let u = 0; u < STREAMS; u++) {
      const res = await fetch(`http://127.0.0.1:${port2}/v1/users/crash-user-${u}/embedding`);
      assert.equal(res.status, 200, `crash-user-${u}`);
      await res.body?.cancel();
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
