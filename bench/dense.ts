/**
 * Dense ANN benchmark (DESIGN §6): simrec's HNSW index (hnswlib through simrec's own N-API binding,
 * src/ann/dense/hnsw/native.ts) on 10^5 × 64 vectors against Debian's
 * python3-hnswlib (the same C++ library family, via pybind11) built from the same vectors with the same
 * parameters, and against exact top-k, all in one run. Goal: recall@10 ≥ 0.95 at ≥ 0.9× python3-hnswlib's
 * queries/s and ≥ 20× exact top-k's.
 *
 *   npm run bench -- dense [--n 100000] [--dim 64] [--queries 1000] [--k 10] [--m 16] [--ef-construction 200]
 *                          [--ef 16,32,64,128] [--metric ip|cosine|both] [--rounds 21] [--seed 1]
 *
 * Data: a seeded Gaussian mixture (200 centres, noise 0.6 per dimension) — the shape of learned embeddings,
 * where items gather around tastes — and queries drawn fresh from the same mixture. Both sides run one query
 * per call on one thread (the serving pattern: one request, one query) and insert single-threaded with seed
 * 100, so both build the same kind of graph. Query speed is measured in alternating rounds (python, node,
 * node, python, ...) so that load from other processes hits both sides alike; queries/s are medians over
 * rounds, and "vs python" is the median of the per-round ratios (each pair ran back to back).
 * Metric ip is measured in both of simrec's graph layouts (HnswParams.ipLayout) in the same run: 'raw' (the
 * vectors as they are, python3-hnswlib's own 'ip' space) and 'mips' (the default: the Euclidean reduction, one
 * coordinate wider, longest vectors first); each is paired with the same python round.
 * python3-hnswlib is installed with apt-get when missing; without it that column is skipped. The same graph
 * through hnswlib-node's own JS API (a JS Array per query, JS arrays back) is timed in the same rounds, the
 * measurement behind the binding (its rows carry no goal).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { DenseFilter, DenseMetric, HnswIpLayout } from '../src/ann/dense/dense-index.ts';
import { HnswIndex } from '../src/ann/dense/hnsw/hnsw-index.ts';
import { ExactIndex } from '../src/ann/exact.ts';
import { Rng } from '../src/core/prng.ts';
import { fmt, machine, type Row, table, time } from './lib.ts';

const PYTHON = '/usr/bin/python3';

const PY_SERVER = `
import json, sys, time
import numpy as np, hnswlib
d, n, dim, nq, k, m, efc, space = sys.argv[1], *map(int, sys.argv[2:8]), sys.argv[8]
X = np.fromfile(d + '/x.f32', dtype=np.float32).reshape(n, dim)
Q = np.fromfile(d + '/q.f32', dtype=np.float32).reshape(nq, dim)
T = np.fromfile(d + '/t.i32', dtype=np.int32).reshape(nq, k)
rows = [Q[i:i + 1] for i in range(nq)]
p = hnswlib.Index(space=space, dim=dim)
p.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=100)
p.set_num_threads(1)
t = time.perf_counter()
p.add_items(X, np.arange(n), num_threads=1)
print(json.dumps({'build': time.perf_counter() - t}), flush=True)
for line in sys.stdin:
    p.set_ef(int(line))
    res = [None] * nq
    t = time.perf_counter()
    for i in range(nq):
        res[i] = p.knn_query(rows[i], k=k, num_threads=1)[0][0]
    el = time.perf_counter() - t
    hits = sum(len(set(res[i].tolist()) & set(T[i].tolist())) for i in range(nq))
    print(json.dumps({'qps': nq / el, 'recall': hits / (nq * k)}), flush=True)
`;

interface PyRound {
  qps: number;
  recall: number;
}

/** A python3-hnswlib process holding an index built from the same files, answering timed rounds. */
class PythonHnsw {
  private readonly proc;
  private readonly lines: AsyncIterator<string>;

