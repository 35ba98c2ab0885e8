/**
 * Prometheus metrics of one server process (DESIGN §10): request latency per route, candidates scored, and the
 * artifact version served. With `--workers N` each worker keeps its own registry; a scrape of any worker asks
 * the primary, which sums every worker's registry (prom-client's cluster aggregation), so a scrape sees the
 * whole server whichever worker the connection landed on.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventLog } from '../store/event-log.ts';
import type { LogApplier } from './applier.ts';

export interface ServeMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly candidatesScored: Counter;
  /** Dense (MF) candidate queries by source kind (user, fold-in, item, raw) and mode (ann, exact). */
  readonly denseQueries: Counter<'source' | 'mode'>;
  /** Queries of POST /v1/candidates/:source by source name. */
  readonly sourceQueries: Counter<'source'>;
  /** Recommendation answers by strategy, scoring (ranker, fusion) and subject kind. */
  readonly recommendations: Counter<'strategy' | 'scoring' | 'subject'>;
  /** Distinct candidates the recommendation routes merged (before filters). */
  readonly recommendCandidates: Counter;
  readonly artifactInfo: Gauge<'version'>;
  /** Records appended to the event log by this process's write routes. */
  readonly eventsAccepted: Counter;
  /** Records a write route found already in the log (same eventId). */
  readonly eventsDuplicate: Counter;
  /** Write requests refused: invalid, too_large, backlog. */
  readonly eventsRejected: Counter<'reason'>;
  /** Adds the event log's gauges (length, applier lag, overlay size), read at each scrape. */
  watchEvents(log: EventLog, applier: LogApplier | null): void;
  /** Marks `to` as the version served (and `from` as no longer served). */
  setVersion(from: string | null, to: string): void;
  /** The exposition text: the whole cluster's when this process is a cluster worker, else this process's. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag, GC) under the `simrec_` prefix (default true). */
  processMetrics?: boolean;
  /** Aggregate through the cluster primary when this is a worker (default: whether it is one). */
  clusterAggregation?: boolean;
}

