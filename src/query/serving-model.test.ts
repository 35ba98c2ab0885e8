import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KEYS } from '../artifacts/keys.ts';
import { openArtifactStore } from '../store/open.ts';
import { LiveModel, ServingModel } from './serving-model.ts';
import { SMALL_FIXTURE, type TestArtifactSpec, writeTestArtifacts } from './test-fixtures.ts';

const err = (code: string, field?: string) => (field === undefined ? { code } : { code, detail: { field } });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'simrec-serve-model-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withModel(spec: TestArtifactSpec, fn: (m: ServingModel) => Promise<void>): Promise<void> {
  await withDir(async (dir) => {
    await writeTestArtifacts(dir, spec);
    const store = openArtifactStore(dir);
    const reader = await store.openVersion();
    try {
      await fn(await ServingModel.load(reader));
    } finally {
      await reader.close();
      await store.close();
    }
  });
}

const plain = (row: { ids: Int32Array; values: Float32Array }) => ({
  ids: [...row.ids],
  values: [...row.values].map((v) => Math.round(v * 1e6) / 1e6),
});

test('ids, embeddings and KnownFor of a social version', () =>
  withModel(SMALL_FIXTURE, async (m) => {
    assert.equal(m.k, 4);
    assert.equal(m.socialCase, true);
    assert.equal(m.builtNow, SMALL_FIXTURE.now);
    assert.equal(m.userIndex('dave'), 3);
    assert.throws(() => m.userIndex('zed'), err('NOT_FOUND', 'userId'));
    assert.throws(() => m.itemIndex('zz', 'source.itemId'), err('NOT_FOUND', 'source.itemId'));
    assert.equal(m.producerIndex('carol'), 2);
    assert.equal(m.producerId(2), 'carol');
    assert.throws(() => m.producerIndex('dave'), err('NOT_FOUND', 'producerId'));
    assert.throws(() => m.clusterIndex(4), err('NOT_FOUND', 'clusterId'));
    assert.deepEqual(plain(await m.userEmbedding('dave')), { ids: [0, 1], values: [0.8, 0.6] });
    assert.deepEqual(plain(await m.userEmbedding('dave', 'favScore')), { ids: [0, 1], values: [2, 1] });
    assert.deepEqual(plain(await m.producerEmbedding('carol')), { ids: [2], values: [0.7] });
    assert.deepEqual(plain((await m.itemEmbedding('i4', 'auto')).embedding), {
      ids: [0, 2],
      values: [0.8, 0.6],
    });
    assert.deepEqual([...(await m.engagedItems(m.userIndex('erin')))].sort(), [3, 5]);
    const c0 = m.cluster(0, 10);
    assert.deepEqual(
      [...c0.knownFor.ids].map((p) => m.producerId(p)),
      ['alice', 'bob'],
    );
    assert.deepEqual(
      [...m.cluster(0, 1).topItems.ids].map((i) => m.itemId(i)),
      ['i1'],
    );
    assert.deepEqual(
      [...m.cluster(2, 10).knownFor.ids].map((p) => m.producerId(p)),
      ['carol'],
    );
  }));

test('catalogue version: producers are items', () =>
  withModel(
    {
      k: 2,
      case: 'catalogue',
      users: ['u0', 'u1'],
      items: ['m0', 'm1', 'm2'],
      producers: ['m2', 'm0'],
      knownFor: { m2: [1, 0.7], m0: [1, 0.9] },
      producerEmbeddings: {
        m2: [[1, 0.7]],
        m0: [
          [0, 0.2],
          [1, 0.9],
        ],
      },
      itemEmbeddings: { m0: [[1, 1]], m1: [[0, 1]], m2: [[1, 1]] },
    },
    async (m) => {
      assert.equal(m.socialCase, false);
      assert.equal(m.producerIndex('m0'), 1);
      assert.throws(() => m.producerIndex('m1'), err('NOT_FOUND'));
      assert.throws(() => m.producerIndex('u0'), err('NOT_FOUND'));
      assert.deepEqual(
        [...m.cluster(1, 10).knownFor.ids].map((p) => m.producerId(p)),
        ['m0', 'm2'],
      );
      const r = await m.candidates({ producerId: 'm2' });
      // m0 and m2 are both exactly c1; a producer source excludes nothing
      assert.deepEqual(
        [...r.result.items].map((i) => m.itemId(i)),
        ['m0', 'm2'],
      );
      assert.equal(r.excluded, 0);
    },
  ));

