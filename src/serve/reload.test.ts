import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SMALL_FIXTURE, type TestArtifactSpec, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp } from './app.ts';

// Version b moves dave's interest to cluster 3, so every answer says which version it came from. Dave engaged
// with i1 (cluster 0): a holds c0 and asks with its row alone; b does not, so it asks with c3 + c0 (normalised):
// i5 0.707, i3 and i4 0.566, i0 0.424; i2 shares nothing.
const B: TestArtifactSpec = { ...SMALL_FIXTURE, interestedIn: { dave: [[3, 1]] }, interestedInByKind: {} };
const ANSWER_A = ['i0', 'i4', 'i2'];
const ANSWER_B = ['i5', 'i3', 'i4', 'i0'];

test('a build committed while requests run: the server switches by polling, no request fails', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simrec-serve-reload-'));
  const app = await buildApp({ artifacts: root, pollMs: 5, docs: false });
  try {
    const a = await writeTestArtifacts(root, SMALL_FIXTURE);
    await app.simrec.live.refresh();
    const seen: { version: string; items: string[]; status: number }[][] = [];
    let stop = false;
    let switchedAt = -1;
    // Four clients in a loop, each one request at a time, so a client's answers are in request order.
    const client = async (k: number) => {
      const log: (typeof seen)[number] = [];
      seen[k] = log;
      while (!stop) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/candidates/simclusters',
          payload: { source: { userId: 'dave' } },
        });
        const body = res.json();
        log.push({
          status: res.statusCode,
          version: body.version,
          items: (body.candidates ?? []).map((c: { itemId: string }) => c.itemId),
        });
        // let the poller's timer run between requests
        await new Promise((r) => setImmediate(r));
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await new Promise((r) => setTimeout(r, 30));
    const b = await writeTestArtifacts(root, B);
    for (let waited = 0; app.simrec.live.current?.version !== b && waited < 5000; waited += 5)
      await new Promise((r) => setTimeout(r, 5));
    switchedAt = seen.reduce((n, log) => n + log.length, 0);
    await new Promise((r) => setTimeout(r, 30));
    stop = true;
    await Promise.all(clients);

    assert.equal(app.simrec.live.current?.version, b, 'switched to b');
    let before = 0;
    let afterwards = 0;
    for (const log of seen) {
      let sawB = false;
      for (const r of log) {
        assert.equal(r.status, 200);
        if (r.version === a) {
          assert.deepEqual(r.items, ANSWER_A);
          assert.equal(sawB, false, 'no client goes back to a after seeing b');
          before++;
        } else {
          assert.equal(r.version, b);
          assert.deepEqual(r.items, ANSWER_B);
          sawB = true;
          afterwards++;
        }
      }
    }
    assert.ok(
      before > 0 && afterwards > 0,
      `answers from both versions (${before} a, ${afterwards} b, switch after ${switchedAt})`,
    );
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});