/** Request latency buckets (seconds): ANN queries take ~0.1–10 ms; the tail goes to a second. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const REQ = 'simrec:metrics-req';
const RES = 'simrec:metrics-res';

interface MetricsMessage {
  type: typeof REQ | typeof RES;
  id: number;
  body?: string;
  contentType?: string;
  error?: string;
}

export function createMetrics(options: MetricsOptions = {}): ServeMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'simrec_' });
  const requestDuration = new Histogram({
    name: 'simrec_http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const candidatesScored = new Counter({
    name: 'simrec_candidates_scored_total',
    help: 'Candidates given an approximate score by SimClusters ANN queries',
    registers: [registry],
  });
  // Separate from candidatesScored: an HNSW walk does not report how many items it scored, so adding dense
  // queries there would mix two units.
  const denseQueries = new Counter({
    name: 'simrec_dense_queries_total',
    help: 'Dense (MF) candidate queries by source kind and mode',
    labelNames: ['source', 'mode'] as const,
    registers: [registry],
  });
  const sourceQueries = new Counter({
    name: 'simrec_source_queries_total',
    help: 'Queries of POST /v1/candidates/:source by candidate source',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  // The strategy label is bounded: only strategies of a served version's build config are counted (an unknown
  // name is refused before an answer).
  const recommendations = new Counter({
    name: 'simrec_recommendations_total',
    help: 'Recommendation answers by strategy, scoring (ranker or fusion) and subject kind',
    labelNames: ['strategy', 'scoring', 'subject'] as const,
    registers: [registry],
  });
  const recommendCandidates = new Counter({
    name: 'simrec_recommendation_candidates_total',
    help: 'Distinct candidates merged from the sources by the recommendation routes, before filters',
    registers: [registry],
  });
  const artifactInfo = new Gauge({
    name: 'simrec_artifact_info',
    help: 'The artifact version served (value 1)',
    labelNames: ['version'] as const,
    registers: [registry],
    // Summed over workers this would count workers; an info metric stays 1.
    aggregator: 'max',
  });
  const eventsAccepted = new Counter({
    name: 'simrec_events_accepted_total',
    help: 'Records (events, item changes) appended to the event log by the write routes',
    registers: [registry],
  });
  const eventsDuplicate = new Counter({
    name: 'simrec_events_deduplicated_total',
    help: 'Records the write routes did not append because the log already held their eventId',
    registers: [registry],
  });
  const eventsRejected = new Counter({
    name: 'simrec_events_rejected_total',
    help: 'Write requests refused, by reason: invalid (400), too_large (413), backlog (429)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['invalid', 'too_large', 'backlog']) eventsRejected.inc({ reason }, 0);
  const aggregate = options.clusterAggregation ?? cluster.isWorker;
  if (aggregate) {
    // Answers the primary's requests for this worker's metrics (prom-client installs the listener).
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }
  return {
    registry,
    requestDuration,
    candidatesScored,
    denseQueries,
    sourceQueries,
    recommendations,
    recommendCandidates,
    artifactInfo,
    eventsAccepted,
    eventsDuplicate,
    eventsRejected,
    watchEvents(log, applier) {
      // Every worker of a cluster reads the same log and applies all of it: the cluster's value is any
      // worker's, and the worst lag is the one that matters.
      new Gauge({
        name: 'simrec_event_log_records',
        help: 'Records held in the event log (appended minus compacted)',
        registers: [registry],
        aggregator: 'max',
        collect() {
          this.set(log.end() - log.start());
        },
      });
      new Gauge({
        name: 'simrec_event_log_end_offset',
        help: 'The next offset the event log assigns (records ever appended)',
        registers: [registry],
        aggregator: 'max',
        collect() {
          this.set(log.end());
        },
      });
      if (!applier) return;
      new Gauge({
        name: 'simrec_applier_lag_events',
        help: 'Records in the event log this process has not applied to its overlay yet',
        registers: [registry],
        aggregator: 'max',
        collect() {
          this.set(applier.lagEvents());
        },
      });
      new Gauge({
        name: 'simrec_applier_lag_seconds',
        help: 'Seconds since the oldest record this process has not applied happened (0 when caught up)',
        registers: [registry],
        aggregator: 'max',
        collect() {
          this.set(applier.lagSeconds());
        },
      });
      new Gauge({
        name: 'simrec_overlay_entities',
        help:
          'What the live overlay of the served version holds, by kind: item_rows (items with a live embedding), ' +
          'new_items, users (users with live state), new_users, deleted_items',
        labelNames: ['kind'] as const,
        registers: [registry],
        aggregator: 'max',
        collect() {
          const s = applier.overlay?.stats();
          this.set({ kind: 'item_rows' }, s?.itemRows ?? 0);
          this.set({ kind: 'new_items' }, s?.newItems ?? 0);
          this.set({ kind: 'users' }, s?.usersWithState ?? 0);
          this.set({ kind: 'new_users' }, s?.newUsers ?? 0);
          this.set({ kind: 'deleted_items' }, s?.deletedItems ?? 0);
        },
      });
      new Gauge({
        name: 'simrec_overlay_applied_records',
        help: "Event log records the served version's overlay has applied",
        registers: [registry],
        aggregator: 'max',
        collect() {
          this.set(applier.overlay?.stats().applied ?? 0);
        },
      });
    },
    setVersion(from, to) {
      if (from !== null && from !== to) artifactInfo.remove({ version: from });
      artifactInfo.set({ version: to }, 1);
    },
    async render() {
      if (aggregate && process.send) {
        const fromPrimary = await askPrimary().catch(() => null);
        if (fromPrimary) return fromPrimary;
      }
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

let nextRequest = 0;

/** The cluster-wide metrics text from the primary (see {@link servePrimaryMetrics}). */
function askPrimary(timeoutMs = 3000): Promise<{ contentType: string; body: string }> {
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: MetricsMessage) => {
      if (!m || m.type !== RES || m.id !== id) return;
      done();
      if (m.error !== undefined || m.body === undefined) reject(new Error(m.error ?? 'no metrics'));
      else resolve({ contentType: m.contentType ?? 'text/plain', body: m.body });
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the cluster primary did not answer'));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send?.({ type: REQ, id } satisfies MetricsMessage);
  });
}

/**
 * In the cluster primary: answers workers' metrics requests with every worker's metrics aggregated. Returns a
 * function that stops answering.
 */
export function servePrimaryMetrics(): () => void {
  const aggregator = new AggregatorRegistry();
  const onMessage = (worker: { send(m: unknown): boolean; isConnected(): boolean }, m: MetricsMessage) => {
    if (!m || m.type !== REQ) return;
    aggregator.clusterMetrics().then(
      (body) => {
        if (worker.isConnected())
          worker.send({
            type: RES,
            id: m.id,
            body,
            contentType: aggregator.contentType,
          } satisfies MetricsMessage);
      },
      (e: Error) => {
        if (worker.isConnected())
          worker.send({ type: RES, id: m.id, error: e.message } satisfies MetricsMessage);
      },
    );
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
  };
}