test('a user without social proof is asked with the sum of its items; one with proof with its InterestedIn plus the items it does not cover', () =>
  withModel(
    {
      k: 3,
      case: 'catalogue',
      users: ['u0', 'u1', 'u2'],
      items: ['m0', 'm1', 'm2', 'm3', 'm4'],
      producers: ['m0', 'm1', 'm2', 'm3', 'm4'],
      // u0's and u1's rows: c0 alone; u0's has no social proof, u1's has. u2's: c1 and c2, with proof.
      interestedIn: {
        u0: [[0, 1]],
        u1: [[0, 1]],
        u2: [
          [1, 1],
          [2, 1],
        ],
      },
      withoutProof: ['u0'],
      itemEmbeddings: {
        m0: [
          [0, 3],
          [1, 4],
        ],
        m1: [[2, 2]],
        m2: [[0, 1]],
        m3: [
          [1, 1],
          [2, 1],
        ],
        m4: [[1, 1]],
      },
      engagements: { u0: ['m0', 'm1'], u1: ['m0', 'm1'], u2: ['m0', 'm1'] },
    },
    async (m) => {
      // u0: m0/‖m0‖ + m1/‖m1‖ = (0.6, 0.8, 0) + (0, 0, 1) = (0.6, 0.8, 1), ‖·‖ = √2. Plain cosines (shrinkage 0):
      // m2 (1, 0, 0): 0.6/√2 = 0.4243; m3 (0, 1, 1)/√2: 1.8/2 = 0.9; m4 (0, 1, 0): 0.8/√2 = 0.5657.
      const r0 = await m.candidates({ userId: 'u0' });
      assert.equal(r0.sourceEmbedding, 'engagedItems');
      assert.deepEqual(
        [...r0.result.items].map((i) => m.itemId(i)),
        ['m3', 'm4', 'm2'],
      );
      const expected = [0.9, 0.8 / Math.SQRT2, 0.6 / Math.SQRT2];
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(r0.result.scores[j] - expected[j]) < 1e-6);
      // u1 has proof, but neither engaged item's strongest cluster (m0: c1, m1: c2) is in its row (c0): each adds
      // its unit row, so the query is (1, 0, 0) + (0.6, 0.8, 0) + (0, 0, 1) = (1.6, 0.8, 1), ‖·‖ = √4.2.
      // m2: 1.6/√4.2 = 0.7807; m3: 1.8/(√2·√4.2) = 0.6211; m4: 0.8/√4.2 = 0.3904.
      const r1 = await m.candidates({ userId: 'u1' });
      assert.equal(r1.sourceEmbedding, 'interestedIn:logFavScoreClusterNormalized+engagedItems');
      assert.deepEqual(
        [...r1.result.items].map((i) => m.itemId(i)),
        ['m2', 'm3', 'm4'],
      );
      const s42 = Math.sqrt(4.2);
      const expected1 = [1.6 / s42, 1.8 / (Math.SQRT2 * s42), 0.8 / s42];
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(r1.result.scores[j] - expected1[j]) < 1e-6);
      // u2's row holds both items' strongest clusters: it is asked with the row alone, (0, 1, 1)/√2, so m3
      // (cosine 1) leads, then m4 (1/√2); m2 shares nothing with it.
      const r2 = await m.candidates({ userId: 'u2' });
      assert.equal(r2.sourceEmbedding, 'interestedIn:logFavScoreClusterNormalized');
      assert.deepEqual(
        [...r2.result.items].map((i) => m.itemId(i)),
        ['m3', 'm4'],
      );
      // The InterestedIn route itself still answers with the stored row.
      assert.deepEqual([...(await m.userEmbedding('u0')).ids], [0]);
    },
  ));

test('raw embeddings are checked against k, each cluster once, scores finite as float32', () =>
  withModel(SMALL_FIXTURE, async (m) => {
    const q = (embedding: [number, number][]) => m.candidates({ embedding });
    await assert.rejects(q([[4, 1]]), err('CONFIG_INVALID', 'source.embedding.0.0'));
    await assert.rejects(
      q([
        [0, 1],
        [Number.NaN, 1],
      ]),
      err('CONFIG_INVALID', 'source.embedding.1.0'),
    );
    await assert.rejects(q([[0, 1e39]]), err('CONFIG_INVALID', 'source.embedding.0.1'));
    await assert.rejects(
      q([
        [3, 1],
        [0, 1],
        [3, 2],
      ]),
      err('CONFIG_INVALID', 'source.embedding.2.0'),
    );
    const r = await q([
      [3, 2],
      [0, 0],
    ]);
    assert.deepEqual(
      [...r.result.items].map((i) => m.itemId(i)),
      ['i5', 'i3'],
    );
    // ANN parameter errors name the request field
    await assert.rejects(
      m.candidates({ userId: 'dave' }, { limit: 0 }),
      err('CONFIG_INVALID', 'params.limit'),
    );
  }));

test('a version without SimClusters outputs does not load', () =>
  withDir(async (dir) => {
    await writeTestArtifacts(dir, { ...SMALL_FIXTURE, omit: [KEYS.simclustersMeta] });
    const store = openArtifactStore(dir);
    const reader = await store.openVersion();
    try {
      await assert.rejects(ServingModel.load(reader), err('ARTIFACT_MISSING', KEYS.simclustersMeta));
      await assert.rejects(
        ServingModel.load(reader, { userScore: 'bogus' as 'favScore' }),
        err('CONFIG_INVALID'),
      );
    } finally {
      await reader.close();
      await store.close();
    }
  }));

