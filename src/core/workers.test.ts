import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from './prng.ts';
import { runWorkers, sharedArray, startWorker, toShared, workerDone } from './workers.ts';

const fixture = new URL('./workers-fixture.ts', import.meta.url);

test('a .ts worker loads through tsx, imports .ts modules and writes shared memory', async () => {
  const shared = sharedArray(Int32Array, 1);
  const draws: number[] = [];
  await runWorkers(fixture, 3, { mode: 'sum', shared }, (i, m) => {
    const msg = m as { workerIndex: number; draw: number };
    assert.equal(msg.workerIndex, i);
    draws[i] = msg.draw;
  });
  assert.equal(shared[0], 1 + 2 + 3);
  assert.deepEqual(
    draws,
    [0, 1, 2].map((i) => new Rng(i).int(1000)),
  );
});

test('a worker error rejects with its message; a bad exit code rejects', async () => {
  const shared = sharedArray(Int32Array, 1);
  await assert.rejects(runWorkers(fixture, 2, { mode: 'throw', shared }), /failed on purpose/);
  const w = startWorker(fixture, { mode: 'exit', shared, workerIndex: 0, workerCount: 1 });
  await assert.rejects(workerDone(w), /exited with code 3/);
});

test('toShared copies into a SharedArrayBuffer; sharedArray is zeroed', () => {
  const a = new Float32Array([1.5, -2, 3]);
  const s = toShared(a);
  assert.ok(s.buffer instanceof SharedArrayBuffer);
  assert.ok(s instanceof Float32Array);
  assert.deepEqual(Array.from(s), [1.5, -2, 3]);
  assert.equal(toShared(s), s);
  assert.equal(toShared(new Int32Array(0)).length, 0);
  const z = sharedArray(Float64Array, 4);
  assert.deepEqual(Array.from(z), [0, 0, 0, 0]);
});

test('workers also start when tsx is loaded through register() (the bin/simrec.js path)', () => {
  // A child without --import tsx, which registers tsx from code exactly as bin/simrec.js does.
  const workersUrl = new URL('./workers.ts', import.meta.url).href;
  const script = `
    import { register } from 'tsx/esm/api';
    register();
    const { runWorkers, sharedArray } = await import(${JSON.stringify(workersUrl)});
    const shared = sharedArray(Int32Array, 1);
    await runWorkers(new URL(${JSON.stringify(fixture.href)}), 2, { mode: 'sum', shared });
    console.log('sum=' + shared[0]);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(r.stderr.trim(), '');
  assert.equal(r.stdout.trim(), 'sum=3');
  assert.equal(r.status, 0);
});
