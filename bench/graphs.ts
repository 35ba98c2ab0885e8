/**
 * `npm run bench -- graphs [--seeds 1,2,3] [--no-install]`: KnownFor with default settings on the labelled real
 * graphs of ../shared/datasets (karate, football, polbooks, LastFM Asia), through `runBuild` exactly as
 * `simrec build` runs it on a follows file (each undirected edge as two follows) with the labels as the truth
 * file, against Leiden (python3-leidenalg, modularity, same seeds) on the same graph. NMI against the labels for
 * both (unclustered nodes count as one cluster), the community counts, and the ratio simrec / Leiden; each
 * `knownFor.merge` mode given (default: the default mode, then modularity) is a row of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nmi } from '../src/core/clustering-agreement.ts';
import { runBuild } from '../src/pipeline/build.ts';
import { resolveBuildConfig } from '../src/pipeline/config.ts';
import { fmt, machine, type Row, table } from './lib.ts';
import { ensureLeiden, type LeidenResult } from './simclusters.ts';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const DATASETS = resolve(repo, '../shared/datasets');
const PYTHON = '/usr/bin/python3';

const GRAPHS = [
  { name: 'karate', edges: 'graphs/karate.edges.tsv', labels: 'graphs/karate.labels.tsv' },
  { name: 'football', edges: 'graphs/football.edges.tsv', labels: 'graphs/football.labels.tsv' },
  { name: 'polbooks', edges: 'graphs/polbooks.edges.tsv', labels: 'graphs/polbooks.labels.tsv' },
  {
    name: 'lastfm_asia',
    edges: 'lastfm_asia/lastfm_asia.edges.tsv',
    labels: 'lastfm_asia/lastfm_asia.labels.tsv',
  },
];

function tsv(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      merge: { type: 'string', default: 'objective,modularity' },
      'no-install': { type: 'boolean', default: false },
    },
  });
  const seeds = values.seeds.split(',').map(Number);
  const merges = values.merge.split(',') as ('objective' | 'modularity' | 'none')[];
  const leidenProblem = ensureLeiden(!values['no-install']);
  console.log(`machine: ${machine()}`);
  const rows: Row[] = [];
  const root = mkdtempSync(join(tmpdir(), 'simrec-graphs-'));
  try {
    for (const g of GRAPHS) {
      if (!existsSync(join(DATASETS, g.edges))) {
        console.log(`${g.name}: not in ${DATASETS}, skipped`);
        continue;
      }
      const data = join(root, g.name);
      mkdirSync(join(data, 'truth'), { recursive: true });
      const follows = ['consumer_id,producer_id'];
      for (const [a, b] of tsv(join(DATASETS, g.edges))) follows.push(`${a},${b}`, `${b},${a}`);
      writeFileSync(join(data, 'follows.csv'), `${follows.join('\n')}\n`);
      const labelIds = new Map<string, number>();
      const truth = new Map<string, number>();
      for (const [node, label] of tsv(join(DATASETS, g.labels))) {
        if (!labelIds.has(label)) labelIds.set(label, labelIds.size);
        truth.set(node, labelIds.get(label)!);
      }
      writeFileSync(
        join(data, 'truth', 'producer_community.csv'),
        `producer_id,community\n${[...truth].map(([n, c]) => `${n},${c}`).join('\n')}\n`,
      );
      const nodes = [...truth.keys()];
      const labels = Int32Array.from(nodes, (n) => truth.get(n)!);
      for (const seed of seeds) {
        let leidenNmi: number | null = null;
        for (const merge of merges) {
          const out = join(root, `${g.name}-art-${seed}-${merge}`);
          const t0 = performance.now();
          const b = await runBuild({
            data,
            out,
            config: resolveBuildConfig(undefined, { seed, threads: 1, simclusters: { knownFor: { merge } } }),
          });
          const seconds = (performance.now() - t0) / 1000;
          const sc = b.simclusters!;
          // Every labelled node: a node the build saw as a producer has its KnownFor, others count as unclustered.
          const byId = new Map<string, number>();
          for (let p = 0; p < sc.producers; p++) byId.set(sc.producerIds(p), sc.output.knownFor.cluster[p]);
          const ours = Int32Array.from(nodes, (n) => byId.get(n) ?? -1);
          const row: Row = {
            graph: g.name,
            seed: String(seed),
            'knownFor.merge': merge === merges[0] && merge === 'objective' ? 'objective (default)' : merge,
            nodes: String(nodes.length),
            'simrec k': String(sc.clusters.nonEmpty),
            'simrec coverage': fmt(sc.clusters.coverage, 3),
            'simrec NMI': fmt(nmi(ours, labels), 4),
            'simrec s': fmt(seconds, 2),
          };
          if (!leidenProblem && leidenNmi === null) {
            const r = spawnSync(
              PYTHON,
              [join(repo, 'bench', 'leiden.py'), join(data, 'follows.csv'), String(seed)],
              {
                encoding: 'utf8',
                maxBuffer: 1 << 28,
              },
            );
            if (r.status === 0) {
              const leiden = JSON.parse(r.stdout) as LeidenResult;
              const theirs = Int32Array.from(nodes, (n) => leiden.membership[n] ?? -1);
              leidenNmi = nmi(theirs, labels);
              row['Leiden k'] = String(leiden.communities);
            } else row['Leiden NMI'] = `failed: ${r.stderr.trim().split('\n').pop()}`;
          } else if (leidenProblem) row['Leiden NMI'] = leidenProblem;
          if (leidenNmi !== null) {
            row['Leiden NMI'] = fmt(leidenNmi, 4);
            row['simrec / Leiden'] = fmt(nmi(ours, labels) / leidenNmi, 3);
          }
          rows.push(row);
          rmSync(out, { recursive: true, force: true });
        }
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(table(rows));
}
