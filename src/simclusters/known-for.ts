/**
 * KnownFor (DESIGN §3.2): at most one community per producer, found by neighbourhood-aware Metropolis–Hastings
 * on the symmetric weighted similarity graph.
 *
 * For vertex v (degree d_v, weighted degree W_v, w̄_v = W_v/d_v) and a community C with |C| members other than v,
 * TPw the weight of v's edges into C and TPn their number:
 *
 *     L(v, C) = α·TPw − w̄_v·(|C| − TPn),    L(v, ∅) = 0,    α = 10.
 *
 * An epoch visits every vertex with edges in a fresh seeded random order; for v the candidates are ∅ and its
 * neighbours' communities, minus its current one; one is proposed by the Gumbel-max trick
 * (argmax L(v,c) + G_c) and accepted iff ln U < β·(L(v, proposal) − L(v, current)), β = 0.5. It stops after
 * maxEpochs or when fewer than eps of the vertices moved. Cold start: uncovered vertices open communities with
 * their uncovered (strong) neighbours until k exist — in seeded random order (initOrder 'random', the letter of
 * §3.2) or, by default, least-claimed first ('spread': next the vertex whose neighbourhood is least held by any
 * one open community, so each community gets one seed; moves can empty a community but never open one). Warm
 * start: the previous assignment is kept (ids stable) and producers without one are seeded the same way into
 * empty community ids. Vertices with no edges never move and get no KnownFor.
 *
 * Automatic k (the default): k starts at the number of active vertices, so the initialisation opens communities
 * until every vertex is covered; after MH, whole communities are merged while the objective (or, by choice,
 * modularity) rises, and the non-empty ones are renumbered 0..k−1 (community-merge.ts). With a warm start the
 * previous ids are kept and only new communities are renumbered after them, without a merge.
 *
 * Score of v in its community C, ḡ the graph's mean edge weight:
 *     wIn / (wIn + wOut + ḡ·(|C \ {v}| − nIn))   (1 when v is alone in C; 0 when the denominator is 0).
 *
 * Parallelism and what is guaranteed. One thread: plain sequential MH, exactly deterministic per seed.
 * T > 1 threads: every epoch's order is cut into rounds of T·syncEvery vertices; in a round thread t sweeps its
 * own slice of syncEvery vertices against its private view of the assignment (the shared state as of the round's
 * start plus its own moves, applied at once), logging its moves. At the round barrier each thread writes its
 * logged moves into the shared assignment (SharedArrayBuffer) and the shared cluster sizes (Atomics.add), and
 * folds the other threads' logs into its view. A thread's decisions thus depend only on the seed, its slice and
 * the logs of completed rounds — never on timing — so the result is bit-identical for the same
 * (seed, threads, syncEvery), and threads = 1 in a worker equals the in-thread run. Across different thread
 * counts results differ (statistically equivalent), as with any Hogwild scheme; staleness is bounded by one
 * round.
 */
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { runWorkers, sharedArray, toShared } from '../core/workers.ts';
import { mergeByObjective, mergeCommunities } from './community-merge.ts';
import {
  checkGraph,
  checkIntParam,
  checkNumberParam,
  checkThreads,
  type ProgressFn,
  withDefaults,
} from './graph.ts';

export interface KnownForParams {
  /**
   * Number of communities, or 'auto' (null means the same): chosen from the data. The initialisation opens a
   * community for every uncovered vertex until every active vertex is covered (an upper bound: moves can empty
   * a community but never open one), MH runs, and the communities it leaves are merged by `merge`
   * (community-merge.ts). The result's k is the number of non-empty communities, numbered 0..k−1. A number
   * forces k (as §3.2 has it) and skips the merge.
   */
  k: number | 'auto' | null;
  /**
   * With k 'auto', how the communities MH leaves are merged: 'objective' (default) while the objective L above
   * rises — two communities join when the edges between them are as dense as MH asks of a single vertex, which
   * MH's single-vertex moves cannot do; 'modularity' while the modularity of the graph rises (coarser: ml-latest-
   * small 10 communities instead of 61, LastFM Asia 15 instead of 199; nearer the labels of a small labelled
   * graph, less useful for recommendations: served precision@10 on ml-latest-small-split 0.137 against 0.154);
   * 'none' keeps what MH left.
   */
  merge: 'objective' | 'modularity' | 'none';
  /** Weight of the edges into the community against the non-neighbour penalty (§3.2: 10). */
  alpha: number;
  /** Inverse temperature of the acceptance test (§3.2: 0.5). */
  beta: number;
  /** Epochs of a cold start (§3.2: 5). */
  maxEpochs: number;
  /** Epochs of a warm start (the published weekly refresh ran 3–4). */
  maxEpochsWarm: number;
  /** Stop once fewer than this share of the active producers moved in an epoch (§3.2: 1%). */
  eps: number;
  /** With > 1 thread: vertices each thread sweeps between synchronisations (bounds staleness). */
  syncEvery: number;
  /**
   * Which neighbours a seed vertex takes into the community it opens: 'all' (the letter of §3.2) or 'strong',
   * only those whose edge weight is at least the seed's mean incident weight w̄_v. With a low minSimilarity a
   * neighbourhood also holds many weak cross-community edges, so the first few seeds of 'all' swallow the graph:
   * on the small preset (16 planted communities) only 9 communities ever open and NMI stays at 0.87, while
   * 'strong' opens one per planted community. Moves cannot open new communities, so this decides the outcome.
   * On an unweighted graph a tie's strength is the number of neighbours the two share: 'strong' takes the
   * neighbours sharing at least the mean count over the seed's neighbours (a community's members share many,
   * a cross link few).
   */
  initNeighbors: 'all' | 'strong';
  /**
   * The order in which uncovered vertices open communities: 'random' (the letter of §3.2, seeded random order)
   * or 'spread': next opens the uncovered vertex whose neighbourhood (on a weighted graph with 'strong': its
   * neighbours of weight ≥ w̄_v) is least held by any one community already open, then the one with most
   * uncovered neighbours, ties in seeded random order. A vertex whose neighbours mostly sit in one open community
   * lies in a community that is already seeded; one whose covered neighbours are scattered over several (cross
   * links) lies in one that is not. With 'random', a seed landing in an already-seeded community leaves another
   * to merge. Football (k 12, seeds 1–40): 'random' NMI 0.83–0.93 (mean 0.877), 'spread' 0.924–0.927; small
   * preset (k 16) 0.973 → 1.0; social preset 0.995 → 0.9997.
   */
  initOrder: 'random' | 'spread';
}

