/**
 * Ingest benchmark (issue 4): the `medium` preset's follows file (≈10^7 rows) read into CSR by simrec, against
 * DuckDB's own COUNT(*) over read_csv of the same file in the same run, plus the generator's speed and the peak
 * RSS of ingest. Goals: ingest ≥ 0.5× DuckDB's raw scan rate; peak RSS ≤ 2 GB.
 *
 *   npm run bench -- ingest [--preset medium] [--seed 1] [--scale 1] [--regenerate]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { machine, table, timeAsync } from './lib.ts';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'medium' },
      seed: { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      regenerate: { type: 'boolean', default: false },
    },
  });
  const preset = values.preset as 'medium';
  const seed = Number(values.seed);
  const scale = Number(values.scale);
  const root = resolve('bench/out');
  const dataDir = join(root, `${preset}-s${seed}-x${scale}`);
  const stampFile = join(dataDir, 'generator.json');

  let genRow: Record<string, string | number> = {
    step: 'generate',
    detail: 'cached (use --regenerate to time it)',
  };
  if (values.regenerate || !existsSync(stampFile)) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const { value: summary, seconds } = await timeAsync(() =>
      generateSynthetic({ preset, outDir: dataDir, seed, scale }),
    );
    const rows = Object.values(summary.rows as Record<string, number>).reduce((a, b) => a + b, 0);
    genRow = { step: 'generate', seconds, rows, 'rows/s': rows / seconds, detail: `${preset} seed ${seed}` };
  }
  const follows = join(dataDir, 'follows.csv');
  const onlyFollows = join(root, `${preset}-follows-only`);
  rmSync(onlyFollows, { recursive: true, force: true });
  mkdirSync(onlyFollows, { recursive: true });
  symlinkSync(follows, join(onlyFollows, 'follows.csv'));
  const bytes = statSync(follows).size;

  // Baseline: DuckDB's raw scan of the same file, best of 3 (the first pays the page cache).
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  let duckSeconds = Number.POSITIVE_INFINITY;
  let duckRows = 0;
  for (let i = 0; i < 3; i++) {
    const { value, seconds } = await timeAsync(async () => {
      const r = await conn.runAndReadAll(`SELECT COUNT(*) FROM read_csv('${follows.replaceAll("'", "''")}')`);
      return Number(r.getRows()[0][0]);
    });
    duckRows = value;
    duckSeconds = Math.min(duckSeconds, seconds);
  }
  conn.closeSync();

  // simrec ingest in a child process, so its peak RSS is its own; best of 2.
  let best: { seconds: number; rows: number; users: number; maxRssMiB: number } | null = null;
  for (let i = 0; i < 2; i++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/ingest-child.ts', onlyFollows], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    if (!best || r.seconds < best.seconds) best = r;
  }
  const ingest = best!;
  const duckRate = duckRows / duckSeconds;
  const ingestRate = ingest.rows / ingest.seconds;
  const meta = JSON.parse(readFileSync(stampFile, 'utf8'));
  console.log(`\n## ingest — ${new Date().toISOString().slice(0, 10)}, ${machine()}`);
  console.log(
    `data: ${dataDir} (${(bytes / 2 ** 20).toFixed(0)} MiB follows.csv, ${duckRows} rows; generator ${meta.preset ?? preset})\n`,
  );
  console.log(
    table([
      genRow,
      {
        step: 'DuckDB COUNT(*) read_csv (baseline)',
        seconds: duckSeconds,
        rows: duckRows,
        'rows/s': duckRate,
        detail: 'best of 3',
      },
      {
        step: 'simrec ingest → CSR',
        seconds: ingest.seconds,
        rows: ingest.rows,
        'rows/s': ingestRate,
        detail: `best of 2; ${ingest.users} users; peak RSS ${ingest.maxRssMiB.toFixed(0)} MiB`,
      },
    ]),
  );
  console.log(`ratio ingest/DuckDB scan rate: ${(ingestRate / duckRate).toFixed(2)}× (goal ≥ 0.5×)`);
  console.log(`peak RSS of ingest: ${ingest.maxRssMiB.toFixed(0)} MiB (goal ≤ 2048 MiB)`);
}
