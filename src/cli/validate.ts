/**
 * `simrec validate`: reads an input directory exactly as a build would and says what it found, or what is
 * wrong with it, one `FILE:LINE: column X: reason` per line.
 */
import { SimrecError } from '../core/errors.ts';
import type { DatasetStats } from '../data/dataset.ts';
import { validateDataset } from '../data/load.ts';
import { isoTime, type ValidationReport } from '../data/validate.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { type Command, numberOption, parseOptions, required } from './command.ts';
import { createReporter } from './progress.ts';

const HELP = `usage: simrec validate --data DIR [--config FILE] [--format canonical|movielens|auto] [--skip-bad-rows] [--min-rating R] [--json]

Runs the checks a build runs on its input: file layout, compressed data, headers, and every row (empty or
non-integral numeric ids, JSONL lines that are not objects, weights that are not finite numbers >= 0,
unparseable or implausible timestamps, broken quoting or UTF-8, rows with the wrong number of fields), and
that something is left to build from. Prints the files, counts and data time found and exits 0, or prints
each problem as FILE:LINE: column X: reason and exits 1 where a build would fail.

options:
  --data DIR         input directory: follows / engagements / items / topic_follows as .csv, .tsv,
                     .parquet or .jsonl (optionally .gz), or a MovieLens directory
  --config FILE      the build config whose ingest section applies (format, minRating, skipBadRows,
                     timestamp window); options below override it
  --format F         canonical, movielens or auto (default: auto)
  --skip-bad-rows    report bad rows but accept the data (a build with this flag skips them)
  --min-rating R     MovieLens: ratings below R are not engagements (default 0: keep all)
  --json             print the report as JSON on stdout
`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check an input directory and report its counts or its bad rows',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const values = parseOptions(argv, {
      data: { type: 'string' },
      config: { type: 'string' },
      format: { type: 'string' },
      'skip-bad-rows': { type: 'boolean' },
      'min-rating': { type: 'string' },
      json: { type: 'boolean' },
    });
    const dir = required(values, 'data');
    const ingest = resolveBuildConfig(values.config, {}).ingest;
    const format = values.format ?? ingest.format;
    if (format !== 'canonical' && format !== 'movielens' && format !== 'auto') {
      throw new SimrecError(
        'CONFIG_INVALID',
        `--format must be canonical, movielens or auto, got '${format}'`,
        {
          field: 'format',
        },
      );
    }
    const minRating =
      values['min-rating'] === undefined ? ingest.minRating : numberOption(values, 'min-rating', 0, 0);
    const reporter = createReporter({ quiet: !process.stderr.isTTY });
    let report: ValidationReport;
    try {
      report = await validateDataset(dir, {
        format,
        skipBadRows: Boolean(values['skip-bad-rows']) || ingest.skipBadRows,
        minRating,
        timeWindow: {
          notBefore: ingest.notBefore,
          notAfter: ingest.notAfter,
          maxFutureSeconds: ingest.maxFutureSeconds,
        },
        requireRelations: true,
        onProgress: (stage, done, total) => reporter.progress(stage, done, total),
      });
    } finally {
      reporter.close();
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, jsonNumbers, 2)}\n`);
    } else {
      process.stdout.write(renderReport(report));
      for (const e of report.errors) process.stderr.write(`${e}\n`);
      const listed = report.errors.length;
      if (report.errorCount > listed)
        process.stderr.write(`... ${report.errorCount} problems in total, ${listed} listed\n`);
      if (!report.ok) process.stderr.write(`validate: ${report.errorCount} problem(s) in ${dir}\n`);
      else if (report.badRows > 0)
        process.stderr.write(`validate: ${report.badRows} bad row(s) would be skipped\n`);
    }
    return report.ok ? 0 : 1;
  },
};

/** JSON has no NaN: write unknown times as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

const int = (n: number) => n.toLocaleString('en-US');

function time(ts: number): string {
  if (!Number.isFinite(ts)) return '-';
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace('.000Z', 'Z');
}

/** The human-readable summary: files, then counts. */
export function renderReport(r: ValidationReport): string {
  const lines: string[] = [`data: ${r.dir}${r.format ? ` (${r.format})` : ''}`];
  if (r.files.length > 0) {
    lines.push('files:');
    const w = Math.max(...r.files.map((f) => f.path.length));
    for (const f of r.files) {
      const bad = f.badRows > 0 ? `, ${int(f.badRows)} bad` : '';
      const signals = f.signalRows
        ? `, ${int(f.signalRows)} impression/hide rows left out (live signals, not engagements)`
        : '';
      lines.push(
        `  ${f.kind.padEnd(13)} ${f.path.padEnd(w)}  ${int(f.rows).padStart(12)} rows${bad}${signals}  (${int(f.bytes)} bytes)`,
      );
    }
  }
  if (r.stats) lines.push('counts:', ...renderStats(r.stats));
  if (r.stats) lines.push(`  ${'data time'.padEnd(15)} ${r.dataTime === null ? '-' : isoTime(r.dataTime)}`);
  lines.push(r.ok ? 'ok' : 'FAILED');
  return `${lines.join('\n')}\n`;
}

function renderStats(s: DatasetStats): string[] {
  const rows: [string, string][] = [
    ['users', int(s.users)],
    ['consumers', int(s.consumers)],
    ['producers', int(s.producers)],
    [
      'follow edges',
      `${int(s.followEdges)} (${int(s.duplicateFollowsMerged)} repeats merged, ${int(s.selfFollowsDropped)} self-follows dropped)`,
    ],
    ['items', int(s.items)],
    [
      'engagements',
      `${int(s.engagements)} (${int(s.positiveEngagements)} positive, ${int(s.unfavEngagements)} unfav)`,
    ],
    ['engaging users', int(s.engagingUsers)],
    ['engaged items', int(s.engagedItems)],
    ['topics', int(s.topics)],
    ['topic follows', int(s.topicFollows)],
    ['item tags', int(s.itemTags)],
    ['time range', `${time(s.minTs)} .. ${time(s.maxTs)}`],
  ];
  return rows.map(([k, v]) => `  ${k.padEnd(15)} ${v}`);
}