/**
 * §3.2's α, β, epochs and eps; k chosen from the data; the initialisation takes strong
 * neighbourhoods, least-claimed first ('spread'), so that every community the data holds gets a seed.
 */
export const KNOWN_FOR_DEFAULTS: Readonly<KnownForParams> = Object.freeze({
  k: 'auto' as KnownForParams['k'],
  merge: 'objective' as KnownForParams['merge'],
  alpha: 10,
  beta: 0.5,
  maxEpochs: 5,
  maxEpochsWarm: 3,
  eps: 0.01,
  syncEvery: 1024,
  initNeighbors: 'strong',
  initOrder: 'spread',
});

export interface KnownForOptions {
  seed: number;
  /** Worker threads (default 1 = in this thread, exactly sequential MH). */
  threads?: number;
  /**
   * Previous cluster per producer (−1 none). Producers at or beyond its length are new. Ids are kept; k grows
   * to cover the largest previous id if needed.
   */
  warmStart?: Int32Array;
  onProgress?: ProgressFn;
  /** Run the worker path even for one thread (tests use it to check that path against the in-thread one). */
  forceWorkers?: boolean;
}

export interface ClusterSizeSummary {
  /** Non-empty communities. */
  count: number;
  min: number;
  median: number;
  max: number;
}

export interface KnownForDiagnostics {
  warm: boolean;
  epochs: number;
  /** Per epoch: vertices that changed community. */
  moved: number[];
  /** Per epoch: vertices that had at least one candidate (a proposal was made). */
  proposals: number[];
  /** Per epoch: accepted / proposals. */
  acceptRates: number[];
  secondsPerEpoch: number[];
  /** Producers with at least one edge (the ones clustered) and without any. */
  activeProducers: number;
  isolatedProducers: number;
  /** Communities opened by the initialisation (cold), or new ones seeded (warm). */
  communitiesSeeded: number;
  /** How k was set: 'auto' (chosen from the data) or 'fixed'. */
  kMode: 'auto' | 'fixed';
  /** Automatic k: communities MH left non-empty, and the merge that followed (null when fixed). */
  merge: {
    before: number;
    after: number;
    levels: number;
    modularityBefore: number;
    modularityAfter: number;
  } | null;
  clusterSizes: ClusterSizeSummary;
  /**
   * Producers without a KnownFor after MH that took one from their co-followed producers
   * (known-for-extend.ts), and those with followers but no majority community; set by the pipeline.
   */
  extended: number;
  undecided: number;
  /** Active producers left without a community, and their share of the active producers. */
  orphans: number;
  orphanRate: number;
  /**
   * Edge precision, recall and F1 of the partition, computed exactly in O(edges): precision = edges inside
   * communities / pairs inside communities, recall = edges inside communities / all edges (unweighted).
   */
  edgePrecision: number;
  edgeRecall: number;
  edgeF1: number;
  threads: number;
  seconds: number;
}

export interface KnownForResult {
  /** Per producer its community in [0, k), or −1. */
  cluster: Int32Array;
  /** Per producer its KnownFor score in [0, 1] (0 where cluster is −1). */
  score: Float32Array;
  k: number;
  diagnostics: KnownForDiagnostics;
}

/**
 * Clusters the similarity graph (square, symmetric, rows sorted; values null = all weights 1).
 * `params` overrides {@link KNOWN_FOR_DEFAULTS} key by key.
 */
