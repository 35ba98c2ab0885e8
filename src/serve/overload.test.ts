/**
 * Issue 13 case 12: under excess load the server sheds (503 SERVER_OVERLOADED with Retry-After) instead of
 * queueing, so no accepted request waits long, and /healthz is never shed. The server runs in a child process
 * on loopback; 96 client connections each keep one request in flight on a route that holds the event loop for
 * 20 ms, so without shedding a request would wait for ~95 others, near two seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CONNECTIONS = 96;
const BURN_MS = 20;
/** Requests per connection: bounded work, whatever the machine's speed. */
const PER_CONNECTION = 15;
/**
 * Far above what shedding allows (20 ms of queue + 20 ms of work, plus a shared machine's scheduling delays,
 * seen up to 530 ms at a load average of 13 on 2 cores), half the 1.9 s a request waits behind 95 others.
 */
const ACCEPTED_BOUND_MS = 1000;
const BACKOFF_MS = 100;

interface Answer {
  status: number;
  ms: number;
  retryAfter?: string;
  body: string;
}

function get(agent: Agent, port: number, path: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - t0,
          retryAfter: res.headers['retry-after'] as string | undefined,
          body,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function started(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
}

test('overload: excess requests get 503 with Retry-After, accepted ones stay fast, /healthz always answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-overload-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./overload-child.ts', import.meta.url)), dir, String(BURN_MS)],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS + 1 });
  try {
    const port = await started(child);
    const answers: Answer[] = [];
    const health: Answer[] = [];
    let running = true;
    // A client backs off after a 503, as Retry-After asks (scaled down from seconds to keep the test short);
    // one that retried at once would turn shedding into a flood of retries.
    // Each connection is opened (and the server warmed) by one /healthz first: 96 simultaneous connects are
    // the kernel's and the accept loop's work, seen to take over a second on a busy machine, and are not the
    // queueing that shedding bounds. Keep-alive clients and load balancers hold their connections the same way.
    const client = async () => {
      const warm = await get(agent, port, '/healthz');
      assert.equal(warm.status, 200);
      for (let i = 0; i < PER_CONNECTION; i++) {
        const a = await get(agent, port, '/burn');
        answers.push(a);
        if (a.status === 503) await new Promise((r) => setTimeout(r, BACKOFF_MS));
      }
    };
    const prober = async () => {
      while (running) health.push(await get(agent, port, '/healthz'));
    };
    const probing = prober();
    await Promise.all(Array.from({ length: CONNECTIONS }, client));
    running = false;
    await probing;

    const accepted = answers.filter((a) => a.status === 200);
    const shed = answers.filter((a) => a.status === 503);
    assert.equal(accepted.length + shed.length, answers.length, 'only 200s and 503s');
    assert.ok(accepted.length > 0, 'some requests are served');
    assert.ok(shed.length > answers.length / 4, `load is shed (${shed.length} of ${answers.length})`);
    for (const a of shed) {
      assert.equal(a.retryAfter, '1');
      const body = JSON.parse(a.body) as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
      assert.equal(body.error.code, 'SERVER_OVERLOADED');
    }
    const slowest = Math.max(...accepted.map((a) => a.ms));
    t.diagnostic(
      `${accepted.length} accepted (slowest ${slowest.toFixed(0)} ms), ${shed.length} shed, ${health.length} health probes (slowest ${Math.max(...health.map((h) => h.ms)).toFixed(0)} ms)`,
    );
    assert.ok(slowest < ACCEPTED_BOUND_MS, `slowest accepted request took ${slowest.toFixed(0)} ms`);
    assert.ok(health.length > 0);
    for (const h of health) assert.equal(h.status, 200, 'the liveness probe is never shed');
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
