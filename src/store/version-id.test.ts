import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertVersionId, isVersionId, newVersionId, versionTime } from './version-id.ts';

test('a version id is the UTC start time to the millisecond and six hex digits', () => {
  const id = newVersionId([], new Date(Date.UTC(2026, 10, 24, 15, 33, 1, 7)));
  assert.match(id, /^20261124T153301\.007Z-[0-9a-f]{6}$/);
  assert.equal(versionTime(id).toISOString(), '2026-11-24T15:33:01.007Z');
  assert.ok(isVersionId(id));
});

test('a new id sorts after every existing one, even when the clock says otherwise', () => {
  const now = new Date(Date.UTC(2026, 0, 1));
  const later = '20270101T000000.000Z-aaaaaa';
  const id = newVersionId(['not-an-id', later], now);
  assert.ok(id > later);
  assert.equal(versionTime(id).toISOString(), '2027-01-01T00:00:00.001Z');
  const same = [newVersionId([], now)];
  for (let i = 0; i < 5; i++) same.push(newVersionId(same, now));
  assert.deepEqual([...same].sort(), same);
  assert.equal(new Set(same).size, same.length);
});

test('anything else is not a version id', () => {
  for (const bad of [
    '',
    '../x',
    '20261124T153301Z-abcdef',
    '20261124T153301.007Z-ABCDEF',
    '20261124T153301.007Z-abcde',
  ])
    assert.equal(isVersionId(bad), false, bad);
  assert.throws(() => assertVersionId('../etc'), { code: 'CONFIG_INVALID' });
  assert.throws(() => versionTime('nope'), { code: 'CONFIG_INVALID' });
});
