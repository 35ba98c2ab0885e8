import { writeFileSync } from 'node:fs';
import { isoTime } from '../data/validate.ts';
import { type ReplayReport, runReplay } from '../eval/replay.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { type Command, intOption, numberOption, parseOptions, required } from './command.ts';
import { createReporter } from './progress.ts';

const HELP = `usage: simrec replay --data DIR [options]

What real time is worth: builds a version (simrec build's stages, the build config's defaults) on the data
before time t, then replays the later engagements in time order through the live overlay a server applies
from its event log. Before each engagement, that user's SimClusters candidates are asked for from the live
model and from the frozen version; a hit is the engaged item in the top k. Prints hit-rate@k and MRR side
by side (first engagements of a pair only; repeats are excluded from candidates by design).

options:
  --data DIR            input directory (canonical files or MovieLens)
  --format F            canonical | movielens | auto (default auto)
  --min-rating R        MovieLens: ratings >= R are the engagements (default: all)
  --config FILE         build config (docs/config.md)
  --at T                the cut: Unix seconds or ISO-8601 (default: from --train-fraction)
  --train-fraction F    share of the timed engagements before the cut (default 0.8)
  --k N                 cut-off (default 10)
  --max-queries N       ask about at most N engagements (the rest are still applied)
  --seed N              build seed (default 1)
  --json FILE           also write the report as JSON
  --quiet               no progress
  -h, --help            this help
`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'measure live updates against a frozen version: hit-rate@k and MRR over later events',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      data: { type: 'string' },
      format: { type: 'string' },
      'min-rating': { type: 'string' },
      config: { type: 'string' },
      at: { type: 'string' },
      'train-fraction': { type: 'string' },
      k: { type: 'string' },
      'max-queries': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      quiet: { type: 'boolean' },
    });
    const data = required(v, 'data');
    const config = resolveBuildConfig(v.config, {
      seed: v.seed === undefined ? undefined : intOption(v, 'seed', 1),
      ingest: {
        format: v.format,
        minRating: v['min-rating'] === undefined ? undefined : numberOption(v, 'min-rating', 0, 0),
      },
    });
    let at: number | undefined;
    if (v.at !== undefined) {
      const raw = String(v.at);
      at = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw) / 1000;
      if (!Number.isFinite(at)) {
        process.stderr.write(`simrec replay: --at ${raw} is neither Unix seconds nor an ISO-8601 time\n`);
        return 2;
      }
    }
    const reporter = createReporter({ quiet: Boolean(v.quiet) });
    try {
      const report = await runReplay({
        data,
        config,
        at,
        trainFraction:
          v['train-fraction'] === undefined ? undefined : numberOption(v, 'train-fraction', 0.8, 0),
        k: v.k === undefined ? undefined : intOption(v, 'k', 10, 1),
        maxQueries: v['max-queries'] === undefined ? undefined : intOption(v, 'max-queries', 1, 1),
        onProgress: reporter.progress,
      });
      reporter.close();
      process.stdout.write(renderReplay(report));
      if (v.json) writeFileSync(String(v.json), `${JSON.stringify(report, null, 2)}\n`);
      return 0;
    } finally {
      reporter.close();
    }
  },
};

export function renderReplay(r: ReplayReport): string {
  const pct = (x: number) => x.toFixed(4);
  return [
    `replay: cut at ${isoTime(r.at)} (${r.at}); version ${r.version} built on ${r.before.engagements} engagements (${r.clusters} clusters)`,
    `  ${r.events} later records replayed (${r.laterItems} new items); ${r.queries} first engagements asked about, ${r.notAsked} not`,
    '',
    `  model    hit-rate@${r.k}  MRR@${r.k}   answered`,
    `  live     ${pct(r.live.hitRate).padEnd(12)} ${pct(r.live.mrr).padEnd(8)} ${r.live.answered}`,
    `  frozen   ${pct(r.frozen.hitRate).padEnd(12)} ${pct(r.frozen.mrr).padEnd(8)} ${r.frozen.answered}`,
    '',
    `  live / frozen hit rate: ${r.ratio === null ? 'n/a (frozen 0)' : `${r.ratio.toFixed(2)}×`}`,
    `  build ${r.seconds.build.toFixed(1)} s, replay ${r.seconds.replay.toFixed(1)} s`,
    '',
  ].join('\n');
}
