/**
 * `simrec generate`: a synthetic input directory with planted ground truth (DESIGN §12), ready for
 * `simrec build --data DIR` and for scoring what the build recovers.
 */
import { SimrecError } from '../core/errors.ts';
import { type GeneratorSummary, generateSynthetic } from '../data/synthetic/generate.ts';
import { PRESET_NAMES, type PresetName } from '../data/synthetic/params.ts';
import { type Command, intOption, numberOption, parseOptions, required } from './command.ts';
import { createReporter } from './progress.ts';

const HELP = `usage: simrec generate --preset tiny|small|social|movies|medium --out DIR [--seed N] [--scale X] [--gzip]

Writes a synthetic data set as a canonical input directory, with the planted ground truth beside it:
  follows.csv        consumer_id,producer_id,ts          (social presets)
  engagements.csv    user_id,item_id,action,weight,ts    favs and some later unfavs; ratings in movies
  items.csv          item_id,author_id,created_ts,tags   (movies: item_id,created_ts,tags)
  topic_follows.csv  user_id,topic                       (social presets)
  truth/producer_community.csv  truth/consumer_interests.csv  truth/item_community.csv
  generator.json     preset, seed, scale, every parameter and the row counts
The same preset, seed and scale always give byte-identical files.

presets (scale 1):
  tiny     400 users, 60 producers in 4 communities, ~3k follows: unit tests
  small    10k users, 1k producers in 16 communities, ~10^5 follows: community recovery in seconds
  social   100k users, 10k producers in 80 communities, ~1.2M follows, 120k items, ~1M favs
  movies   catalogue: 4k movies in 20 taste clusters with genres, 6k users, ~3·10^5 ratings 1-5
  medium   1M users, 100k producers in 800 communities, ~10^7 follows, 1M items, ~10^7 favs

options:
  --preset P      one of the presets above (required)
  --out DIR       output directory, created if missing; generated files of an earlier run are replaced
  --seed N        seed, a non-negative integer (default 1)
  --scale X       multiply users, producers, items and communities by X (default 1); community sizes,
                  degrees and rates stay as they are
  --gzip          write .csv.gz files
  --json          print the summary as JSON on stdout
  --quiet             no progress bars or log lines, only warnings and the summary
  --log-file FILE     also append every JSON log line (progress, stage details) to FILE
  -h, --help      this help
`;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'write a synthetic data set with planted communities and its ground truth',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const v = parseOptions(argv, {
      quiet: { type: 'boolean' },
      'log-file': { type: 'string' },
      preset: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      scale: { type: 'string' },
      gzip: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const preset = required(v, 'preset');
    if (!(PRESET_NAMES as readonly string[]).includes(preset)) {
      throw new SimrecError(
        'CONFIG_INVALID',
        `--preset must be one of ${PRESET_NAMES.join(', ')}, got '${preset}'`,
        { field: 'preset' },
      );
    }
    const outDir = required(v, 'out');
    const seed = intOption(v, 'seed', 1, 0);
    const scale = numberOption(v, 'scale', 1, 0);
    if (scale <= 0) {
      throw new SimrecError('CONFIG_INVALID', `--scale must be a positive number, got '${v.scale}'`, {
        field: 'scale',
      });
    }
    const reporter = createReporter({
      quiet: Boolean(v.quiet),
      logFile: v['log-file'] as string | undefined,
    });
    let summary: GeneratorSummary;
    try {
      summary = await generateSynthetic({
        preset: preset as PresetName,
        outDir,
        seed,
        scale,
        gzip: Boolean(v.gzip),
        onProgress: reporter.progress,
      });
    } finally {
      reporter.close();
    }
    if (v.json) {
      const { params, rows, counts } = summary;
      const out = { preset, seed, scale, gzip: summary.gzip, outDir, rows, counts, params };
      process.stdout.write(
        `${JSON.stringify({ ...out, seconds: round(summary.elapsedMs / 1000) }, null, 2)}\n`,
      );
    } else process.stdout.write(describe(summary));
    return 0;
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The human summary: what was written where, and how fast. */
export function describe(s: GeneratorSummary): string {
  const secs = s.elapsedMs / 1000;
  const files = Object.entries(s.rows);
  const total = files.reduce((acc, [, rows]) => acc + rows, 0);
  const w = Math.max(...files.map(([name]) => name.length));
  const lines = [
    `generated preset '${s.preset}' (seed ${s.seed}, scale ${s.scale}) into ${s.outDir}`,
    ...files.map(([name, rows]) => `  ${name.padEnd(w)}  ${rows.toLocaleString('en-US').padStart(12)} rows`),
    `  ${total.toLocaleString('en-US')} rows in ${secs.toFixed(2)} s (${Math.round(total / Math.max(secs, 1e-3)).toLocaleString('en-US')} rows/s)`,
  ];
  if (s.params.kind === 'social') {
    lines.push(
      `  ${s.params.users} users, ${s.params.producers} producers in ${s.params.communities} communities, μ = ${s.params.mixing}`,
    );
  } else {
    lines.push(
      `  ${s.params.users} users, ${s.params.items} items in ${s.params.communities} taste clusters, μ = ${s.params.mixing}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
