// The build's ranker stage on the tiny preset (planted communities, favs driven by the consumers' interests, times
// over a window): the ranker trained on the earlier slice ranks the held-out slice's engagements well above chance
// and above the sources' fusion alone, its report is in the manifest and the stored model is what the engine
// scores with. datasetBefore is checked against a count made here from the data.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KEYS } from '../src/artifacts/keys.ts';
import { readRanker, readRankerMeta } from '../src/artifacts/ranker.ts';
import { recommendCommand } from '../src/cli/recommend.ts';
import { loadDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { datasetBefore, type RankerReport } from '../src/pipeline/ranker-stage.ts';
import { ServingModel } from '../src/query/serving-model.ts';
import { recommend } from '../src/recommend/engine.ts';
import { openArtifactStore } from '../src/store/open.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-ranker-build-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the ranker stage learns the held-out slice and ships a model the engine scores with', async () => {
  const data = join(root, 'data');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 1 });
  const out = join(root, 'art');
  const built = await runBuild({
    data,
    out,
    config: resolveBuildConfig(undefined, {
      threads: 1,
      seed: 1,
      mf: { enabled: false },
      recommend: { strategies: { 'no-ranker': { ranker: false, budgets: { popular: 0 } } } },
    }),
  });
  assert.ok(built.manifest.stages.includes('ranker'));
  const r = built.manifest.extra.ranker as RankerReport;
  // Consumers engage all along the window: the time split's training users are known before it.
  assert.equal(r.split.kind, 'time');
  assert.ok(r.split.warmShare !== null && r.split.warmShare >= 0.5, `warm share ${r.split.warmShare}`);
  const cuts = r.cuts!;
  assert.ok(cuts.state < cuts.holdout);
  assert.ok(r.train.positives > 50 && r.train.negatives > r.train.positives);
  assert.ok(r.eval.positives > 20);
  // Signal recovered: well above chance, and above the sources' reciprocal-rank fusion on the same candidates.
  assert.ok(r.eval.auc > 0.75, `held-out AUC ${r.eval.auc}`);
  assert.ok(r.eval.auc > r.eval.fusionAuc, `AUC ${r.eval.auc} vs fusion ${r.eval.fusionAuc}`);
  assert.ok(r.eval.ece < 0.05, `ECE ${r.eval.ece}`);
  assert.ok(Number.isFinite(r.eval.logloss) && r.eval.logloss > 0);
  assert.equal(r.eval.reliability.length, 10);
  assert.equal(
    r.eval.reliability.reduce((s, b) => s + b.count, 0),
    r.eval.examples,
  );
  assert.equal(built.manifest.counts.rankerTrainExamples, r.train.examples);
  // The held-out lists, ranked as serving ranks them: the ranker above the fusion, so it is shipped.
  assert.equal(r.eval.lists.k, 10);
  assert.ok(r.eval.lists.ranker.groups > 0 && r.eval.lists.ranker.groups <= r.users.eval);
  assert.ok(r.eval.lists.ranker.ndcg > r.eval.lists.fusion.ndcg, JSON.stringify(r.eval.lists));
  assert.ok(r.eval.lists.sources.simclusters.ndcg > 0);
  assert.equal(r.scoring, 'ranker');
  assert.equal(r.fallback, null);
  assert.equal(r.l2.mode, 'auto');
  assert.equal(r.l2.grid.length, 5);

  const store = openArtifactStore(out);
  const reader = await store.openVersion();
  try {
    assert.ok(reader.has(KEYS.rankerModel));
    const ranker = await readRanker(reader);
    assert.ok(ranker);
    const meta = await readRankerMeta<RankerReport>(reader);
    assert.equal(meta?.eval.auc, r.eval.auc);
    const model = await ServingModel.load(reader);
    const rec = await recommend(model, { userId: model.userId(5) }, { limit: 5, explain: true, explore: 0 });
    assert.equal(rec.scoring, 'ranker');
    assert.equal(rec.items.length, 5);
    for (const item of rec.items) {
      assert.ok(item.score >= 0 && item.score <= 1);
      assert.ok(item.explanation && item.explanation.features.length > 0);
    }
    for (let j = 1; j < rec.items.length; j++) assert.ok(rec.items[j - 1].score >= rec.items[j].score);
    // A strategy of the build config: no ranker (fusion), no popular source; the rest as the default.
    const fusion = await recommend(
      model,
      { userId: model.userId(5) },
      { limit: 5, explore: 0, strategy: 'no-ranker' },
    );
    assert.equal(fusion.scoring, 'fusion');
    assert.equal(fusion.strategy, 'no-ranker');
    assert.equal(fusion.stats.sources.popular, undefined);
    assert.ok(fusion.stats.sources.simclusters);
  } finally {
    await reader.close();
    await store.close();
  }

  // The CLI answers what the engine answers (the JSON is the Recommendation).
  const user = built.dataset.users.id(5);
  const expected = await (async () => {
    const st = openArtifactStore(out);
    const rd = await st.openVersion();
    try {
      return await recommend(await ServingModel.load(rd), { userId: user }, { limit: 7, explain: true });
    } finally {
      await rd.close();
      await st.close();
    }
  })();
  const written: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await recommendCommand.run([
      '--artifacts',
      out,
      '--user',
      user,
      '--limit',
      '7',
      '--explain',
      '--json',
    ]);
    assert.equal(code, 0);
  } finally {
    process.stdout.write = write;
  }
  assert.deepEqual(JSON.parse(written.join('')), JSON.parse(JSON.stringify(expected)));

  // datasetBefore keeps exactly the engagements before the cut (untimed ones too) and moves the data time.
  const d = await loadDataset(data);
  const e = d.engagements!;
  let before = 0;
  for (let j = 0; j < e.ts.length; j++) if (!(e.ts[j] >= cuts.state)) before++;
  const pre = datasetBefore(d, cuts.state);
  assert.equal(pre.engagements!.matrix.nnz, before);
  assert.ok(before < e.ts.length);
  assert.equal(pre.dataTime, cuts.state);
  assert.ok(pre.engagements!.ts.every((t) => !(t >= cuts.state)));
});

