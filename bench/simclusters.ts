/**
 * KnownFor against Leiden (issue 5), one run, side by side: the `social` preset's follow graph; simrec's
 * similarity + KnownFor (the build's stages, 2 threads) against Leiden (Debian's python3-igraph +
 * python3-leidenalg, modularity, seeded) on the same follow graph as undirected. Both partitions are scored
 * against the planted producer communities with the same NMI function, on the producers (the nodes the truth
 * labels). Leiden's time is its detection alone (graph loading excluded); ours is similarity + KnownFor.
 *
 * Leiden runs on the whole undirected follow graph (consumers and producers, every user a node), not on a
 * producer-only projection: that is the graph the issue names, and building a projection for it would be
 * doing half of our similarity stage on its behalf. Consumers get communities too; only producers are scored.
 *
 * When the python modules are missing the benchmark installs them with apt-get (root, network) and otherwise
 * skips Leiden with the reason.
 *
 *   npm run bench -- simclusters [--seed 1] [--threads 2] [--no-install]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clusteringAgreement } from '../src/core/clustering-agreement.ts';
import { loadDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { communityLabels, readTruth } from '../src/data/synthetic/truth.ts';
import { simclustersInput } from '../src/pipeline/simclusters-stage.ts';
import { knownFor } from '../src/simclusters/known-for.ts';
import { computeSimilarity } from '../src/simclusters/similarity.ts';
import { machine, table } from './lib.ts';

const PYTHON = '/usr/bin/python3';
const PACKAGES = ['python3-igraph', 'python3-leidenalg'];

export interface LeidenResult {
  seconds: number;
  load_seconds: number;
  nodes: number;
  edges: number;
  communities: number;
  modularity: number;
  versions: { igraph: string; leidenalg: string };
  membership: Record<string, number>;
}

/** null when the modules import, else why Leiden cannot run (after one apt-get attempt unless told not to). */
export function ensureLeiden(install: boolean): string | null {
  const importable = () =>
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import igraph, leidenalg'], { stdio: 'ignore' }).status === 0;
  if (importable()) return null;
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  if (!install)
    return `python modules missing and --no-install given (apt-get install ${PACKAGES.join(' ')})`;
  if (process.getuid?.() !== 0)
    return `python modules missing; apt-get needs root (install ${PACKAGES.join(' ')})`;
  console.error(`installing ${PACKAGES.join(' ')} with apt-get …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...PACKAGES]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
      return `apt-get ${args[0]} failed: ${why}`;
    }
  }
  return importable() ? null : 'python modules still not importable after apt-get install';
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      threads: { type: 'string', default: '2' },
      'no-install': { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const threads = Number(values.threads);
  const loadBefore = loadavg()[0];
  const data = resolve('bench/out', `social-s${seed}`);
  if (!existsSync(join(data, 'generator.json'))) {
    mkdirSync(data, { recursive: true });
    await generateSynthetic({ preset: 'social', outDir: data, seed });
  }
  const d = await loadDataset(data, { require: ['follows'] });
  const truth = await readTruth(data);
  const { input, producers, ids } = simclustersInput(d);
  const producerIds = Array.from(producers, (u) => ids.id(u));
  const planted = communityLabels(truth.producerCommunity, producerIds);

  const t0 = performance.now();
  const sim = await computeSimilarity(input.A, {}, { seed, threads });
  const t1 = performance.now();
  const kf = await knownFor(sim.graph, {}, { seed, threads });
  const t2 = performance.now();
  const ours = {
    similarity: (t1 - t0) / 1000,
    knownFor: (t2 - t1) / 1000,
    agreement: clusteringAgreement(kf.cluster, planted),
  };
  let orphans = 0;
  for (let p = 0; p < kf.cluster.length; p++) if (kf.cluster[p] < 0) orphans++;

  let leiden: LeidenResult | null = null;
  const missing = ensureLeiden(!values['no-install']);
  if (missing) {
    console.log(`Leiden skipped: ${missing}`);
  } else {
    try {
      const out = execFileSync(
        PYTHON,
        [new URL('leiden.py', import.meta.url).pathname, join(data, 'follows.csv'), String(seed)],
        { encoding: 'utf8', maxBuffer: 1 << 28 },
      );
      leiden = JSON.parse(out) as LeidenResult;
    } catch (e) {
      console.log(`Leiden skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const loadAfter = loadavg()[0];

  const ourSeconds = ours.similarity + ours.knownFor;
  const rows: Record<string, string | number>[] = [
    {
      'method (graph; NMI/ARI on the producers)': `simrec similarity + KnownFor, ${threads} threads (producer similarity graph: ${producers.length} nodes, ${sim.stats.edgesKept} edges)`,
      seconds: ourSeconds,
      detail: `similarity ${ours.similarity.toFixed(2)} s + KnownFor ${ours.knownFor.toFixed(2)} s; k ${kf.k}; ${orphans} producers without KnownFor`,
      NMI: ours.agreement.nmi.toFixed(4),
      ARI: ours.agreement.ari.toFixed(4),
    },
  ];
  let leidenNmi = Number.NaN;
  if (leiden) {
    const lab = Int32Array.from(producerIds, (id) => leiden!.membership[id] ?? -1);
    const a = clusteringAgreement(lab, planted);
    leidenNmi = a.nmi;
    rows.push({
      'method (graph; NMI/ARI on the producers)': `Leiden, igraph ${leiden.versions.igraph} + leidenalg ${leiden.versions.leidenalg}, modularity (whole undirected follow graph: ${leiden.nodes} nodes, ${leiden.edges} edges)`,
      seconds: leiden.seconds,
      detail: `detection only (loading ${leiden.load_seconds.toFixed(2)} s excluded); ${leiden.communities} communities over all users, ${a.clustersA} among producers; modularity ${leiden.modularity.toFixed(4)}`,
      NMI: a.nmi.toFixed(4),
      ARI: a.ari.toFixed(4),
    });
  }
  console.log(
    `\n## KnownFor against Leiden — ${new Date().toISOString().slice(0, 10)}, ${machine()}, load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after`,
  );
  console.log(
    `social preset seed ${seed}: ${d.stats.users} users, ${d.stats.followEdges} follows, ${producers.length} producers in ${new Set(planted).size} planted communities; NMI and ARI on the producers against the planted communities (same function for both)\n`,
  );
  console.log(table(rows));
  if (leiden) {
    console.log(
      `time ratio simrec/Leiden: ${(ourSeconds / leiden.seconds).toFixed(2)}× (goal ≤ 1.0×); NMI ${ours.agreement.nmi.toFixed(4)} vs ${leidenNmi.toFixed(4)} (goal ≥ Leiden's: ${ours.agreement.nmi >= leidenNmi ? 'met' : 'missed'})`,
    );
  }
}
