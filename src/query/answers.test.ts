import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/prng.ts';
import { candidatesJson, candidatesJsonText, f32, f32Text } from './answers.ts';

/** The definition: the fewest significant digits (from 6) whose decimal rounds to the same float32. */
function digitsNeeded(v: number): number {
  const target = Math.fround(v);
  for (let d = 1; d <= 9; d++) if (Math.fround(Number(v.toPrecision(d))) === target) return d;
  return 9;
}

test('f32 gives a decimal of the fewest digits (from 6) that parses back to the same float32', () => {
  assert.equal(f32(Math.fround(0.3)), 0.3);
  assert.equal(f32(Math.fround(0.983765)), 0.983765);
  assert.equal(f32(Math.fround(1 / 3)), 0.33333334);
  assert.equal(f32(2), 2);
  assert.equal(f32(0), 0);
  assert.equal(f32(Number.NaN), Number.NaN);
  assert.equal(f32(Math.fround(-12345.678)), -12345.678);
  const rng = new Rng(7);
  for (let i = 0; i < 20_000; i++) {
    // Scores span many magnitudes: cosines in [0, 1], raw weights, decayed values down to 1e-30, big sums.
    const magnitude = 10 ** (Math.floor(rng.next() * 40) - 30);
    const v = Math.fround((rng.next() * 2 - 1) * magnitude);
    const out = f32(v);
    assert.equal(Math.fround(out), v, `f32(${v}) = ${out} is another float32`);
    const shown = Number(JSON.stringify(out));
    assert.equal(shown, out);
    if (Number.isInteger(v)) continue; // integers are written as they are
    const digits = String(Math.abs(out)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length;
    assert.ok(digits <= Math.max(6, digitsNeeded(v)), `f32(${v}) printed ${out}: ${digits} digits`);
  }
});

test('f32Text is JSON text of the same double f32 gives, over many magnitudes and signs', () => {
  for (const v of [
    0.5,
    0.1,
    Math.fround(0.3),
    1e-7,
    Math.fround(1e-7),
    0.99999999,
    123456.5,
    1e30,
    -0.25,
    7,
    0,
  ]) {
    assert.equal(JSON.parse(f32Text(v)), f32(v), String(v));
    assert.doesNotMatch(f32Text(v), /^-?0\d|\.$|\.\d*0$/, `${v} → ${f32Text(v)}`);
  }
  assert.equal(f32Text(Number.NaN), 'null');
  assert.equal(f32Text(Number.POSITIVE_INFINITY), 'null');
  assert.equal(f32Text(Math.fround(0.8875)), '0.8875');
  assert.equal(f32Text(Math.fround(-0.02)), '-0.02');
  assert.equal(f32Text(Math.fround(12.5)), '12.5');
  const rng = new Rng(11);
  for (let i = 0; i < 50_000; i++) {
    const magnitude = 10 ** (Math.floor(rng.next() * 40) - 30);
    const v = Math.fround((rng.next() * 2 - 1) * magnitude);
    assert.equal(JSON.parse(f32Text(v)), f32(v), `f32Text(${v}) = ${f32Text(v)}`);
  }
});

test('candidatesJsonText parses to exactly the answer candidatesJson builds', async () => {
  const { ServingModel } = await import('./serving-model.ts');
  const { writeTestArtifacts, SMALL_FIXTURE } = await import('./test-fixtures.ts');
  const { openArtifactStore } = await import('../store/open.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = mkdtempSync(join(tmpdir(), 'simrec-format-'));
  try {
    await writeTestArtifacts(root, SMALL_FIXTURE);
    const store = openArtifactStore(root);
    const m = await ServingModel.load(await store.openVersion());
    for (const source of [{ userId: 'dave' }, { topic: 'dogs' }] as const) {
      const r = await m.candidates(source, { limit: 10 }, { maxAgeHours: 1e6, now: 2e9 });
      assert.ok(r.result.items.length > 0);
      assert.deepEqual(
        JSON.parse(candidatesJsonText(m, r, { maxAgeHours: 1e6, now: 2e9 })),
        candidatesJson(m, r, { maxAgeHours: 1e6, now: 2e9 }),
      );
    }
    for (const id of SMALL_FIXTURE.items) {
      const i = m.itemIndex(id);
      assert.equal(JSON.parse(m.itemIdJson(i)), id);
      assert.equal(m.itemIdJson(i), m.itemIdJson(i));
    }
    await store.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