test('data without timed engagements trains on the per-user holdout (a forced time split is skipped)', async () => {
  const data = join(root, 'untimed');
  await generateSynthetic({ preset: 'tiny', outDir: data, seed: 2 });
  const d = await loadDataset(data);
  const { rankerSkipReason } = await import('../src/pipeline/ranker-stage.ts');
  const cfg = resolveBuildConfig(undefined, {}).ranker;
  assert.equal(rankerSkipReason(d, cfg), null);
  assert.match(rankerSkipReason({ ...d, engagements: null }, cfg) ?? '', /no engagements/);
  // The same engagements with their times dropped, as a rating dump or a play-count export comes.
  const lines = readFileSync(join(data, 'engagements.csv'), 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const keep = header.map((_, j) => j).filter((j) => header[j].trim() !== 'ts');
  assert.ok(keep.length < header.length);
  const plain = join(root, 'untimed-plain');
  mkdirSync(plain);
  writeFileSync(
    join(plain, 'engagements.csv'),
    `${lines.map((l) => keep.map((j) => l.split(',')[j]).join(',')).join('\n')}\n`,
  );
  const untimed = await loadDataset(plain);
  assert.ok(untimed.engagements!.ts.every((t) => Number.isNaN(t)));
  assert.match(rankerSkipReason(untimed, { ...cfg, split: 'time' }) ?? '', /^0 timed engagements/);
  assert.equal(rankerSkipReason(untimed, cfg), null);
  const built = await runBuild({
    data: plain,
    out: join(root, 'untimed-art'),
    config: resolveBuildConfig(undefined, { threads: 1, seed: 1, mf: { enabled: false } }),
  });
  assert.ok(built.manifest.stages.includes('ranker'));
  const r = built.manifest.extra.ranker as RankerReport;
  assert.equal(r.split.kind, 'user');
  assert.match(r.split.reason, /^0 timed engagements/);
  assert.equal(r.cuts, null);
  assert.ok(r.train.positives > 0 && r.eval.positives > 0);
  // Above chance on the held-out users' items, and what the version scores with says which model won the guard.
  assert.ok(r.eval.auc > 0.6, `held-out AUC ${r.eval.auc}`);
  assert.ok(r.scoring === 'ranker' || r.fallback !== null);
});
