/**
 * Issue 13 part B, in process: a damaged version is refused and the previous one keeps serving (case 4), the
 * error shape holds for what the router and Node's HTTP parser reject and query strings are validated like
 * bodies (case 14), readiness follows the served version's files and expected 503s are warnings (case 15), and
 * request work is capped (case 13).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  MF_FIXTURE,
  SMALL_FIXTURE,
  type TestArtifactSpec,
  writeTestArtifacts,
} from '../query/test-fixtures.ts';
import { encodeSparseRowInto, sparseRowBytes } from '../store/codec.ts';
import { buildApp } from './app.ts';
import { REQUEST_LIMITS } from './schemas.ts';
import { assertError } from './test-assertions.ts';

const B: TestArtifactSpec = { ...SMALL_FIXTURE, interestedIn: { dave: [[3, 1]] }, interestedInByKind: {} };
const ANSWER_A = ['i0', 'i4', 'i2'];

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'simrec-serve-integrity-'));
}

/** Rewrites every stored copy of the row {3: 1} in a version's data file as {16777215: 1}; returns how many. */
function damageRow(root: string, version: string): number {
  const path = join(root, 'versions', version, 'data.mdb');
  const file = readFileSync(path);
  const row = new Uint8Array(sparseRowBytes(1));
  encodeSparseRowInto(new Int32Array([3]), new Float32Array([1]), 0, 1, row);
  let n = 0;
  for (let at = file.indexOf(row); at >= 0; at = file.indexOf(row, at + 1)) {
    file.writeInt32LE(16777215, at + 8);
    n++;
  }
  writeFileSync(path, file);
  return n;
}

const candidates = {
  method: 'POST' as const,
  url: '/v1/candidates/simclusters',
  payload: { source: { userId: 'dave' } },
};

/** A pino destination that keeps parsed lines. */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