const DAVE_LIKES_C3: TestArtifactSpec = {
  ...SMALL_FIXTURE,
  interestedIn: { dave: [[3, 1]] },
  interestedInByKind: {},
};

test('LiveModel: warm runs on each new model before it serves; a failing warm is reported, the version serves', () =>
  withDir(async (dir) => {
    const warmed: string[] = [];
    const errors: unknown[] = [];
    let fail = false;
    const live = new LiveModel(openArtifactStore(dir), {
      pollMs: 0,
      onError: (e) => errors.push(e),
      warm: async (m) => {
        // Not yet current while it is warmed.
        assert.notEqual(live.current?.version, m.version);
        warmed.push(m.version);
        if (fail) throw new Error('warm failed');
      },
    });
    try {
      const a = await writeTestArtifacts(dir, SMALL_FIXTURE);
      await live.start();
      assert.deepEqual(warmed, [a]);
      assert.equal(live.current?.version, a);
      fail = true;
      const b = await writeTestArtifacts(dir, DAVE_LIKES_C3);
      assert.equal(await live.refresh(), true);
      assert.deepEqual(warmed, [a, b]);
      assert.equal(live.current?.version, b);
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as Error).message, 'warm failed');
    } finally {
      await live.close();
    }
  }));

test('LiveModel: waits for a first version, switches on refresh, pins a model for requests in flight', () =>
  withDir(async (dir) => {
    const switches: [string | null, string][] = [];
    const errors: unknown[] = [];
    const live = new LiveModel(openArtifactStore(dir), {
      pollMs: 0,
      onSwitch: (from, to) => switches.push([from, to]),
      onError: (e) => errors.push(e),
    });
    try {
      await live.start();
      assert.equal(live.ready, false);
      await assert.rejects(
        live.use(() => 1),
        err('ARTIFACT_MISSING'),
      );

      const a = await writeTestArtifacts(dir, SMALL_FIXTURE);
      assert.equal(await live.refresh(), true);
      assert.equal(live.current?.version, a);
      assert.equal(await live.refresh(), false);

      // A request starts on version a, a build commits b and the server switches while it is in flight.
      let inFlight: ServingModel | undefined;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const request = live.use(async (m) => {
        inFlight = m;
        await gate;
        // still answers from a, with a's data, after the switch
        return plain(await m.userEmbedding('dave'));
      });
      const b = await writeTestArtifacts(dir, DAVE_LIKES_C3);
      assert.equal(await live.refresh(), true);
      assert.equal(live.current?.version, b);
      assert.deepEqual(plain(await live.use((m) => m.userEmbedding('dave'))), { ids: [3], values: [1] });
      release();
      assert.deepEqual(await request, { ids: [0, 1], values: [0.8, 0.6] });
      assert.equal(inFlight?.version, a);
      // a's lease went back with its last request: its reader is closed now
      await assert.rejects(async () => inFlight?.userEmbedding('dave'), err('INTERNAL'));
      assert.deepEqual(switches, [
        [null, a],
        [a, b],
      ]);

      // A version that cannot be loaded leaves the previous one serving.
      await writeTestArtifacts(dir, { ...SMALL_FIXTURE, omit: [KEYS.users] });
      assert.equal(await live.refresh(), false);
      assert.equal(live.current?.version, b);
      // (the first report is start() finding no version at all)
      assert.deepEqual(
        errors.map((e) => (e as { code: string }).code),
        ['ARTIFACT_MISSING', 'ARTIFACT_MISSING'],
      );
      assert.match((errors[1] as Error).message, /ids\/users/);
      assert.deepEqual(plain(await live.use((m) => m.userEmbedding('dave'))), { ids: [3], values: [1] });
    } finally {
      await live.close();
    }
    await assert.rejects(
      live.use(() => 1),
      err('ARTIFACT_MISSING'),
    );
  }));

// The loop is held open below, so a poll that never switches must end the test some other way.
test('LiveModel: polling picks up a new version without being asked', { timeout: 60_000 }, () =>
  withDir(async (dir) => {
    await writeTestArtifacts(dir, SMALL_FIXTURE);
    const seen: string[] = [];
    let resolveSwitch!: () => void;
    const switched = new Promise<void>((r) => {
      resolveSwitch = r;
    });
    const live = new LiveModel(openArtifactStore(dir), {
      pollMs: 10,
      onSwitch: (_from, to) => {
        seen.push(to);
        if (seen.length === 2) resolveSwitch();
      },
    });
    try {
      await live.start();
      const b = await writeTestArtifacts(dir, DAVE_LIKES_C3);
      // The poll timer is unref'd (a server must be free to exit), so once the write has settled nothing else
      // may keep the event loop alive until the next poll: the runner then cancels the test mid-wait.
      const hold = setInterval(() => {}, 60_000);
      try {
        await switched;
      } finally {
        clearInterval(hold);
      }
      assert.equal(live.current?.version, b);
    } finally {
      await live.close();
    }
  }),
);