export async function knownFor(
  graph: CsrMatrix,
  params: Partial<KnownForParams>,
  opts: KnownForOptions,
): Promise<KnownForResult> {
  const t0 = performance.now();
  const p = resolveKnownForParams(params);
  const threads = checkThreads(opts.threads);
  if (!Number.isFinite(opts.seed))
    throw new SimrecError('CONFIG_INVALID', `seed must be a number, got ${opts.seed}`, { field: 'seed' });
  const g = mhGraph(checkGraph(graph, 'similarity graph'));
  const n = g.n;
  const rng = new Rng(opts.seed);

  const active = activeVertices(g);
  const nActive = active.length;
  const auto = p.k === null || p.k === 'auto';
  let k = auto ? Math.max(1, nActive) : (p.k as number);
  const assign = sharedArray(Int32Array, n).fill(-1);
  let seeded: number;
  const warm = opts.warmStart;
  if (warm) {
    k = Math.max(k, checkWarmStart(warm, n) + 1);
    seeded = warmInit(g, warm, k, assign, rng.fork('init'), p);
  } else {
    seeded = coldInit(g, k, assign, rng.fork('init'), p);
  }
  const sizes = sharedArray(Int32Array, k);
  countSizes(assign, sizes);

  const maxEpochs = warm ? p.maxEpochsWarm : p.maxEpochs;
  const config: MhConfig = {
    alpha: p.alpha,
    beta: p.beta,
    maxEpochs,
    minMoved: p.eps * nActive,
    syncEvery: p.syncEvery,
    seed: opts.seed,
  };
  let history: EpochRecord[];
  if (threads === 1 && !opts.forceWorkers) {
    history = runMhInThread(g, active, assign, sizes, config, opts.onProgress);
  } else {
    history = await runMhWorkers(g, active, assign, sizes, config, threads, opts.onProgress);
    const check = new Int32Array(k);
    countSizes(assign, check);
    for (let c = 0; c < k; c++)
      if (check[c] !== sizes[c])
        throw new SimrecError('INTERNAL', `KnownFor: shared size of cluster ${c} drifted`);
  }

  let cluster: Int32Array = Int32Array.from(assign);
  let merge: KnownForDiagnostics['merge'] = null;
  if (auto && !warm) {
    const m =
      p.merge === 'modularity'
        ? mergeCommunities(graph, cluster)
        : p.merge === 'none'
          ? mergeCommunities(graph, cluster, 1, 0)
          : mergeByObjective(graph, cluster, p.alpha, g.wbar);
    cluster = m.cluster;
    k = Math.max(1, m.count);
    merge = {
      before: m.before,
      after: m.count,
      levels: m.levels,
      modularityBefore: m.modularityBefore,
      modularityAfter: m.modularityAfter,
    };
  } else if (auto && warm) {
    // Previous ids stay as they were; only the communities opened for new producers are renumbered after them.
    k = compactAfter(cluster, checkWarmStart(warm, n) + 1);
  }
  const finalSizes = new Int32Array(k);
  countSizes(cluster, finalSizes);
  const score = knownForScores(graph, cluster, k);
  const quality = partitionQuality(g, cluster, finalSizes);
  let orphans = 0;
  for (let i = 0; i < nActive; i++) if (cluster[active[i]] < 0) orphans++;
  const diagnostics: KnownForDiagnostics = {
    warm: warm !== undefined,
    epochs: history.length,
    moved: history.map((h) => h.moved),
    proposals: history.map((h) => h.proposals),
    acceptRates: history.map((h) => (h.proposals > 0 ? h.accepted / h.proposals : 0)),
    secondsPerEpoch: history.map((h) => h.seconds),
    activeProducers: nActive,
    isolatedProducers: n - nActive,
    communitiesSeeded: seeded,
    kMode: auto ? 'auto' : 'fixed',
    extended: 0,
    undecided: 0,
    merge,
    clusterSizes: sizeSummary(finalSizes),
    orphans,
    orphanRate: nActive > 0 ? orphans / nActive : 0,
    ...quality,
    threads,
    seconds: (performance.now() - t0) / 1000,
  };
  return { cluster, score, k, diagnostics };
}

/** Defaults filled in and every value checked; unknown keys are rejected. */
export function resolveKnownForParams(params: Partial<KnownForParams> = {}): KnownForParams {
  const p = withDefaults<KnownForParams>('knownFor', KNOWN_FOR_DEFAULTS, params);
  if (p.k !== null && p.k !== 'auto') {
    if (typeof p.k !== 'number')
      throw new SimrecError(
        'CONFIG_INVALID',
        `knownFor.k must be a positive integer or 'auto', got '${p.k}'`,
        {
          field: 'knownFor.k',
        },
      );
    checkIntParam('k', p.k, 1, 1 << 28);
  }
  checkNumberParam('alpha', p.alpha, 0);
  checkNumberParam('beta', p.beta, 0);
  checkIntParam('maxEpochs', p.maxEpochs, 0, 1 << 20);
  checkIntParam('maxEpochsWarm', p.maxEpochsWarm, 0, 1 << 20);
  checkNumberParam('eps', p.eps, 0, 1);
  checkIntParam('syncEvery', p.syncEvery, 1, 1 << 24);
  if (p.initNeighbors !== 'all' && p.initNeighbors !== 'strong') {
    throw new SimrecError(
      'CONFIG_INVALID',
      `knownFor.initNeighbors must be 'all' or 'strong', got '${p.initNeighbors}'`,
      {
        field: 'knownFor.initNeighbors',
      },
    );
  }
  if (p.merge !== 'objective' && p.merge !== 'modularity' && p.merge !== 'none') {
    throw new SimrecError(
      'CONFIG_INVALID',
      `knownFor.merge must be 'objective', 'modularity' or 'none', got '${p.merge}'`,
      { field: 'knownFor.merge' },
    );
  }
  if (p.initOrder !== 'random' && p.initOrder !== 'spread') {
    throw new SimrecError(
      'CONFIG_INVALID',
      `knownFor.initOrder must be 'random' or 'spread', got '${p.initOrder}'`,
      { field: 'knownFor.initOrder' },
    );
  }
  return p;
}

/** The graph as the sweep reads it: CSR arrays plus each vertex's mean incident weight w̄_v. */
export interface MhGraph {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array | null;
  wbar: Float64Array;
}

/** Precomputes w̄_v for a checked graph (see {@link checkGraph}). */
export function mhGraph(g: CsrMatrix): MhGraph {
  const n = g.nRows;
  const wbar = new Float64Array(n);
  const { indptr, values } = g;
  for (let v = 0; v < n; v++) {
    const d = indptr[v + 1] - indptr[v];
    if (d === 0) continue;
    if (!values) {
      wbar[v] = 1;
      continue;
    }
    let W = 0;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) W += values[e];
    wbar[v] = W / d;
  }
  return { n, indptr: g.indptr, indices: g.indices, values: g.values, wbar };
}

