/**
 * Whole build on `medium` (issue 5): `simrec build` of the medium preset (10^6 users, ≈10^7 follows, ≈10^7
 * engagements) in a child process, with defaults and 2 threads. Reports the time of every stage (from the
 * manifest), the part no stage timed (process start-up, gaps between stages), follow edges per core-second end
 * to end — follow edges / (wall seconds × cores) — and the child's peak RSS. Goals:
 * ≥ 60,000 edges per core-second (the published system: 5·10^9 edges in < 1.5 h on 16 cores) and peak RSS ≤ 8 GB.
 *
 * The machine is shared, so the output carries the load average and the CPU other processes used during the
 * run (from /proc/stat, less the child's own CPU time). With --profile the child runs under `node --cpu-prof`
 * (main thread and every worker) and the top self-time frames are listed; its timings then include the
 * profiler's overhead, so take figures from a run without it.
 *
 *   npm run bench -- build [--preset medium] [--seed 1] [--scale 1] [--threads 2] [--cores N] [--profile]
 *                          [--simclusters-only]
 *
 * --simclusters-only builds with MF and the ranker off (both on by default since issue 16): the build the
 * edges-per-core-second goal was set for, SimClusters alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import type { Manifest } from '../src/store/store.ts';
import { fmt, machine, type Row, table } from './lib.ts';

interface ChildResult {
  code: number;
  mainSeconds: number;
  startupSeconds: number;
  maxRssMiB: number;
  userSeconds: number;
  systemSeconds: number;
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null where there is none. */
function machineBusySeconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal; USER_HZ is 100 on every Linux Node supports.
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return null;
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'medium' },
      seed: { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      threads: { type: 'string', default: '2' },
      cores: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'simclusters-only': { type: 'boolean', default: false },
    },
  });
  const preset = values.preset as 'medium';
  const seed = Number(values.seed);
  const scale = Number(values.scale);
  const threads = Number(values.threads);
  const cores = values.cores ? Number(values.cores) : availableParallelism();
  const root = resolve('bench/out');
  // The same directory as bench/ingest.ts, so the two benchmarks share one generated data set.
  const dataDir = join(root, `${preset}-s${seed}-x${scale}`);
  if (!existsSync(join(dataDir, 'generator.json'))) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    console.error(`generating ${preset} (seed ${seed}, scale ${scale}) into ${dataDir} …`);
    await generateSynthetic({ preset, outDir: dataDir, seed, scale });
  }
  const artifacts = join(root, `build-${preset}-s${seed}-x${scale}`);
  const profDir = join(root, `build-${preset}-profile`);
  const resultFile = join(root, `build-${preset}-child.json`);
  const logFile = join(root, `build-${preset}.log`);
  for (const p of [artifacts, profDir, resultFile]) rmSync(p, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  const nodeArgs = ['--import', 'tsx'];
  if (values.profile) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  const child = fileURLToPath(new URL('build-child.ts', import.meta.url));
  const cliArgs = ['build', '--data', dataDir, '--out', artifacts, '--seed', String(seed)];
  cliArgs.push('--threads', String(threads), '--json');
  if (values['simclusters-only']) {
    const config = join(root, `build-${preset}-config.json`);
    writeFileSync(config, JSON.stringify({ mf: { enabled: false }, ranker: { enabled: false } }));
    cliArgs.push('--config', config);
  }

  const load0 = loadavg();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
    (done, fail) => {
      const p = spawn(process.execPath, [...nodeArgs, child, resultFile, ...cliArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      p.stdout.on('data', (b: Buffer) => out.push(b));
      p.stderr.on('data', (b: Buffer) => err.push(b));
      p.on('error', fail);
      p.on('close', (c) =>
        done({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          code: c,
        }),
      );
    },
  );
  const wall = (performance.now() - t0) / 1000;
  const busy1 = machineBusySeconds();
  const load1 = loadavg();
  writeFileSync(logFile, stderr);
  if (code !== 0 || !existsSync(resultFile)) {
    console.error(stderr.split('\n').slice(-20).join('\n'));
    throw new Error(`simrec build exited with ${code} (log: ${logFile})`);
  }
  const r = JSON.parse(readFileSync(resultFile, 'utf8')) as ChildResult;
  const m = JSON.parse(stdout) as Manifest;

  const rows: Row[] = [];
  let timed = 0;
  const stageNames = [...m.stages, ...('store.commit' in m.timings ? ['store.commit'] : [])];
  for (const s of stageNames) {
    const sec = m.timings[s] / 1000;
    timed += sec;
    rows.push({ stage: s, seconds: sec, 'share of wall': `${((100 * sec) / wall).toFixed(1)}%` });
  }
  const untimedInMain = r.mainSeconds - timed;
  rows.push({
    stage: 'untimed inside the build (between stages)',
    seconds: untimedInMain,
    'share of wall': `${((100 * untimedInMain) / wall).toFixed(1)}%`,
  });
  const outside = wall - r.mainSeconds;
  rows.push({
    stage: 'process start-up and exit (Node, tsx, module loading)',
    seconds: outside,
    'share of wall': `${((100 * outside) / wall).toFixed(1)}%`,
  });
  rows.push({ stage: '**wall, whole child process**', seconds: wall, 'share of wall': '100%' });

  const c = m.counts;
  const followEdges = c.followEdges ?? 0;
  const rate = followEdges / (wall * cores);
  const cpu = r.userSeconds + r.systemSeconds;
  const others = busy0 !== null && busy1 !== null ? busy1 - busy0 - cpu : null;
  const truth = (m.extra.truth ?? null) as { nmi: number; ari: number; compared: number } | null;

  console.log(
    `\n## whole build on \`${preset}\` — ${new Date().toISOString().slice(0, 10)}, ${machine()}${values.profile ? ' — PROFILED RUN (timings include --cpu-prof overhead)' : ''}`,
  );
  console.log(
    `\`simrec build --data ${relative(process.cwd(), dataDir)} --threads ${threads} --seed ${seed}\` in a child process, defaults otherwise: ` +
      `${c.users} users, ${c.producers ?? '?'} producers, ${followEdges} follow edges, ${c.items} items, ${c.engagements} engagements; ` +
      `${c.clusters} clusters, ${c.producersWithKnownFor} producers with a KnownFor, ${c.usersWithInterestedIn} users with InterestedIn, ${c.itemsWithEmbedding} items with an embedding` +
      (truth
        ? `; KnownFor against the planted communities: NMI ${truth.nmi.toFixed(3)}, ARI ${truth.ari.toFixed(3)}`
        : '') +
      `; artifact ${(m.totals.bytes / 1e6).toFixed(0)} MB in ${m.totals.entries} entries.`,
  );
  console.log(
    `load average ${load0[0].toFixed(2)} before / ${load1[0].toFixed(2)} after (1 min; "after" includes this build)` +
      (others !== null
        ? `; CPU used by other processes during the run ${others.toFixed(0)} s of ${(wall * cores).toFixed(0)} core-seconds`
        : '') +
      '\n',
  );
  console.log(table(rows));
  console.log(
    `follow edges per core-second, end to end: ${followEdges} / (${wall.toFixed(1)} s × ${cores} cores) = ${fmt(rate)} (goal ≥ 60,000: ${rate >= 60000 ? 'met' : 'missed'})`,
  );
  console.log(
    `peak RSS of the build process: ${r.maxRssMiB.toFixed(0)} MiB = ${((r.maxRssMiB * 2 ** 20) / 1e9).toFixed(2)} GB (goal ≤ 8 GB: ${r.maxRssMiB * 2 ** 20 <= 8e9 ? 'met' : 'missed'})`,
  );
  console.log(
    `CPU time of the build process ${cpu.toFixed(1)} s (user ${r.userSeconds.toFixed(1)}, system ${r.systemSeconds.toFixed(1)}) = ${(cpu / wall).toFixed(2)} cores busy on average`,
  );
  if (values.profile) console.log(`\n${profileSummary(profDir)}`);
}

/**
 * Top self-time frames over every .cpuprofile in dir (the main thread and each worker), keyed by function and
 * source position. Self time is the sum of the sample intervals that landed in the frame; '(idle)' — a thread
 * waiting, mostly the main thread while workers run — is left out of the total.
 */
function profileSummary(dir: string, top = 20): string {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  interface Profile {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
  }
  const self = new Map<string, number>();
  const perFile: string[] = [];
  let total = 0;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  for (const f of files.sort()) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const keyOf = new Map<number, string>();
    for (const n of p.nodes) {
      const cf = n.callFrame;
      const url = cf.url.startsWith('file:') ? relative(process.cwd(), fileURLToPath(cf.url)) : cf.url;
      // tsx hands V8 transformed code, whose line numbers say nothing about the .ts source: name the file only.
      const at = url && cf.lineNumber > 0 ? `${url}:${cf.lineNumber + 1}` : url;
      keyOf.set(n.id, `${cf.functionName || '(anonymous)'}${at ? ` ${at}` : ''}`);
    }
    let fileTotal = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const key = keyOf.get(p.samples[i]) ?? '?';
      if (key === '(idle)') continue;
      // timeDeltas[i] is the time since the previous sample, i.e. how long sample i-1's frame ran; the shift by
      // one is immaterial over thousands of samples.
      const dt = p.timeDeltas[i] / 1000;
      self.set(key, (self.get(key) ?? 0) + dt);
      fileTotal += dt;
    }
    total += fileTotal;
    // Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
    const tid = f.split('.').at(-3);
    perFile.push(`${tid === '0' ? 'main' : `worker ${tid}`} ${(fileTotal / 1000).toFixed(1)} s`);
  }
  if (files.length === 0) return `no .cpuprofile files in ${dir}`;
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, ms]) => ({ frame, 'self s': ms / 1000, share: `${((100 * ms) / total).toFixed(1)}%` }));
  return (
    `top ${top} self-time frames over ${files.length} profiles (${perFile.join(', ')}; ${(total / 1000).toFixed(1)} s sampled, idle excluded)\n\n` +
    table(rows)
  );
}
