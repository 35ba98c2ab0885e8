import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, SimrecError } from '../core/errors.ts';
import { HTTP_ERROR_CODES, HTTP_STATUS, toHttpError } from './errors.ts';

test('every SimrecError code has a status; client faults are 4xx, deployment faults 5xx', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.ok(code in HTTP_STATUS, code);
  const status = (code: keyof typeof ERROR_CODES) => toHttpError(new SimrecError(code, 'x')).status;
  assert.equal(status('NOT_FOUND'), 404);
  assert.equal(status('CONFIG_INVALID'), 400);
  assert.equal(status('ARTIFACT_MISSING'), 503);
  assert.equal(status('ARTIFACT_LOCKED'), 503);
  assert.equal(status('ARTIFACT_CORRUPT'), 503);
  assert.equal(status('ARTIFACT_IO'), 503);
  assert.equal(status('INTERNAL'), 500);
});

test('a SimrecError keeps its code, message and field; server-side details are not shown', () => {
  assert.deepEqual(toHttpError(new SimrecError('NOT_FOUND', "unknown user 'x'", { field: 'userId' })), {
    status: 404,
    body: { error: { code: 'NOT_FOUND', message: "unknown user 'x'", field: 'userId' } },
    internal: false,
  });
  const corrupt = toHttpError(new SimrecError('ARTIFACT_CORRUPT', '/srv/artifacts/v1/data.mdb is damaged'));
  assert.equal(corrupt.status, 503);
  assert.equal(corrupt.body.error.code, 'ARTIFACT_CORRUPT');
  assert.doesNotMatch(corrupt.body.error.message, /srv/);
  // a damaged version is the deployment's state, not a bug: no stack in the log
  assert.equal(corrupt.internal, false);
  assert.equal(toHttpError(new SimrecError('INTERNAL', 'x')).internal, true);
});

test('anything else is a 500 INTERNAL whose message stays in the log', () => {
  for (const e of [new TypeError('x is undefined'), 'a string', null, { statusCode: 500, message: 'boom' }]) {
    const h = toHttpError(e);
    assert.deepEqual(h, {
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
      internal: true,
    });
  }
});

test('Fastify errors: validation names the field; body, media type and other 4xx keep their class', () => {
  const validation = (issue: object, context = 'body') =>
    toHttpError(
      Object.assign(new Error('v'), { validation: [issue], validationContext: context, statusCode: 400 }),
    );
  assert.deepEqual(
    validation({ keyword: 'maximum', instancePath: '/params/limit', message: 'must be <= 5' }).body,
    {
      error: { code: 'REQUEST_INVALID', message: 'params.limit must be <= 5', field: 'params.limit' },
    },
  );
  assert.equal(
    validation({ keyword: 'required', instancePath: '', params: { requiredProperties: ['source'] } }).body
      .error.field,
    'source',
  );
  assert.equal(
    validation({
      keyword: 'additionalProperties',
      instancePath: '/params',
      params: { additionalProperties: ['x'] },
    }).body.error.field,
    'params.x',
  );
  assert.equal(
    validation({ keyword: 'type', instancePath: '/a~1b', message: 'must be string' }).body.error.field,
    'a/b',
  );
  assert.equal(
    validation({ keyword: 'type', instancePath: '', message: 'must be object' }, 'querystring').body.error
      .field,
    'querystring',
  );
  assert.match(
    validation({ keyword: 'enum', instancePath: '/mode', params: { allowedValues: ['a', 'b'] } }).body.error
      .message,
    /mode must be one of "a", "b"/,
  );
  const fastify = (code: string, statusCode: number) =>
    toHttpError(Object.assign(new Error('m'), { code, statusCode })).status;
  assert.equal(fastify('FST_ERR_CTP_BODY_TOO_LARGE', 413), 413);
  assert.equal(fastify('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), 415);
  assert.equal(fastify('FST_ERR_CTP_INVALID_JSON_BODY', 400), 400);
  assert.equal(fastify('FST_ERR_CTP_EMPTY_JSON_BODY', 400), 400);
  assert.equal(fastify('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400), 400);
  assert.deepEqual(
    toHttpError(Object.assign(new Error('m'), { code: 'FST_ERR_BAD_URL', statusCode: 400 })).body,
    {
      error: { code: 'REQUEST_INVALID', message: 'the URL holds a malformed %-escape', field: 'url' },
    },
  );
  const long = toHttpError(
    Object.assign(new Error('m'), { code: 'FST_ERR_MAX_PARAM_LENGTH', statusCode: 414 }),
  );
  assert.equal(long.status, 400);
  assert.equal(long.body.error.code, 'REQUEST_INVALID');
});

test("docs/errors.md's HTTP table gives every code the status the server answers with", () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').split(
    '\n## Over HTTP',
  )[1];
  assert.ok(doc, 'docs/errors.md has an "Over HTTP" section');
  const documented = new Map<string, number>();
  for (const row of doc.matchAll(/^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| (\d{3}) \|/gm))
    for (const code of row[1].matchAll(/`([A-Z_]+)`/g)) {
      assert.ok(!documented.has(code[1]), `${code[1]} is listed twice`);
      documented.set(code[1], Number(row[2]));
    }
  assert.deepEqual(
    [...documented.keys()].sort(),
    [...Object.keys(ERROR_CODES), ...Object.keys(HTTP_ERROR_CODES)].sort(),
  );
  for (const [code, status] of documented)
    assert.equal(status, HTTP_STATUS[code as keyof typeof HTTP_STATUS], code);
});
