import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { startHealthPort } from './health-port.ts';

async function get(url: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method });
  return {
    status: res.status,
    body: method === 'HEAD' ? {} : ((await res.json()) as Record<string, unknown>),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('health port: 200 while every loop beats, 503 SERVER_STALLED naming the loop that stopped, 404 elsewhere', async () => {
  const hp = await startHealthPort({ host: '127.0.0.1', port: 0, loops: 2, stallMs: 300 });
  try {
    const ok = await get(`${hp.url}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'ok');
    assert.equal(ok.body.loops, 2);
    assert.equal((await get(`${hp.url}/healthz?verbose=1`, 'HEAD')).status, 200);
    const wrong = await get(`${hp.url}/readyz`);
    assert.equal(wrong.status, 404);
    assert.equal((wrong.body.error as { code: string }).code, 'ROUTE_NOT_FOUND');
    assert.equal((await get(`${hp.url}/healthz`, 'POST')).status, 404);

    // loop 0 keeps beating, loop 1 stops
    for (let i = 0; i < 6; i++) {
      hp.beat(0);
      await sleep(100);
    }
    const stalled = await get(`${hp.url}/healthz`);
    assert.equal(stalled.status, 503);
    const error = stalled.body.error as { code: string; message: string };
    assert.equal(error.code, 'SERVER_STALLED');
    assert.match(error.message, /request loop 1 has not run for \d+ ms \(limit 300 ms\)/);
    hp.beat(0);
    hp.beat(1);
    assert.equal((await get(`${hp.url}/healthz`)).status, 200);
  } finally {
    await hp.close();
  }
  await assert.rejects(fetch(`${hp.url}/healthz`));
});

test('health port: answers while the thread that owns the request loop is blocked', async () => {
  const hp = await startHealthPort({ host: '127.0.0.1', port: 0, loops: 1, stallMs: 10_000 });
  // A separate process probes every 20 ms and records when each answer arrived; this thread then blocks.
  const probe = `
    const url = process.argv[1]; const until = Date.now() + 2500; const answers = [];
    (async () => {
      let told = false;
      while (Date.now() < until) {
        const res = await fetch(url).catch(() => null);
        if (res) { answers.push({ at: Date.now(), status: res.status }); await res.arrayBuffer(); }
        if (!told && res) { told = true; process.stdout.write('go\\n'); }
        await new Promise((r) => setTimeout(r, 20));
      }
      process.stdout.write(JSON.stringify(answers) + '\\n');
    })();`;
  const child = spawn(process.execPath, ['-e', probe, `${hp.url}/healthz`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const first = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('go\n')) resolve();
    }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await first;
    const from = Date.now();
    while (Date.now() - from < 1000);
    const to = Date.now();
    await exited;
    const answers = JSON.parse(out.split('\n')[1]) as { at: number; status: number }[];
    const during = answers.filter((a) => a.at > from + 50 && a.at < to);
    assert.ok(during.length >= 5, `only ${during.length} answers while this thread was blocked for 1 s`);
    for (const a of answers) assert.equal(a.status, 200);
  } finally {
    if (child.exitCode === null) child.kill();
    await hp.close();
  }
});

test('health port: a port already taken is CONFIG_INVALID naming health-port', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  const port = (taken.address() as { port: number }).port;
  try {
    await assert.rejects(
      startHealthPort({ host: '127.0.0.1', port, loops: 1 }),
      (e: { code: string; detail: { field?: string } }) => {
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.equal(e.detail.field, 'health-port');
        return true;
      },
    );
  } finally {
    taken.close();
  }
});