  private constructor(args: string[]) {
    this.proc = spawn(PYTHON, ['-c', PY_SERVER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  static async start(args: string[]): Promise<{ py: PythonHnsw; buildSeconds: number }> {
    const py = new PythonHnsw(args);
    const first = await py.lines.next();
    if (first.done) throw new Error('python3-hnswlib exited before building its index');
    return { py, buildSeconds: JSON.parse(first.value).build };
  }

  async round(ef: number): Promise<PyRound> {
    this.proc.stdin.write(`${ef}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error('python3-hnswlib exited');
    return JSON.parse(r.value);
  }

  stop(): void {
    this.proc.stdin.end();
  }
}

/** Whether /usr/bin/python3 can import hnswlib, installing Debian's python3-hnswlib once when it cannot. */
function ensurePythonHnswlib(): string | null {
  const probe = () => spawnSync(PYTHON, ['-c', 'import hnswlib, numpy'], { stdio: 'ignore' }).status === 0;
  if (probe()) return null;
  console.log('python3-hnswlib is missing: installing it with apt-get ...');
  const update = spawnSync('apt-get', ['update'], { stdio: 'ignore' });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', 'python3-hnswlib'], {
          stdio: 'ignore',
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        })
      : update;
  if (install.status === 0 && probe()) return null;
  return `python3-hnswlib is not available and apt-get could not install it (${install.error?.message ?? `exit ${install.status}`}); its column is skipped`;
}

function mixture(rng: Rng, n: number, dim: number, centres: Float32Array): Float32Array {
  const out = new Float32Array(n * dim);
  const nc = centres.length / dim;
  for (let i = 0; i < n; i++) {
    const c = rng.int(nc);
    for (let d = 0; d < dim; d++) out[i * dim + d] = centres[c * dim + d] + 0.6 * rng.normal();
  }
  return out;
}

/** One index under test: how to set its ef and answer one query into a row of top-k ids. */
interface Variant {
  label: string;
  layout: HnswIpLayout | null;
  /** Whether the goal applies (simrec's own indexes), or the row is a reference. */
  goal: boolean;
  /** simrec's index, for the save/load and filter measurements. */
  index?: HnswIndex;
  setEf(ef: number): void;
  searchInto(query: Float32Array, outIds: Int32Array): void;
  buildSeconds: number;
  outIds: Int32Array;
}

/**
 * The same graph through hnswlib-node's own JS API (hnswlib's 'ip' or 'cosine' space, same parameters and
 * insertion order as simrec's raw/cosine index), queried as that API wants: a reused JS Array per query.
 */
function hnswlibNodeVariant(
  metric: DenseMetric,
  vectors: Float32Array,
  n: number,
  dim: number,
  nq: number,
  k: number,
  m: number,
  efc: number,
): Variant {
  const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node') as typeof import('hnswlib-node');
  const built = time(() => {
    const g = new HierarchicalNSW(metric, dim);
    g.initIndex({ maxElements: n, m, efConstruction: efc, randomSeed: 100 });
    for (let i = 0; i < n; i++) g.addPoint(Array.from(vectors.subarray(i * dim, (i + 1) * dim)), i);
    return g;
  });
  const graph = built.value;
  const arr = new Array<number>(dim).fill(0);
  return {
    label: `hnswlib-node JS API${metric === 'ip' ? ' (raw ip)' : ''}`,
    layout: null,
    goal: false,
    setEf: (ef: number) => graph.setEf(ef),
    searchInto: (query: Float32Array, out: Int32Array) => {
      for (let d = 0; d < dim; d++) arr[d] = query[d];
      const found = graph.searchKnn(arr, k).neighbors;
      for (let j = 0; j < found.length; j++) out[j] = found[j];
    },
    buildSeconds: built.seconds,
    outIds: new Int32Array(nq * k),
  };
}

/** Linear-interpolated quantile. */
const quantile = (a: number[], p: number): number => {
  const s = [...a].sort((x, y) => x - y);
  const at = (s.length - 1) * p;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
};
const median = (a: number[]): number => quantile(a, 0.5);

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '100000' },
      dim: { type: 'string', default: '64' },
      queries: { type: 'string', default: '1000' },
      k: { type: 'string', default: '10' },
      m: { type: 'string', default: '16' },
      'ef-construction': { type: 'string', default: '200' },
      ef: { type: 'string', default: '16,32,64,128' },
      metric: { type: 'string', default: 'both' },
      rounds: { type: 'string', default: '21' },
      seed: { type: 'string', default: '1' },
    },
  });
  const n = Number(values.n);
  const dim = Number(values.dim);
  const nq = Number(values.queries);
  const k = Number(values.k);
  const m = Number(values.m);
  const efc = Number(values['ef-construction']);
  const efs = String(values.ef).split(',').map(Number);
  const rounds = Number(values.rounds);
  const metrics: DenseMetric[] = values.metric === 'both' ? ['ip', 'cosine'] : [values.metric as DenseMetric];

  console.log(
    `# Dense ANN: ${fmt(n)} × ${dim} vectors, ${nq} queries, k ${k}, M ${m}, efConstruction ${efc}`,
  );
  console.log(`${machine()}\n`);
  const pySkip = ensurePythonHnswlib();
  if (pySkip) console.log(pySkip);

  const rng = new Rng(Number(values.seed));
  const centres = new Float32Array(200 * dim).map(() => rng.normal());
  const vectors = mixture(rng, n, dim, centres);
  const queries = mixture(rng, nq, dim, centres);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const dir = mkdtempSync(join(tmpdir(), 'simrec-bench-dense-'));
  writeFileSync(join(dir, 'x.f32'), vectors);
  writeFileSync(join(dir, 'q.f32'), queries);
  const q = (i: number) => queries.subarray(i * dim, (i + 1) * dim);

  try {
    for (const metric of metrics) {
      console.log(`\n## metric ${metric}\n`);
      // Exact baseline: ground truth for every query, and its speed.
      const exact = new ExactIndex(dim, metric);
      exact.add(ids, vectors);
      const truth = new Int32Array(nq * k);
      const exScores = new Float32Array(k);
      const exactRun = time(() => {
        for (let i = 0; i < nq; i++) exact.searchInto(q(i), k, truth.subarray(i * k, (i + 1) * k), exScores);
      });
      const exactQps = nq / exactRun.seconds;
      writeFileSync(join(dir, 't.i32'), truth);

      // The indexes under test: cosine's one, or ip's two layouts, built from the same rows in id order.
      const layouts: (HnswIpLayout | null)[] = metric === 'ip' ? ['raw', 'mips'] : [null];
      const variants: Variant[] = layouts.map((ipLayout) => {
        const built = time(() => {
          const index = HnswIndex.create(
            dim,
            metric,
            { m, efConstruction: efc, ef: efs[0], seed: 100, ...(ipLayout ? { ipLayout } : {}) },
            n,
          );
          index.add(ids, vectors);
          return index;
        });
        const index = built.value;
        const scores = new Float32Array(k);
        return {
          label: ipLayout ? `simrec HNSW ${ipLayout} ip` : 'simrec HNSW',
          layout: ipLayout,
          goal: true,
          index,
          setEf: (ef: number) => {
            index.ef = ef;
          },
          searchInto: (query: Float32Array, out: Int32Array) => index.searchInto(query, k, out, scores),
          buildSeconds: built.seconds,
          outIds: new Int32Array(nq * k),
        };
      });
      variants.push(hnswlibNodeVariant(metric, vectors, n, dim, nq, k, m, efc));
      let py: PythonHnsw | null = null;
      let pyBuild = Number.NaN;
      if (!pySkip) {
        const started = await PythonHnsw.start([
          dir,
          String(n),
          String(dim),
          String(nq),
          String(k),
          String(m),
          String(efc),
          metric,
        ]);
        py = started.py;
        pyBuild = started.buildSeconds;
      }

      // Views made once, as the python side slices its query rows once: the rounds time the index alone.
      const qViews = Array.from({ length: nq }, (_, i) => q(i));
      const outViews = variants.map((v) =>
        Array.from({ length: nq }, (_, i) => v.outIds.subarray(i * k, (i + 1) * k)),
      );
      const nodeRound = (vi: number): number => {
        const search = variants[vi].searchInto;
        const views = outViews[vi];
        const t = time(() => {
          for (let i = 0; i < nq; i++) search(qViews[i], views[i]);
        });
        return nq / t.seconds;
      };
      const recallOf = (got: Int32Array): number => {
        let hits = 0;
        for (let i = 0; i < nq; i++) {
          const want = truth.subarray(i * k, (i + 1) * k);
          for (let j = 0; j < k; j++) if (want.includes(got[i * k + j])) hits++;
        }
        return hits / (nq * k);
      };

      const rows: Row[] = [
        {
          index: 'exact top-k',
          ef: '-',
          'build s': '-',
          'recall@10': '1',
          'queries/s': fmt(exactQps, 0),
          'vs python': '',
          'vs exact': '1.00×',
        },
      ];
      const goals: string[] = [];
      for (const ef of efs) {
        for (let vi = 0; vi < variants.length; vi++) {
          variants[vi].setEf(ef);
          nodeRound(vi); // warm-up: JIT and caches
        }
        const nodeQps: number[][] = variants.map(() => []);
        const pyQps: number[] = [];
        let pyRecall = Number.NaN;
        for (let r = 0; r < rounds; r++) {
          // Alternate who goes first (python, and the layouts among themselves), so a burst of outside load
          // does not always land on the same side.
          if (py && r % 2 === 0) pyQps.push((await py.round(ef)).qps);
          for (let j = 0; j < variants.length; j++) {
            const vi = r % 2 === 0 ? j : variants.length - 1 - j;
            nodeQps[vi].push(nodeRound(vi));
          }
          if (py && r % 2 === 1) {
            const pr = await py.round(ef);
            pyQps.push(pr.qps);
            pyRecall = pr.recall;
          }
        }
        if (py && Number.isNaN(pyRecall)) pyRecall = (await py.round(ef)).recall;
        const pq50 = py ? median(pyQps) : Number.NaN;
        for (let vi = 0; vi < variants.length; vi++) {
          const v = variants[vi];
          const recall = recallOf(v.outIds);
          const nq50 = median(nodeQps[vi]);
          // Each round's sides ran back to back, so their ratio shares the load of that moment: the median of
          // those paired ratios is the figure least moved by other processes.
          const ratios = nodeQps[vi].map((x, i) => x / pyQps[i]);
          const pairRatio = py ? median(ratios) : Number.NaN;
          rows.push({
            index: v.label,
            ef: String(ef),
            'build s': fmt(v.buildSeconds),
            'recall@10': fmt(recall, 4),
            'queries/s': fmt(nq50, 0),
            'vs python': py ? `${fmt(pairRatio)}×` : 'n/a',
            'vs exact': `${fmt(nq50 / exactQps, 1)}×`,
          });
          const ok = recall >= 0.95 && (!py || pairRatio >= 0.9) && nq50 >= 20 * exactQps;
          if (v.goal)
            goals.push(
              `${v.layout ? `${v.layout} ip, ` : ''}ef ${ef}: recall ${fmt(recall, 4)} ${recall >= 0.95 ? '≥' : '<'} 0.95, ` +
                `${py ? `${fmt(pairRatio)}× python (median of ${rounds} paired rounds; quartiles ${fmt(quantile(ratios, 0.25))}–${fmt(quantile(ratios, 0.75))}; ratio of medians ${fmt(nq50 / pq50)}), ` : ''}` +
                `${fmt(nq50 / exactQps, 1)}× exact → ${ok ? 'goal met' : 'goal not met'}`,
            );
        }
        if (py)
          rows.push({
            index: 'python3-hnswlib (Debian)',
            ef: String(ef),
            'build s': fmt(pyBuild),
            'recall@10': fmt(pyRecall, 4),
            'queries/s': fmt(pq50, 0),
            'vs python': '1.00×',
            'vs exact': `${fmt(pq50 / exactQps, 1)}×`,
          });
      }
      py?.stop();
      console.log(table(rows));
      for (const g of goals) console.log(`- ${g}`);

      // Save/load, and filtered search at the last ef, per index; exact answers computed once.
      const fq = Math.min(nq, 200);
      const frng = new Rng(7);
      const sample = (count: number) => Int32Array.from({ length: count }, () => frng.int(n));
      const filters: [string, DenseFilter][] = [
        ['none', {}],
        [`allow ${fmt(n / 10, 0)} random ids (graph walk)`, { allow: sample(n / 10) }],
        ['allow 1,000 random ids (exact path)', { allow: sample(1000) }],
        ['deny 100 ids (graph walk)', { deny: sample(100) }],
        ['deny 5,000 ids (graph walk)', { deny: sample(5000) }],
      ];
      const wants = filters.map(([, filter]) =>
        Array.from({ length: fq }, (_, i) => exact.search(q(i), k, { filter }).ids),
      );
      const fIds = new Int32Array(k);
      const fScores = new Float32Array(k);
      for (const v of variants) {
        const index = v.index;
        if (!index) continue;
        const saved = time(() => index.toBytes());
        const loaded = time(() => HnswIndex.fromBytes(saved.value));
        const filterRows: Row[] = [];
        for (let fi = 0; fi < filters.length; fi++) {
          const [what, filter] = filters[fi];
          const t = time(() => {
            for (let i = 0; i < fq; i++) loaded.value.searchInto(q(i), k, fIds, fScores, { filter });
          });
          let hits = 0;
          let total = 0;
          for (let i = 0; i < fq; i++) {
            const want = wants[fi][i];
            const got = loaded.value.search(q(i), k, { filter }).ids;
            for (const id of got) if (want.includes(id)) hits++;
            total += want.length;
          }
          filterRows.push({
            filter: what,
            'recall@10': fmt(hits / total, 4),
            'queries/s': fmt(fq / t.seconds, 0),
          });
        }
        console.log(
          `\n${v.label}: save ${fmt(saved.seconds * 1000, 0)} ms (${fmt(saved.value.length / 2 ** 20, 1)} MiB), ` +
            `load ${fmt(loaded.seconds * 1000, 0)} ms; filtered search at ef ${index.ef} on the loaded index:\n`,
        );
        console.log(table(filterRows));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
