import type { AbsorbStats } from '../data/absorb-events.ts';
import { isoTime } from '../data/validate.ts';
import { type BuildResult, runBuild } from '../pipeline/build.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { type Command, intOption, numberOption, parseOptions, required } from './command.ts';
import { createReporter } from './progress.ts';

const HELP = `usage: simrec build --data DIR --out ARTIFACTS [options]

Reads an input directory, runs the offline stages and writes a new artifact version under
ARTIFACTS/versions/<id>/, switching ARTIFACTS/current to it only after it was verified.

options:
  --data DIR          input directory (canonical files, or a MovieLens directory)
  --out LOC           artifact store: a directory (created if missing) or file:// URL
  --format F          canonical | movielens | auto (default auto)
  --config FILE       JSON or YAML config (see docs/config.md); options below override it
  --seed N            seed of every randomised stage (default 1)
  --threads N         worker threads (default 2; capped to the CPUs available, with a warning)
  --min-rating R      MovieLens: keep ratings >= R as positives (default: all)
  --skip-bad-rows     count and skip bad input rows instead of failing
  --warm-start LOC    initialise KnownFor from that store's current version (cluster ids stay stable)
  --events LOC        also read that location's event log as input (default: the --out location's
                      log when it has one; config events.absorb); --no-events reads none
  --no-events         ignore every event log
  --json              print the manifest as JSON on stdout
  --quiet             no progress bars or log lines, only warnings and the summary
  --log-file FILE     also append every JSON log line (progress, stage details) to FILE
  -h, --help          this help
`;

