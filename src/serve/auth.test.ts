// Issue 15 item 7: API keys on write routes (and optionally reads), through the application as a client sees it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { SimrecError } from '../core/errors.ts';
import { SMALL_FIXTURE, writeTestArtifacts } from '../query/test-fixtures.ts';
import { buildApp, type SimrecFastify } from './app.ts';
import { ApiKeys, isLoopbackHost, loadApiKeys } from './auth.ts';
import { assertError } from './test-assertions.ts';

const KEY = 'k-4f1c9e2b7a';
const OTHER = 'second-key';

let root: string;
let artifacts: string;
/** What the write route below was called with: a refused request must leave it empty. */
const written: unknown[] = [];
let logText = '';

const logStream = new Writable({
  write(chunk, _enc, cb) {
    logText += chunk;
    cb();
  },
});

async function app(options: { keys?: string[]; protectReads?: boolean } = {}): Promise<SimrecFastify> {
  return buildApp({
    artifacts,
    pollMs: 0,
    docs: false,
    apiKeys: options.keys,
    protectReads: options.protectReads,
    logger: { level: 'trace', stream: logStream },
    extraRoutes: (a) =>
      a.post('/v1/test-write', { config: { write: true } }, async (request, reply) => {
        // Logging the whole request with its headers is what a careless handler would do; redaction holds.
        request.log.info({ headers: request.headers }, 'write');
        written.push(request.body);
        return reply.code(202).send({ ok: true });
      }),
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'simrec-auth-'));
  artifacts = join(root, 'a');
  await writeTestArtifacts(artifacts, SMALL_FIXTURE);
});

after(() => rmSync(root, { recursive: true, force: true }));

const write = (a: SimrecFastify, headers: Record<string, string> = {}) =>
  a.inject({ method: 'POST', url: '/v1/test-write', payload: { x: 1 }, headers });
const read = (a: SimrecFastify, headers: Record<string, string> = {}) =>
  a.inject({
    method: 'POST',
    url: '/v1/candidates/simclusters',
    payload: { source: { userId: 'dave' } },
    headers,
  });

test('with keys: a write without a valid key is 401 in the error shape and reaches no handler', async () => {
  const a = await app({ keys: [KEY, OTHER] });
  try {
    written.length = 0;
    const none = await write(a);
    assertError(none, 401, 'UNAUTHORIZED', 'authorization');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assertError(await write(a, { authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED', 'authorization');
    assertError(await write(a, { 'x-api-key': `${KEY}x` }), 401, 'UNAUTHORIZED', 'authorization');
    assertError(await write(a, { 'x-api-key': KEY.slice(0, -1) }), 401, 'UNAUTHORIZED', 'authorization');
    // A key in another scheme is not a bearer token.
    assertError(await write(a, { authorization: `Basic ${KEY}` }), 401, 'UNAUTHORIZED', 'authorization');
    assert.deepEqual(written, []);

    assert.equal((await write(a, { authorization: `Bearer ${KEY}` })).statusCode, 202);
    assert.equal((await write(a, { authorization: `bearer ${OTHER}` })).statusCode, 202);
    assert.equal((await write(a, { 'x-api-key': KEY })).statusCode, 202);
    assert.equal(written.length, 3);
    // Reads stay open unless asked.
    assert.equal((await read(a)).statusCode, 200);
    assert.equal((await a.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  } finally {
    await a.close();
  }
});

test('--protect-reads: /v1 reads need a key too; health, readiness and metrics stay open', async () => {
  const a = await app({ keys: [KEY], protectReads: true });
  try {
    assertError(await read(a), 401, 'UNAUTHORIZED', 'authorization');
    assertError(
      await a.inject({ method: 'GET', url: '/v1/items/i0/similar' }),
      401,
      'UNAUTHORIZED',
      'authorization',
    );
    assert.equal((await read(a, { 'x-api-key': KEY })).statusCode, 200);
    for (const url of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await a.inject({ method: 'GET', url })).statusCode, 200, url);
  } finally {
    await a.close();
  }
});

test('without keys every route is open', async () => {
  const a = await app();
  try {
    written.length = 0;
    assert.equal((await write(a)).statusCode, 202);
    assert.equal(written.length, 1);
  } finally {
    await a.close();
  }
});

test('keys never reach the log, even when a handler logs the request headers', async () => {
  logText = '';
  const a = await app({ keys: [KEY] });
  try {
    await write(a, { authorization: 'Bearer not-the-key-123' });
    await write(a, { authorization: `Bearer ${KEY}` });
    await write(a, { 'x-api-key': KEY });
  } finally {
    await a.close();
  }
  assert.ok(logText.includes('[Redacted]'), 'the handler logged headers, redacted');
  assert.ok(!logText.includes(KEY), 'no configured key in the log');
  assert.ok(!logText.includes('not-the-key-123'), 'no presented key in the log');
});

test('ApiKeys: accepts exactly the configured keys, whatever their lengths', () => {
  const keys = new ApiKeys(['a', 'bb', 'a-much-longer-key-0123456789']);
  for (const k of ['a', 'bb', 'a-much-longer-key-0123456789']) assert.ok(keys.accepts(k), k);
  for (const k of [undefined, '', 'b', 'bbb', 'A', 'a-much-longer-key-012345678', 'x'.repeat(5000)])
    assert.ok(!keys.accepts(k), String(k));
});

test('loadApiKeys: file lines and comments, the environment list, duplicates once; errors name where', () => {
  const file = join(root, 'keys.txt');
  writeFileSync(file, '# deploy keys\n\n  alpha  \r\nbeta\n# old: gamma\nalpha\n');
  assert.deepEqual(loadApiKeys({ file }), ['alpha', 'beta']);
  assert.deepEqual(loadApiKeys({ env: ' delta, ,epsilon,' }), ['delta', 'epsilon']);
  assert.deepEqual(loadApiKeys({ file, env: 'beta,zeta' }), ['alpha', 'beta', 'zeta']);

  const code = (c: string, field: string, line?: number) => (e: unknown) =>
    e instanceof SimrecError && e.code === c && e.detail.field === field && e.detail.line === line;
  assert.throws(() => loadApiKeys({ file: join(root, 'absent') }), code('INPUT_MISSING', 'api-keys'));
  writeFileSync(file, '# only comments\n\n');
  assert.throws(() => loadApiKeys({ file }), code('CONFIG_INVALID', 'api-keys'));
  writeFileSync(file, 'ok\nhas space\n');
  assert.throws(
    () => loadApiKeys({ file }),
    (e: unknown) =>
      code('CONFIG_INVALID', 'api-keys', 2)(e) &&
      !(e as Error).message.includes('has space') &&
      (e as Error).message.includes(`${file}:2`),
  );
  assert.throws(() => loadApiKeys({ env: ' , ' }), code('CONFIG_INVALID', 'SIMREC_API_KEYS'));
});

test('isLoopbackHost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com'])
    assert.ok(!isLoopbackHost(h), h);
});