function activeVertices(g: MhGraph): Int32Array {
  let m = 0;
  for (let v = 0; v < g.n; v++) if (g.indptr[v + 1] > g.indptr[v]) m++;
  const out = new Int32Array(m);
  m = 0;
  for (let v = 0; v < g.n; v++) if (g.indptr[v + 1] > g.indptr[v]) out[m++] = v;
  return out;
}

function checkWarmStart(warm: Int32Array, n: number): number {
  if (!(warm instanceof Int32Array) || warm.length > n)
    throw new SimrecError('INTERNAL', `warmStart must be an Int32Array of at most ${n} producers`, {
      field: 'warmStart',
    });
  let max = -1;
  for (let v = 0; v < warm.length; v++) {
    const c = warm[v];
    if (c < -1 || c >= 1 << 28)
      throw new SimrecError('INTERNAL', `warmStart cluster ${c} of producer ${v} is not −1 or a cluster id`, {
        field: 'warmStart',
      });
    if (c > max) max = c;
  }
  return max;
}

/** Cold start: non-overlapping neighbourhoods until k communities exist. */
function coldInit(g: MhGraph, k: number, assign: Int32Array, rng: Rng, p: KnownForParams): number {
  const order = rng.permutation(g.n);
  return openCommunities(g, order, assign, k, 0, null, p);
}

/**
 * Uncovered vertices (with edges) open communities — the next id from `freeIds` (or next, counting up from
 * `firstId`) — with their uncovered (strong) neighbours, until no id is left below k; in `order` (initOrder
 * 'random') or least-claimed first ('spread', ties in `order`). Returns how many it opened.
 */
function openCommunities(
  g: MhGraph,
  order: Int32Array,
  assign: Int32Array,
  k: number,
  firstId: number,
  freeIds: Int32Array | null,
  p: KnownForParams,
): number {
  const { indptr } = g;
  const available = freeIds ? freeIds.length : k - firstId;
  const claim = new SeedClaim(g, k, p.initNeighbors === 'strong');
  let opened = 0;
  const open = (v: number) => {
    claim.open(v, freeIds ? freeIds[opened] : firstId + opened, assign);
    opened++;
  };
  if (p.initOrder === 'random') {
    for (let i = 0; i < order.length && opened < available; i++) {
      const v = order[i];
      if (assign[v] < 0 && indptr[v + 1] > indptr[v]) open(v);
    }
    return opened;
  }
  // 'spread': lazy greedy. A vertex's key only worsens as communities open (its neighbours get claimed, never
  // released), so a stored key bounds the current one: the top of the heap is taken once its key, recomputed,
  // is unchanged.
  const heap = new SeedHeap(g.n);
  for (let i = 0; i < order.length; i++) {
    const v = order[i];
    if (assign[v] >= 0 || indptr[v + 1] === indptr[v]) continue;
    claim.key(v, assign);
    heap.add(v, claim.share, claim.uncovered, i);
  }
  heap.heapify();
  while (opened < available && heap.size > 0) {
    const v = heap.top();
    if (assign[v] >= 0) {
      heap.pop();
      continue;
    }
    claim.key(v, assign);
    if (heap.update(claim.share, claim.uncovered)) continue;
    heap.pop();
    open(v);
  }
  return opened;
}

/** The neighbourhood a seed claims (initNeighbors) and the key of initOrder 'spread'; buffers reused per vertex. */
class SeedClaim {
  /** After key(v): the largest share of v's (strong) neighbours held by one open community, and the uncovered. */
  share = 0;
  uncovered = 0;
  private readonly count: Int32Array;
  private readonly countMark: Int32Array;
  private countStamp = 0;
  /** Unweighted 'strong': v's neighbours marked, and per incident edge the neighbours shared with v. */
  private readonly nbMark: Int32Array | null;
  private nbStamp = 0;
  private shared: Int32Array;

  constructor(
    private readonly g: MhGraph,
    k: number,
    private readonly strong: boolean,
  ) {
    this.count = new Int32Array(k);
    this.countMark = new Int32Array(k);
    this.nbMark = strong && g.values === null ? new Int32Array(g.n) : null;
    this.shared = new Int32Array(0);
  }

  /** Neighbours counted by the key: weight ≥ w̄_v on a weighted graph with 'strong', else all. */
  private minWeight(v: number): number {
    return this.strong && this.g.values ? this.g.wbar[v] : Number.NEGATIVE_INFINITY;
  }

