import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSynthetic } from '../data/synthetic/generate.ts';
import { runBuild } from './build.ts';
import type { BuildContext } from './build-stage.ts';
import { resolveBuildConfig } from './config.ts';
import { BUILD_STAGES } from './stages.ts';

test('the build stages in data-flow order, each enabled by its config section and the data it needs', () => {
  assert.deepEqual(
    BUILD_STAGES.map((s) => s.name),
    ['store-inputs', 'simclusters', 'mf', 'ranker'],
  );
  const ctx = (simclusters: boolean, mf: boolean, engagements: boolean, ranker = false) =>
    ({
      config: resolveBuildConfig(undefined, {
        simclusters: { enabled: simclusters },
        mf: { enabled: mf },
        ranker: { enabled: ranker },
      }),
      dataset: { engagements: engagements ? {} : null },
    }) as unknown as BuildContext;
  const enabled = (c: BuildContext) => BUILD_STAGES.filter((s) => s.enabled(c)).map((s) => s.name);
  assert.deepEqual(enabled(ctx(true, false, true)), ['store-inputs', 'simclusters']);
  assert.deepEqual(enabled(ctx(false, true, true)), ['store-inputs', 'mf']);
  assert.deepEqual(enabled(ctx(true, true, false)), ['store-inputs', 'simclusters']);
  assert.deepEqual(enabled(ctx(true, false, true, true)), ['store-inputs', 'simclusters', 'ranker']);
  assert.deepEqual(enabled(ctx(true, false, false, true)), ['store-inputs', 'simclusters']);
});

test('runBuild runs exactly the enabled stages and records them in the manifest', async () => {
  const data = mkdtempSync(join(tmpdir(), 'simrec-stages-'));
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 3 });
  const only = await runBuild({
    data,
    out: mkdtempSync(join(tmpdir(), 'simrec-art-')),
    config: resolveBuildConfig(undefined, {
      threads: 1,
      simclusters: { enabled: false },
      mf: { enabled: false },
    }),
  });
  assert.deepEqual(only.manifest.stages, ['ingest', 'store-inputs']);
  assert.equal(only.simclusters, null);
  assert.equal(only.mf, null);
  assert.equal(only.ranker, null);
  const full = await runBuild({
    data,
    out: mkdtempSync(join(tmpdir(), 'simrec-art-')),
    config: resolveBuildConfig(undefined, { threads: 1 }),
  });
  // SimClusters records its own sub-stages, in order, after the inputs.
  assert.deepEqual(full.manifest.stages.slice(0, 4), ['ingest', 'store-inputs', 'similarity', 'known-for']);
  assert.ok(full.simclusters);
  // The default build: MF and the ranker after SimClusters.
  assert.deepEqual(full.manifest.stages.slice(-2), ['mf', 'ranker']);
  assert.ok(full.mf && full.ranker);
  assert.equal(full.manifest.counts.clusters, full.simclusters.k);
});
