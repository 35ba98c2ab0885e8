/** Assertions the HTTP tests share (not a test file itself). */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';

/** Same ids in the same order, scores within `tolerance`. */
export function assertRanked(
  actual: [string, number][],
  expected: [string, number][],
  tolerance = 1e-5,
): void {
  assert.deepEqual(
    actual.map(([id]) => id),
    expected.map(([id]) => id),
  );
  for (let j = 0; j < expected.length; j++)
    assert.ok(
      Math.abs(actual[j][1] - expected[j][1]) < tolerance,
      `${actual[j][0]}: ${actual[j][1]} vs ${expected[j][1]}`,
    );
}

/** The documented error shape, exactly: { error: { code, message, field? } } and nothing else. */
export function assertError(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.deepEqual(
    Object.keys(body.error).sort(),
    field === undefined ? ['code', 'message'] : ['code', 'field', 'message'],
  );
  if (field !== undefined) assert.equal(body.error.field, field, res.body);
}