  key(v: number, assign: Int32Array): void {
    const { indptr, indices, values } = this.g;
    const { count, countMark } = this;
    if (this.countStamp === 0x7fffffff) {
      countMark.fill(0);
      this.countStamp = 0;
    }
    const st = ++this.countStamp;
    const minW = this.minWeight(v);
    let total = 0;
    let uncovered = 0;
    let most = 0;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      if (values !== null && values[e] < minW) continue;
      total++;
      const c = assign[indices[e]];
      if (c < 0) {
        uncovered++;
        continue;
      }
      if (countMark[c] !== st) {
        countMark[c] = st;
        count[c] = 0;
      }
      if (++count[c] > most) most = count[c];
    }
    this.share = total > 0 ? most / total : 0;
    this.uncovered = uncovered;
  }

  /** v opens community c with its uncovered (strong) neighbours. */
  open(v: number, c: number, assign: Int32Array): void {
    const { indptr, indices, values } = this.g;
    assign[v] = c;
    if (this.nbMark) {
      this.openUnweighted(v, c, assign, this.nbMark);
      return;
    }
    const minW = this.minWeight(v);
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      const u = indices[e];
      if (assign[u] < 0 && (values === null || values[e] >= minW)) assign[u] = c;
    }
  }

  /** Unweighted 'strong': the uncovered neighbours sharing at least the mean number of neighbours with v. */
  private openUnweighted(v: number, c: number, assign: Int32Array, mark: Int32Array): void {
    const { indptr, indices } = this.g;
    const d = indptr[v + 1] - indptr[v];
    if (this.shared.length < d) this.shared = new Int32Array(d);
    const shared = this.shared;
    if (this.nbStamp === 0x7fffffff) {
      mark.fill(0);
      this.nbStamp = 0;
    }
    const st = ++this.nbStamp;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) mark[indices[e]] = st;
    let sum = 0;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      const u = indices[e];
      let x = 0;
      for (let f = indptr[u]; f < indptr[u + 1]; f++) if (mark[indices[f]] === st) x++;
      shared[e - indptr[v]] = x;
      sum += x;
    }
    const mean = sum / d;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      const u = indices[e];
      if (assign[u] < 0 && shared[e - indptr[v]] >= mean) assign[u] = c;
    }
  }
}

/**
 * Max-heap of seed candidates for initOrder 'spread': smaller share first, then more uncovered neighbours, then
 * earlier in the seeded order.
 */
class SeedHeap {
  size = 0;
  private readonly items: Int32Array;
  private readonly share: Float64Array;
  private readonly uncovered: Int32Array;
  private readonly rank: Int32Array;

  constructor(n: number) {
    this.items = new Int32Array(n);
    this.share = new Float64Array(n);
    this.uncovered = new Int32Array(n);
    this.rank = new Int32Array(n);
  }

  add(v: number, share: number, uncovered: number, rank: number): void {
    this.items[this.size++] = v;
    this.share[v] = share;
    this.uncovered[v] = uncovered;
    this.rank[v] = rank;
  }

  heapify(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  top(): number {
    return this.items[0];
  }

  pop(): void {
    this.items[0] = this.items[--this.size];
    this.siftDown(0);
  }

  /** Stores the top's recomputed key; true (and the top sifted down) when it changed. */
  update(share: number, uncovered: number): boolean {
    const v = this.items[0];
    if (share === this.share[v] && uncovered === this.uncovered[v]) return false;
    this.share[v] = share;
    this.uncovered[v] = uncovered;
    this.siftDown(0);
    return true;
  }

  private before(a: number, b: number): boolean {
    if (this.share[a] !== this.share[b]) return this.share[a] < this.share[b];
    if (this.uncovered[a] !== this.uncovered[b]) return this.uncovered[a] > this.uncovered[b];
    return this.rank[a] < this.rank[b];
  }

  private siftDown(i: number): void {
    const { items, size } = this;
    const v = items[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.before(items[child + 1], items[child])) child++;
      if (!this.before(items[child], v)) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = v;
  }
}

/**
 * Warm start: previous clusters kept for producers that still have edges; producers without one (new, or −1
 * before) seeded into the empty community ids with their uncovered neighbourhoods (in initOrder).
 */
function warmInit(
  g: MhGraph,
  warm: Int32Array,
  k: number,
  assign: Int32Array,
  rng: Rng,
  p: KnownForParams,
): number {
  const { indptr } = g;
  const used = new Uint8Array(k);
  for (let v = 0; v < warm.length; v++) {
    if (warm[v] >= 0 && indptr[v + 1] > indptr[v]) {
      assign[v] = warm[v];
      used[warm[v]] = 1;
    }
  }
  let nFree = 0;
  for (let c = 0; c < k; c++) if (!used[c]) nFree++;
  const free = new Int32Array(nFree);
  nFree = 0;
  for (let c = 0; c < k; c++) if (!used[c]) free[nFree++] = c;
  const order = rng.permutation(g.n);
  return openCommunities(g, order, assign, k, 0, free, p);
}

/** Ids below `keep` unchanged; ids ≥ keep that are used renumbered keep, keep+1, …; returns the new k. */
function compactAfter(cluster: Int32Array, keep: number): number {
  let maxId = keep - 1;
  for (let v = 0; v < cluster.length; v++) if (cluster[v] > maxId) maxId = cluster[v];
  const map = new Int32Array(maxId + 1).fill(-1);
  let next = keep;
  for (let v = 0; v < cluster.length; v++) {
    const c = cluster[v];
    if (c < keep) continue;
    if (map[c] < 0) map[c] = next++;
    cluster[v] = map[c];
  }
  return Math.max(1, next);
}

function countSizes(assign: Int32Array, sizes: Int32Array): void {
  sizes.fill(0);
  for (let v = 0; v < assign.length; v++) if (assign[v] >= 0) sizes[assign[v]]++;
}

/** Per-thread buffers of the sweep: per-candidate accumulators indexed by cluster id, and a stamp per id. */
export class MhScratch {
  readonly tpw: Float64Array;
  readonly tpn: Int32Array;
  readonly mark: Int32Array;
  readonly cand: Int32Array;
  /** L(v, c) of cand[i] after a scan. */
  readonly objective: Float64Array;
  stamp = 0;
  /** L(v, current) after a scan (0 when v has no community). */
  lCurrent = 0;