export const buildCommand: Command = {
  name: 'build',
  summary: 'run the offline pipeline and write a new artifact version',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      quiet: { type: 'boolean' },
      'log-file': { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'min-rating': { type: 'string' },
      'skip-bad-rows': { type: 'boolean' },
      'warm-start': { type: 'string' },
      events: { type: 'string' },
      'no-events': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const data = required(v, 'data');
    const out = required(v, 'out');
    const config = resolveBuildConfig(v.config, {
      seed: v.seed === undefined ? undefined : intOption(v, 'seed', 1),
      threads: v.threads === undefined ? undefined : intOption(v, 'threads', 2, 1),
      ingest: {
        format: v.format,
        minRating: v['min-rating'] === undefined ? undefined : numberOption(v, 'min-rating', 0, 0),
        skipBadRows: v['skip-bad-rows'] ? true : undefined,
      },
    });
    const reporter = createReporter({
      quiet: Boolean(v.quiet),
      logFile: v['log-file'] as string | undefined,
    });
    try {
      const result = await runBuild({
        data,
        out,
        config,
        warmStart: v['warm-start'],
        events: v['no-events'] ? false : (v.events as string | undefined),
        onWarning: (m) => reporter.warn(m),
        onProgress: reporter.progress,
        onStage: (stage, seconds, detail) =>
          reporter.info(`stage ${stage} done`, { seconds: round(seconds), ...detail }),
      });
      reporter.close();
      if (v.json) process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`);
      else process.stdout.write(summarize(result, out));
      return 0;
    } finally {
      reporter.close();
    }
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The human summary printed after a build. */
export function summarize(result: BuildResult, out: string): string {
  const m = result.manifest;
  const lines = [`built version ${m.id} in ${out} (now current)`, ''];
  const c = m.counts;
  lines.push(
    `  users ${c.users ?? 0}  consumers ${c.consumers ?? 0}  producers ${c.producers ?? 0}  follow edges ${c.followEdges ?? 0}`,
    `  items ${c.items ?? 0}  engagements ${c.engagements ?? 0}  topics ${c.topics ?? 0}`,
    `  data time ${m.dataTime === null ? 'unknown (no timestamps)' : `${isoTime(m.dataTime)} (${m.dataTime})`}`,
  );
  const skipped = Object.entries((m.extra.skippedRows as Record<string, number> | undefined) ?? {}).filter(
    ([, n]) => n > 0,
  );
  if (skipped.length) lines.push(`  skipped bad rows: ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const signals = Object.entries((m.extra.signalRows as Record<string, number> | undefined) ?? {}).filter(
    ([, n]) => n > 0,
  );
  if (signals.length)
    lines.push(
      `  impression/hide rows left out (live signals, not engagements): ${signals.map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
  const ev = m.extra.events as AbsorbStats | undefined;
  if (ev)
    lines.push(
      `  event log absorbed: offsets [${ev.fromOffset}, ${ev.toOffset}): ${ev.engagements} engagements, ${ev.unfavs} unfavs, ` +
        `${ev.followsAdded} follows added, ${ev.followsRemoved} removed, ${ev.itemsUpserted} item upserts, ` +
        `${ev.itemsDeleted} deletes, ${ev.signalsOnly} live-only signals`,
    );
  const sc = result.simclusters;
  if (sc) {
    const o = sc.output;
    const r = sc.clusters;
    lines.push(
      '',
      `  SimClusters (${sc.case} case, ${r.graph.used} graph: ${r.graph.reason})`,
      `    ${r.nonEmpty} clusters (k ${r.kMode === 'auto' ? 'chosen from the data' : 'fixed'}: ${r.k}; sizes min ${r.sizes.min}, median ${r.sizes.median}, p90 ${r.sizes.p90}, max ${r.sizes.max})`,
      `    ${sc.producersWithKnownFor} of ${sc.producers} producers have a KnownFor (${(100 * r.coverage).toFixed(1)}% of those with a follower, ${r.extended} from their neighbours)`,
      `    InterestedIn for ${o.interestedIn.stats.usersWithEmbedding} users; item embeddings for ${o.items?.stats.itemsWithEmbedding ?? 0} items; topic embeddings for ${o.topics?.stats.topicsWithEmbedding ?? 0} topics`,
    );
    if (r.top10.sampled > 0)
      lines.push(
        `    top 10 of ${r.top10.sampled} sampled users: ${(100 * r.top10.fullyTied).toFixed(1)}% fully tied, ${(100 * r.top10.empty).toFixed(1)}% empty`,
      );
    for (const w of r.warnings) lines.push(`    WARNING: ${w}`);
    if (sc.truth) {
      lines.push(
        `    against the planted communities: NMI ${sc.truth.nmi.toFixed(3)}, ARI ${sc.truth.ari.toFixed(3)} (${sc.truth.compared} producers)`,
      );
    }
    const top = o.producers.clusterTopProducers;
    let shown = 0;
    for (let c = 0; c < top.nClusters && shown < 3; c++) {
      const start = top.indptr[c];
      const end = Math.min(top.indptr[c + 1], start + 5);
      if (end === start) continue;
      const names: string[] = [];
      for (let j = start; j < end; j++)
        names.push(`${sc.producerIds(top.ids[j])} (${top.scores[j].toFixed(2)})`);
      lines.push(`    cluster ${c} top producers: ${names.join(', ')}`);
      shown++;
    }
  }
  if (result.mf) {
    const d = result.mf.dense;
    const sim = result.mf.similarDense;
    const recall = (r: typeof d) =>
      `recall@${r.recall?.k ?? 10} ${r.recall ? r.recall.recallAtK.toFixed(3) : 'n/a'}`;
    lines.push(
      '',
      `  hybrid MF: ${result.mf.positives} positives, ${result.mf.dim}-dim folded vectors, fit ${result.mf.fitSeconds.toFixed(2)} s;` +
        ` ${d.kind} item index ${recall(d)}, ${sim.kind} similar-items index ${recall(sim)} against exact`,
    );
  }
  if (result.ranker) {
    const r = result.ranker;
    lines.push(
      '',
      `  ranker: ${r.split.kind} split — ${r.split.reason}`,
      `    ${r.train.examples} training examples (${r.train.positives} positive) from ${r.users.train} users, L2 ${r.l2.chosen}${r.l2.mode === 'auto' ? ` (cross-validated over ${r.l2.folds} folds)` : ''}; held-out slice ${r.eval.examples} candidates of ${r.users.eval} users (${r.eval.positives} engaged)`,
      `    held out: AUC ${r.eval.auc.toFixed(3)} (fusion of the sources ${r.eval.fusionAuc.toFixed(3)}), logloss ${r.eval.logloss.toFixed(4)}, ECE ${r.eval.ece.toFixed(4)}; candidate recall ${r.candidateRecall.eval.toFixed(3)}`,
      `    held-out lists, NDCG@${r.eval.lists.k}: ranker ${r.eval.lists.ranker.ndcg.toFixed(4)}, fusion ${r.eval.lists.fusion.ndcg.toFixed(4)} (paired gap ${r.eval.lists.gap.mean.toFixed(4)} ± ${r.eval.lists.gap.standardError.toFixed(4)}), ${Object.entries(
        r.eval.lists.sources,
      )
        .map(([s, q]) => `${s} ${q.ndcg.toFixed(4)}`)
        .join(', ')}`,
      `    reliability: ${r.eval.reliability
        .filter((b) => b.count > 0)
        .map(
          (b) =>
            `[${b.lower.toFixed(1)},${b.upper.toFixed(1)}) n ${b.count} pred ${b.meanPredicted?.toFixed(3)} obs ${b.observedRate?.toFixed(3)}`,
        )
        .join('; ')}`,
    );
    if (r.fallback) lines.push(`    WARNING: ranker not shipped — ${r.fallback}`);
    else {
      const best = Object.entries(r.eval.lists.sources).sort((a, b) => b[1].ndcg - a[1].ndcg)[0];
      if (best && best[1].ndcg > r.eval.lists.ranker.ndcg)
        lines.push(
          `    WARNING: the single source ${best[0]} ranks the held-out lists better than the ranker (NDCG@${r.eval.lists.k} ${best[1].ndcg.toFixed(4)} > ${r.eval.lists.ranker.ndcg.toFixed(4)})`,
        );
    }
  }
  const rankerSkipped = (m.extra.ranker as { skipped?: string } | undefined)?.skipped;
  if (!result.ranker && rankerSkipped) lines.push('', `  ranker: not trained — ${rankerSkipped}`);
  lines.push('', '  stage timings:');
  for (const [stage, s] of Object.entries(result.timings))
    lines.push(`    ${stage.padEnd(22)} ${s.toFixed(2)} s`);
  return `${lines.join('\n')}\n`;
}
