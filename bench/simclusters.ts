/**
 * KnownFor against Leiden (issue 5), one run, side by side: the `social` preset's follow graph; simrec's
 * similarity + KnownFor (the build's stages, 2 threads) against Leiden (Debian's python3-igraph +
 * python3-leidenalg, modularity, seeded) on the same follow graph as undirected. Both partitions are scored
 * against the planted producer communities with the same NMI function, on the producers (the nodes the truth
 * labels). Leiden's time is its detection alone (graph loading excluded); ours is similarity + KnownFor.
 *
 *   npm run bench -- simclusters [--seed 1] [--threads 2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.ts';
import { generateSynthetic } from '../src/data/synthetic/generate.ts';
import { communityLabels, readTruth } from '../src/data/synthetic/truth.ts';
import { nmi } from '../src/eval/clustering.ts';
import { simclustersInput } from '../src/pipeline/simclusters-stage.ts';
import { knownFor } from '../src/simclusters/known-for.ts';
import { computeSimilarity } from '../src/simclusters/similarity.ts';
import { machine, table } from './lib.ts';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { seed: { type: 'string', default: '1' }, threads: { type: 'string', default: '2' } },
  });
  const seed = Number(values.seed);
  const threads = Number(values.threads);
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
  const ours = { similarity: (t1 - t0) / 1000, knownFor: (t2 - t1) / 1000, nmi: nmi(kf.cluster, planted) };

  let leiden: {
    seconds: number;
    load_seconds: number;
    communities: number;
    membership: Record<string, number>;
  } | null = null;
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [new URL('leiden.py', import.meta.url).pathname, join(data, 'follows.csv'), String(seed)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    leiden = JSON.parse(out);
  } catch (e) {
    console.log(
      `Leiden skipped: ${(e as Error).message.split('\n')[0]} (apt-get install python3-igraph python3-leidenalg)`,
    );
  }
  const rows: Record<string, string | number>[] = [
    {
      method: `simrec similarity + KnownFor (${threads} threads)`,
      seconds: ours.similarity + ours.knownFor,
      detail: `similarity ${ours.similarity.toFixed(2)} s + KnownFor ${ours.knownFor.toFixed(2)} s; k ${kf.k}; ${sim.stats.edgesKept} similarity edges`,
      'NMI vs planted': ours.nmi.toFixed(4),
    },
  ];
  if (leiden) {
    const lab = Int32Array.from(producerIds, (id) => leiden!.membership[id] ?? -1);
    rows.push({
      method: 'Leiden (igraph + leidenalg, modularity)',
      seconds: leiden.seconds,
      detail: `detection only (loading ${leiden.load_seconds.toFixed(2)} s excluded); ${leiden.communities} communities over all users`,
      'NMI vs planted': nmi(lab, planted).toFixed(4),
    });
  }
  console.log(
    `\n## KnownFor against Leiden — ${new Date().toISOString().slice(0, 10)}, ${machine()}, load ${loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `social preset seed ${seed}: ${d.stats.users} users, ${d.stats.followEdges} follows, ${producers.length} producers in ${new Set(planted).size} planted communities; NMI on the producers\n`,
  );
  console.log(table(rows));
  if (leiden) {
    console.log(
      `time ratio simrec/Leiden: ${((ours.similarity + ours.knownFor) / leiden.seconds).toFixed(2)}× (goal ≤ 1.0×); NMI ${ours.nmi.toFixed(4)} vs ${rows[1]['NMI vs planted']} (goal ≥ Leiden's)`,
    );
  }
}
