/**
 * Verified reads (issue 13 case 4): how long a server takes to open a version and load its model, with and
 * without checking the version against its manifest. Three ways, alternated so the machine's load falls on all
 * alike, medians of --reps:
 *  - unverified: openVersion({ verify: false }) + ServingModel.load (the baseline);
 *  - verified: openVersion() (the default: size and CRC-32 of data.mdb, one streaming pass) + load;
 *  - verified beside the load: what a server does — open unverified, then verifyVersion() (the checksum on a
 *    worker thread) and the model load at the same time, usable when both are done;
 *  - per entry: unverified open + verify() (every entry and row re-read and SHA-256'd: what a manifest without
 *    a file checksum falls back to) + load.
 * The page cache is warm for all (each run is preceded by one unmeasured open), as on a server that just
 * built or copied the version.
 *
 *   npm run bench -- open [--preset social|medium] [--seed 1] [--reps 5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ServingModel } from '../src/query/serving-model.ts';
import { openArtifactStore } from '../src/store/open.ts';
import { machine, type Row, table } from './lib.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

type Way = 'unverified' | 'verified' | 'verified beside the load' | 'per entry';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'social' },
      seed: { type: 'string', default: '1' },
      reps: { type: 'string', default: '5' },
    },
  });
  const preset = values.preset as string;
  const seed = Number(values.seed);
  const reps = Number(values.reps);
  const root = resolve('bench/out', `open-${preset}-s${seed}`);
  const data = join(root, 'data');
  const artifacts = join(root, 'artifacts');
  mkdirSync(root, { recursive: true });
  if (!existsSync(join(artifacts, 'CURRENT')))
    for (const args of [
      ['generate', '--preset', preset, '--out', data, '--seed', String(seed)],
      ['build', '--data', data, '--out', artifacts, '--seed', String(seed)],
    ]) {
      const r = spawnSync(process.execPath, ['bin/simrec.js', ...args], {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`simrec ${args[0]} failed (${r.status})`);
    }
  const store = openArtifactStore(artifacts);
  const id = await store.currentVersionId();
  const bytes = statSync(join(artifacts, 'versions', id ?? '', 'data.mdb')).size;

  const once = async (way: Way): Promise<{ open: number; load: number }> => {
    if (way === 'verified beside the load') {
      // What a server does (LiveModel through ReloadingReader's prepare): the model is built while the
      // checksum runs on a worker thread; the version is usable once both are done.
      const t0 = performance.now();
      const reader = await store.openVersion(id ?? undefined, { verify: false });
      await Promise.all([store.verifyVersion(id ?? ''), ServingModel.load(reader, {})]);
      const t1 = performance.now();
      await reader.close();
      return { open: 0, load: t1 - t0 };
    }
    const t0 = performance.now();
    const reader = await store.openVersion(undefined, { verify: way === 'verified' });
    if (way === 'per entry') await reader.verify();
    const t1 = performance.now();
    await ServingModel.load(reader, {});
    const t2 = performance.now();
    await reader.close();
    return { open: t1 - t0, load: t2 - t1 };
  };
  const ways: Way[] = ['unverified', 'verified', 'verified beside the load', 'per entry'];
  const times = new Map<Way, { open: number[]; total: number[] }>(
    ways.map((w) => [w, { open: [], total: [] }]),
  );
  const loads: number[] = [];
  await once('unverified');
  for (let i = 0; i < reps; i++)
    for (const way of ways) {
      const t = await once(way);
      times.get(way)?.open.push(t.open);
      times.get(way)?.total.push(t.open + t.load);
      loads.push(loadavg()[0]);
    }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const base = median(times.get('unverified')?.total ?? []);
  const rows: Row[] = ways.map((way) => {
    const t = times.get(way) ?? { open: [], total: [] };
    return {
      open: way,
      'open + check ms': Math.round(median(t.open)),
      'open + check + model load ms': Math.round(median(t.total)),
      'ratio to unverified': (median(t.total) / base).toFixed(2),
    };
  });
  console.log(
    `\n## Verified reads, ${preset} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${machine()}, ` +
      `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  console.log(
    `version ${id}: data.mdb ${(bytes / 2 ** 20).toFixed(0)} MiB; medians of ${reps} alternated runs, page cache warm\n`,
  );
  console.log(table(rows));
  const added = (row: Row) => ((Number(row['ratio to unverified']) - 1) * 100).toFixed(0);
  console.log(
    `goal: verification adds ≤ 20% to the open time (a server, checking beside the load: ${added(rows[2])}%; ` +
      `checking before the load, as the CLI does: ${added(rows[1])}%)`,
  );
  await store.close();
}