  constructor(k: number) {
    this.tpw = new Float64Array(k);
    this.tpn = new Int32Array(k);
    this.mark = new Int32Array(k);
    this.cand = new Int32Array(k);
    this.objective = new Float64Array(k);
  }
}

/**
 * One pass over v's adjacency: fills s.cand[0..return) with the communities of v's neighbours other than its
 * current one, s.objective with their L(v, c), and s.lCurrent with L(v, current). ∅ is not listed.
 */
export function scanCandidates(
  g: MhGraph,
  view: Int32Array,
  sizes: Int32Array,
  v: number,
  alpha: number,
  s: MhScratch,
): number {
  const { indptr, indices, values } = g;
  const { tpw, tpn, mark, cand } = s;
  // A fresh stamp marks this vertex's entries, so nothing is cleared between vertices.
  if (s.stamp === 0x7fffffff) {
    mark.fill(0);
    s.stamp = 0;
  }
  const st = ++s.stamp;
  const cur = view[v];
  let nc = 0;
  let curW = 0;
  let curN = 0;
  const eEnd = indptr[v + 1];
  for (let e = indptr[v]; e < eEnd; e++) {
    const c = view[indices[e]];
    if (c < 0) continue;
    const w = values === null ? 1 : values[e];
    if (c === cur) {
      curW += w;
      curN++;
    } else if (mark[c] !== st) {
      mark[c] = st;
      tpw[c] = w;
      tpn[c] = 1;
      cand[nc++] = c;
    } else {
      tpw[c] += w;
      tpn[c]++;
    }
  }
  const wb = g.wbar[v];
  const obj = s.objective;
  for (let i = 0; i < nc; i++) {
    const c = cand[i];
    obj[i] = alpha * tpw[c] - wb * (sizes[c] - tpn[c]);
  }
  // |C| counts the members other than v, so v's own community has sizes[cur] − 1.
  s.lCurrent = cur < 0 ? 0 : alpha * curW - wb * (sizes[cur] - 1 - curN);
  return nc;
}

/** Counters of one sweep. */
export interface SweepCounts {
  moved: number;
  proposals: number;
  accepted: number;
}

/**
 * MH over order[start, end): propose by Gumbel-max, accept iff ln U < β·ΔL, apply at once to view and sizes.
 * Each move is also appended to `log` (v, from, to) at logAt when a log is given; returns the new log length.
 */
export function sweep(
  g: MhGraph,
  view: Int32Array,
  sizes: Int32Array,
  order: Int32Array,
  start: number,
  end: number,
  alpha: number,
  beta: number,
  rng: Rng,
  s: MhScratch,
  counts: SweepCounts,
  log: Int32Array | null,
  logAt: number,
): number {
  const cand = s.cand;
  const obj = s.objective;
  for (let i = start; i < end; i++) {
    const v = order[i];
    const nc = scanCandidates(g, view, sizes, v, alpha, s);
    const cur = view[v];
    // Candidates are ∅ (unless v is already there) and the nc neighbour communities.
    if (nc === 0 && cur < 0) continue;
    let prop = -1;
    let propL = 0;
    if (nc === 0) {
      prop = -1;
    } else if (nc === 1 && cur < 0) {
      prop = cand[0];
      propL = obj[0];
    } else {
      let best = cur < 0 ? Number.NEGATIVE_INFINITY : rng.gumbel();
      for (let j = 0; j < nc; j++) {
        const score = obj[j] + rng.gumbel();
        if (score > best) {
          best = score;
          prop = cand[j];
          propL = obj[j];
        }
      }
    }
    counts.proposals++;
    const delta = propL - s.lCurrent;
    if (delta < 0 && !(Math.log(rng.nextOpen()) < beta * delta)) continue;
    counts.accepted++;
    counts.moved++;
    view[v] = prop;
    if (cur >= 0) sizes[cur]--;
    if (prop >= 0) sizes[prop]++;
    if (log) {
      log[logAt++] = v;
      log[logAt++] = cur;
      log[logAt++] = prop;
    }
  }
  return logAt;
}

interface MhConfig {
  alpha: number;
  beta: number;
  maxEpochs: number;
  /** Stop once an epoch moves fewer vertices than this. */
  minMoved: number;
  syncEvery: number;
  seed: number;
}

interface EpochRecord extends SweepCounts {
  seconds: number;
}

/** The visiting order of epoch e: a seeded shuffle of the active vertices, the same in every thread. */
function epochOrder(active: Int32Array, seed: number, epoch: number, out: Int32Array): Int32Array {
  out.set(active);
  return new Rng(seed).fork(`known-for-order-${epoch}`).shuffle(out);
}

function moveRng(seed: number, epoch: number, thread: number): Rng {
  return new Rng(seed).fork(`known-for-moves-${epoch}-${thread}`);
}

function runMhInThread(
  g: MhGraph,
  active: Int32Array,
  assign: Int32Array,
  sizes: Int32Array,
  cfg: MhConfig,
  onProgress?: ProgressFn,
): EpochRecord[] {
  const s = new MhScratch(sizes.length);
  const order = new Int32Array(active.length);
  const history: EpochRecord[] = [];
  onProgress?.('known-for', 0, cfg.maxEpochs);
  for (let e = 0; e < cfg.maxEpochs; e++) {
    const t = performance.now();
    epochOrder(active, cfg.seed, e, order);
    const counts: SweepCounts = { moved: 0, proposals: 0, accepted: 0 };
    sweep(
      g,
      assign,
      sizes,
      order,
      0,
      order.length,
      cfg.alpha,
      cfg.beta,
      moveRng(cfg.seed, e, 0),
      s,
      counts,
      null,
      0,
    );
    history.push({ ...counts, seconds: (performance.now() - t) / 1000 });
    onProgress?.('known-for', e + 1, cfg.maxEpochs);
    if (counts.moved < cfg.minMoved) break;
  }
  return history;
}

/** Shared state of the worker sweep (see the header comment for the protocol). */
export interface MhWorkerData {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array | null;
  wbar: Float64Array;
  active: Int32Array;
  /** The assignment: the shared truth, written at round barriers by the thread that moved the vertex. */
  assign: Int32Array;
  /** Cluster sizes, updated with Atomics at round barriers. */
  sizes: Int32Array;
  /** Per thread and round parity, a log of (v, from, to) moves: region (t·2 + parity)·3·syncEvery. */
  logs: Int32Array;
  /** Per thread and parity, the log length. */
  logLengths: Int32Array;
  /** Per thread and epoch: moved, proposals, accepted (as of the last barrier). */
  epochCounts: Int32Array;
  /** [0] arrivals, [1] generation, [2] abort flag. */
  barrier: Int32Array;
  alpha: number;
  beta: number;
  maxEpochs: number;
  minMoved: number;
  syncEvery: number;
  seed: number;
  workerIndex: number;
  workerCount: number;
}

const B_COUNT = 0;
const B_GEN = 1;
const B_ABORT = 2;

async function runMhWorkers(
  g: MhGraph,
  active: Int32Array,
  assign: Int32Array,
  sizes: Int32Array,
  cfg: MhConfig,
  threads: number,
  onProgress?: ProgressFn,
): Promise<EpochRecord[]> {
  const data: Omit<MhWorkerData, 'workerIndex' | 'workerCount'> = {
    n: g.n,
    indptr: toShared(g.indptr),
    indices: toShared(g.indices),
    values: g.values && toShared(g.values),
    wbar: toShared(g.wbar),
    active: toShared(active),
    assign: toShared(assign),
    sizes: toShared(sizes),
    logs: sharedArray(Int32Array, threads * 2 * 3 * cfg.syncEvery),
    logLengths: sharedArray(Int32Array, threads * 2),
    epochCounts: sharedArray(Int32Array, threads * Math.max(1, cfg.maxEpochs) * 3),
    barrier: sharedArray(Int32Array, 3),
    ...cfg,
  };
  const history: EpochRecord[] = [];
  onProgress?.('known-for', 0, cfg.maxEpochs);
  try {
    await runWorkers(new URL('./known-for-worker.ts', import.meta.url), threads, { ...data }, (_w, m) => {
      const msg = m as { epoch: number; seconds: number };
      const counts: SweepCounts = { moved: 0, proposals: 0, accepted: 0 };
      for (let t = 0; t < threads; t++) {
        const at = (t * Math.max(1, cfg.maxEpochs) + msg.epoch) * 3;
        counts.moved += data.epochCounts[at];
        counts.proposals += data.epochCounts[at + 1];
        counts.accepted += data.epochCounts[at + 2];
      }
      history.push({ ...counts, seconds: msg.seconds });
      onProgress?.('known-for', msg.epoch + 1, cfg.maxEpochs);
    });
  } catch (e) {
    Atomics.store(data.barrier, B_ABORT, 1);
    Atomics.notify(data.barrier, B_GEN);
    throw e;
  }
  if (data.assign !== assign) assign.set(data.assign);
  if (data.sizes !== sizes) sizes.set(data.sizes);
  return history;
}

/** Generation barrier over shared memory; gives up (throws) when another thread has aborted. */
function barrierWait(b: Int32Array, parties: number): void {
  const gen = Atomics.load(b, B_GEN);
  if (Atomics.add(b, B_COUNT, 1) === parties - 1) {
    Atomics.store(b, B_COUNT, 0);
    Atomics.add(b, B_GEN, 1);
    Atomics.notify(b, B_GEN);
    return;
  }
  while (Atomics.load(b, B_GEN) === gen) {
    if (Atomics.load(b, B_ABORT) !== 0) throw new SimrecError('INTERNAL', 'KnownFor: another worker failed');
    Atomics.wait(b, B_GEN, gen, 200);
  }
}

/** The body of known-for-worker.ts. `post` reports a finished epoch (worker 0 only). */
export function mhWorkerMain(d: MhWorkerData, post: (m: { epoch: number; seconds: number }) => void): void {
  try {
    mhWorkerLoop(d, post);
  } catch (e) {
    Atomics.store(d.barrier, B_ABORT, 1);
    Atomics.notify(d.barrier, B_GEN);
    throw e;
  }
}

function mhWorkerLoop(d: MhWorkerData, post: (m: { epoch: number; seconds: number }) => void): void {
  const T = d.workerCount;
  const me = d.workerIndex;
  const B = d.syncEvery;
  const g: MhGraph = { n: d.n, indptr: d.indptr, indices: d.indices, values: d.values, wbar: d.wbar };
  const k = d.sizes.length;
  const view = Int32Array.from(d.assign);
  const sizes = Int32Array.from(d.sizes);
  const s = new MhScratch(k);
  const nA = d.active.length;
  const order = new Int32Array(nA);
  const { logs, logLengths, assign, epochCounts } = d;
  const epochSlots = Math.max(1, d.maxEpochs);
  let round = 0;
  for (let e = 0; e < d.maxEpochs; e++) {
    const t0 = performance.now();
    epochOrder(d.active, d.seed, e, order);
    const rng = moveRng(d.seed, e, me);
    const counts: SweepCounts = { moved: 0, proposals: 0, accepted: 0 };
    const countAt = (me * epochSlots + e) * 3;
    for (let r0 = 0; r0 < nA; r0 += T * B) {
      const parity = round & 1;
      const myLog = (me * 2 + parity) * 3 * B;
      const from = Math.min(nA, r0 + me * B);
      const to = Math.min(nA, from + B);
      const logEnd = sweep(g, view, sizes, order, from, to, d.alpha, d.beta, rng, s, counts, logs, myLog);
      logLengths[me * 2 + parity] = logEnd - myLog;
      epochCounts[countAt] = counts.moved;
      epochCounts[countAt + 1] = counts.proposals;
      epochCounts[countAt + 2] = counts.accepted;
      barrierWait(d.barrier, T);
      // Publish own moves to the shared truth; fold the other threads' moves into the private view.
      for (let t = 0; t < T; t++) {
        const base = (t * 2 + parity) * 3 * B;
        const len = logLengths[t * 2 + parity];
        if (t === me) {
          for (let i = base; i < base + len; i += 3) {
            assign[logs[i]] = logs[i + 2];
            if (logs[i + 1] >= 0) Atomics.sub(d.sizes, logs[i + 1], 1);
            if (logs[i + 2] >= 0) Atomics.add(d.sizes, logs[i + 2], 1);
          }
        } else {
          for (let i = base; i < base + len; i += 3) {
            view[logs[i]] = logs[i + 2];
            if (logs[i + 1] >= 0) sizes[logs[i + 1]]--;
            if (logs[i + 2] >= 0) sizes[logs[i + 2]]++;
          }
        }
      }
      round++;
    }
    // Every thread's counters for this epoch were stored before the last barrier, so all read the same total.
    let moved = 0;
    for (let t = 0; t < T; t++) moved += epochCounts[(t * epochSlots + e) * 3];
    if (me === 0) post({ epoch: e, seconds: (performance.now() - t0) / 1000 });
    if (moved < d.minMoved) break;
  }
}

/**
 * The KnownFor score of every producer in its community (§3.2), ḡ the mean edge weight of the graph:
 * wIn / (wIn + wOut + ḡ·(|C \ {v}| − nIn)); 1 when v is alone in C, 0 when the denominator is 0 or v has none.
 */
export function knownForScores(graph: CsrMatrix, cluster: Int32Array, k: number): Float32Array {
  const n = graph.nRows;
  const { indptr, indices, values } = graph;
  const sizes = new Int32Array(k);
  for (let v = 0; v < n; v++) if (cluster[v] >= 0) sizes[cluster[v]]++;
  let total = 0;
  let edges = 0;
  for (let v = 0; v < n; v++) {
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      if (indices[e] === v) continue;
      total += values ? values[e] : 1;
      edges++;
    }
  }
  const gbar = edges > 0 ? total / edges : 0;
  const score = new Float32Array(n);
  for (let v = 0; v < n; v++) {
    const c = cluster[v];
    if (c < 0) continue;
    const others = sizes[c] - 1;
    if (others === 0) {
      score[v] = 1;
      continue;
    }
    let wIn = 0;
    let wOut = 0;
    let nIn = 0;
    for (let e = indptr[v]; e < indptr[v + 1]; e++) {
      const u = indices[e];
      if (u === v) continue;
      const w = values ? values[e] : 1;
      if (cluster[u] === c) {
        wIn += w;
        nIn++;
      } else {
        wOut += w;
      }
    }
    const den = wIn + wOut + gbar * (others - nIn);
    score[v] = den > 0 ? wIn / den : 0;
  }
  return score;
}