test('case 4: a damaged new version is refused (ARTIFACT_CORRUPT) and the previous one keeps serving', async () => {
  const root = tempRoot();
  const sink = logSink();
  const app = await buildApp({
    artifacts: root,
    pollMs: 10,
    docs: false,
    logger: { level: 'info', stream: sink.stream },
  });
  let fresh: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    const a = await writeTestArtifacts(root, SMALL_FIXTURE);
    await app.simrec.live.refresh();
    const b = await writeTestArtifacts(root, B);
    assert.ok(damageRow(root, b) > 0, 'the row was found in the data file');
    const refused = () => sink.lines.filter((l) => l.code === 'ARTIFACT_CORRUPT');
    // the poller reports it (every 10 ms it looks at current again)
    for (let waited = 0; refused().length === 0 && waited < 5000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(app.simrec.live.current?.version, a);
    const res = await app.inject(candidates);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().version, a);
    assert.deepEqual(
      res.json().candidates.map((c: { itemId: string }) => c.itemId),
      ANSWER_A,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).json().version, a);
    assert.equal(refused().length, 1, 'reported');
    assert.equal(refused()[0].level, 40, 'at warn');
    assert.equal(refused()[0].err, undefined, 'without a stack');
    // polled ten times more: not reported again
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(refused().length, 1);

    // A server starting on the damaged version serves nothing and says why.
    fresh = await buildApp({ artifacts: root, pollMs: 0, docs: false });
    assertError(await fresh.inject({ method: 'GET', url: '/readyz' }), 503, 'ARTIFACT_CORRUPT');
    assertError(await fresh.inject(candidates), 503, 'ARTIFACT_MISSING');
  } finally {
    await fresh?.close();
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('case 15: /readyz turns 503 when the served version is deleted; expected 503s are warnings without a stack', async () => {
  const root = tempRoot();
  const sink = logSink();
  const app = await buildApp({
    artifacts: root,
    pollMs: 0,
    docs: false,
    logger: { level: 'info', stream: sink.stream },
  });
  try {
    await writeTestArtifacts(root, SMALL_FIXTURE);
    await app.simrec.live.refresh();
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    rmSync(root, { recursive: true, force: true });
    assertError(await app.inject({ method: 'GET', url: '/readyz' }), 503, 'ARTIFACT_MISSING');
    sink.lines.length = 0;
    const empty = await buildApp({
      artifacts: root,
      pollMs: 0,
      docs: false,
      logger: { level: 'info', stream: sink.stream },
    });
    try {
      for (let i = 0; i < 3; i++) assertError(await empty.inject(candidates), 503, 'ARTIFACT_MISSING');
    } finally {
      await empty.close();
    }
    const failed = sink.lines.filter((l) => l.msg && /no artifact version is loaded/.test(String(l.msg)));
    assert.equal(failed.length, 3, JSON.stringify(sink.lines));
    for (const l of failed) {
      assert.equal(l.level, 40);
      assert.equal(l.err, undefined);
    }
    assert.equal(sink.lines.filter((l) => (l.level as number) >= 50).length, 0);
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('case 14: what the router rejects comes in the error shape; query strings are validated like bodies', async () => {
  const root = tempRoot();
  const app = await buildApp({ artifacts: root, pollMs: 0, docs: false });
  try {
    await writeTestArtifacts(root, SMALL_FIXTURE);
    await app.simrec.live.refresh();
    assertError(
      await app.inject({ method: 'GET', url: '/v1/items/%E0%A4%A/similar' }),
      400,
      'REQUEST_INVALID',
      'url',
    );
    assertError(
      await app.inject({ method: 'GET', url: `/v1/items/${'x'.repeat(4097)}/similar` }),
      400,
      'REQUEST_INVALID',
      'url',
    );
    assertError(
      await app.inject({ method: 'GET', url: `/v1/items/${'x'.repeat(1025)}/similar` }),
      400,
      'REQUEST_INVALID',
      'itemId',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/v1/items/i0/similar?limit[]=1' }),
      400,
      'REQUEST_INVALID',
      'limit[]',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/v1/items/i0/similar?limt=1' }),
      400,
      'REQUEST_INVALID',
      'limt',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/v1/items/i0/similar?limit=1&limit=2' }),
      400,
      'REQUEST_INVALID',
      'limit',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/v1/items/i0/similar?limit=x' }),
      400,
      'REQUEST_INVALID',
      'limit',
    );
    assert.equal((await app.inject({ method: 'GET', url: '/v1/items/i0/similar?limit=2' })).statusCode, 200);
    // routes without query parameters take none
    assertError(
      await app.inject({ method: 'GET', url: '/v1/producers/alice/embedding?x=1' }),
      400,
      'REQUEST_INVALID',
      'x',
    );
    assertError(
      await app.inject({ ...candidates, url: `${candidates.url}?limit=5` }),
      400,
      'REQUEST_INVALID',
      'limit',
    );
    assertError(
      await app.inject({ method: 'GET', url: '/healthz?verbose' }),
      400,
      'REQUEST_INVALID',
      'verbose',
    );
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});

/** Sends raw bytes to a listening server and returns status line and body of the answer. */
function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
    socket.end(request);
  });
}

test('case 14: what the HTTP parser rejects (bad request, oversized headers) comes in the error shape', async () => {
  const root = tempRoot();
  const app = await buildApp({ artifacts: root, pollMs: 0, docs: false });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const bad = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.code, 'REQUEST_INVALID');
    const big = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(big.status, 431);
    assert.deepEqual(Object.keys(JSON.parse(big.body).error).sort(), ['code', 'message']);
    assert.equal(JSON.parse(big.body).error.code, 'HEADERS_TOO_LARGE');
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('case 13: request work is capped by the schema: fold-in items, limit, exclude and allow sizes', async () => {
  const root = tempRoot();
  const app = await buildApp({ artifacts: root, pollMs: 0, docs: false });
  try {
    await writeTestArtifacts(root, MF_FIXTURE);
    await app.simrec.live.refresh();
    const dense = (body: unknown) =>
      app.inject({ method: 'POST', url: '/v1/candidates/dense', payload: body as object });
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
    assertError(
      await dense({ source: { items: ids(REQUEST_LIMITS.foldInItems + 1) } }),
      400,
      'REQUEST_INVALID',
      'source.items',
    );
    assert.notEqual((await dense({ source: { items: ids(REQUEST_LIMITS.foldInItems) } })).statusCode, 400);
    assertError(
      await dense({ source: { userId: 'dave' }, params: { limit: REQUEST_LIMITS.limit + 1 } }),
      400,
      'REQUEST_INVALID',
      'params.limit',
    );
    assertError(
      await app.inject({
        ...candidates,
        payload: { source: { userId: 'dave' }, params: { exclude: ids(REQUEST_LIMITS.listIds + 1) } },
      }),
      400,
      'REQUEST_INVALID',
      'params.exclude',
    );
    assertError(
      await app.inject({
        ...candidates,
        payload: {
          source: { userId: 'dave' },
          params: { itemsPerCluster: REQUEST_LIMITS.itemsPerCluster + 1 },
        },
      }),
      400,
      'REQUEST_INVALID',
      'params.itemsPerCluster',
    );
  } finally {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  }
});