/**
 * L(v, c) for v's current community and every candidate, computed by the same scan the sweep uses (for
 * inspection and tests). `cluster` is the assignment, −1 = none.
 */
export function candidateObjectives(
  graph: CsrMatrix,
  cluster: Int32Array,
  k: number,
  v: number,
  alpha = KNOWN_FOR_DEFAULTS.alpha,
): { current: number; lCurrent: number; candidates: { cluster: number; objective: number }[] } {
  const g = mhGraph(checkGraph(graph));
  const sizes = new Int32Array(k);
  countSizes(cluster, sizes);
  const s = new MhScratch(k);
  const nc = scanCandidates(g, cluster, sizes, v, alpha, s);
  const candidates: { cluster: number; objective: number }[] = [];
  for (let i = 0; i < nc; i++) candidates.push({ cluster: s.cand[i], objective: s.objective[i] });
  return { current: cluster[v], lCurrent: s.lCurrent, candidates };
}

function partitionQuality(
  g: MhGraph,
  cluster: Int32Array,
  sizes: Int32Array,
): { edgePrecision: number; edgeRecall: number; edgeF1: number } {
  let inside = 0;
  let all = 0;
  for (let v = 0; v < g.n; v++) {
    const c = cluster[v];
    for (let e = g.indptr[v]; e < g.indptr[v + 1]; e++) {
      const u = g.indices[e];
      if (u <= v) continue;
      all++;
      if (c >= 0 && cluster[u] === c) inside++;
    }
  }
  let pairs = 0;
  for (let c = 0; c < sizes.length; c++) pairs += (sizes[c] * (sizes[c] - 1)) / 2;
  const precision = pairs > 0 ? inside / pairs : 0;
  const recall = all > 0 ? inside / all : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { edgePrecision: precision, edgeRecall: recall, edgeF1: f1 };
}

function sizeSummary(sizes: Int32Array): ClusterSizeSummary {
  const nonEmpty = sizes.filter((x) => x > 0).sort();
  const m = nonEmpty.length;
  if (m === 0) return { count: 0, min: 0, median: 0, max: 0 };
  const median = m % 2 === 1 ? nonEmpty[(m - 1) / 2] : (nonEmpty[m / 2 - 1] + nonEmpty[m / 2]) / 2;
  return { count: m, min: nonEmpty[0], median, max: nonEmpty[m - 1] };
}
