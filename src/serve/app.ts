/**
 * The HTTP application (DESIGN §10): a Fastify instance with the v1 routes, schema validation (TypeBox), OpenAPI
 * at /docs, Prometheus metrics at /metrics, /healthz and /readyz, and the artifact version kept current by a
 * LiveModel. `buildApp` does not listen, so tests drive it through `inject`; `server.ts` listens.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions, LogController } from 'fastify';
import { isSimrecError } from '../core/errors.ts';
import { CODE_VERSION } from '../core/version.ts';
import { EVENT_LIMITS } from '../data/events.ts';
import type { CandidateSource } from '../query/candidate-source.ts';
import { LiveModel, type ServingModel } from '../query/serving-model.ts';
import { SOURCE_FACTORIES } from '../query/sources/registry.ts';
import { VersionData } from '../recommend/version-data.ts';
import type { InterestedInScore } from '../simclusters/interested-in.ts';
import type { EventLog } from '../store/event-log.ts';
import { openArtifactStore, openEventLog } from '../store/open.ts';
import type { ArtifactStore } from '../store/store.ts';
import { type ApplierOptions, LogApplier, liveOverlays, type OverlayFactory } from './applier.ts';
import { LOG_REDACT, registerAuth } from './auth.ts';
import {
  handleClientError,
  handleError,
  handleFrameworkError,
  handleNotFound,
  MAX_PARAM_LENGTH,
} from './errors.ts';
import { type PressureOptions, registerLoadShedding } from './load-shedding.ts';
import { createMetrics } from './metrics.ts';
import type { EventWriting, RouteContext, SimrecFastify } from './route-context.ts';
import { registerCandidateRoutes } from './routes/candidates.ts';
import { registerClusterRoutes } from './routes/clusters.ts';
import { registerEmbeddingRoutes } from './routes/embeddings.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerRecommendationRoutes } from './routes/recommendations.ts';
import { validatorCompiler } from './validation.ts';

export type { PressureOptions } from './load-shedding.ts';
export type { RouteContext, SimrecFastify } from './route-context.ts';

export const DEFAULT_BODY_LIMIT = 1 << 20;

/** Write limits and the applier's cadence (applier.ts). */
export interface EventOptions extends ApplierOptions {
  /** Events one POST /v1/events batch may hold (default EVENT_LIMITS.batchSize; 413 beyond). */
  maxBatch?: number;
  /** Records this process may lag behind the log before writes get 429 (default 50,000). */
  maxLagEvents?: number;
  /** Retry-After of that 429, seconds (default 1). */
  retryAfterSeconds?: number;
  /** Engagement actions accepted beside the built-in user actions (a build config's). */
  engagementActions?: readonly string[];
}

export const DEFAULT_MAX_LAG_EVENTS = 50_000;

export interface AppOptions {
  /** Artifact store location (store/open.ts); or give `store`, or a ready `live` model. */
  artifacts?: string;
  store?: ArtifactStore;
  live?: LiveModel;
  /** InterestedIn kind used as a user's source embedding (default logFavScoreClusterNormalized). */
  userScore?: InterestedInScore;
  /** How often to look for a new artifact version, ms (default 1000; 0: only on refresh, e.g. SIGHUP). */
  pollMs?: number;
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  bodyLimit?: number;
  /** Fastify/pino logger options (default: off). */
  logger?: FastifyServerOptions['logger'];
  /** Node process metrics in /metrics (default false; the CLI server turns them on). */
  processMetrics?: boolean;
  /** Wait for the current version to load before resolving (default true). A server that should answer
   * /healthz while a large version loads passes false; /readyz says when it is loaded. */
  awaitModel?: boolean;
  /** Serve OpenAPI at /docs (default true). */
  docs?: boolean;
  /**
   * Shed load under pressure (default off here; `simrec serve` turns it on, see load-shedding.ts). In-process
   * tests leave it off: a loaded CI machine's event-loop delay is not the server's to answer for.
   */
  pressure?: PressureOptions | false;
  /**
   * API keys (auth.ts): when given, every write route needs one (`Authorization: Bearer KEY` or `X-API-Key`),
   * else 401 UNAUTHORIZED. Empty or absent: no authentication.
   */
  apiKeys?: readonly string[];
  /** With apiKeys: the /v1 read routes need a key too (default false). */
  protectReads?: boolean;
  /**
   * Candidate sources beside the registry's (query/sources/registry.ts), served by POST /v1/candidates/:name
   * (an embedder's own, a test's). A name the registry has is an error.
   */
  extraSources?: Readonly<Record<string, (model: ServingModel) => CandidateSource | null>>;
  /**
   * The event log the write routes append to and this process's applier tails. Default: the log at `artifacts`
   * (store/open.ts openEventLog; created when absent), closed with the application; one given here stays the
   * caller's; false: none (the write routes answer 503 and nothing is overlaid).
   */
  eventLog?: EventLog | false;
  /** How the applier builds a version's overlay (default: the live overlay of query/live/; false: none). */
  overlays?: OverlayFactory | false;
  /** Write limits and the applier's cadence. */
  events?: EventOptions;
  /** Registers further routes beside simrec's before the application is sealed (an embedder's own, a test's). */
  extraRoutes?: (app: SimrecFastify) => void;
}

/**
 * Builds the application. Closing it (`app.close()`) closes the model and its artifact versions, unless a
 * `live` model was passed in, which stays the caller's.
 */
export async function buildApp(options: AppOptions): Promise<SimrecFastify> {
  // Checked before anything is opened.
  for (const name of Object.keys(options.extraSources ?? {}))
    if (Object.hasOwn(SOURCE_FACTORIES, name))
      throw new TypeError(`extraSources: '${name}' is a registered candidate source`);
  const ownsLive = options.live === undefined;
  let live = options.live;
  let ownedStore: ArtifactStore | undefined;
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  const app: SimrecFastify = Fastify({
    logger: withRedaction(options.logger ?? false),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Ids may be long; the schemas cap them at REQUEST_LIMITS.idLength and answer 400 beyond.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // What the router and Node's HTTP parser reject is answered in the same error shape as everything else.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    // Per-request log lines would cost more than an ANN query; latency goes to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    // While closing, requests already on a connection are still answered (in the documented error shape
    // when they fail); new connections are no longer accepted.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Every body is JSON; Fastify would otherwise also accept text/plain and fail it later as a wrong type.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  let lastFailure: unknown = null;
  let lastLogged = '';
  let store: ArtifactStore | undefined;
  if (!live) {
    store =
      options.store ??
      (options.artifacts ? openArtifactStore(options.artifacts, { field: 'artifacts' }) : undefined);
    if (!store) throw new TypeError('buildApp needs artifacts, store or live');
    if (!options.store) ownedStore = store;
    live = new LiveModel(store, {
      userScore: options.userScore,
      pollMs: options.pollMs,
      warm: async (model) => {
        await Promise.all([VersionData.warm(model), model.warmIndexes()]);
      },
      onSwitch: (from, to) => {
        lastFailure = null;
        lastLogged = '';
        metrics.setVersion(from, to);
        app.log.info({ from, to }, 'serving artifact version');
      },
      onError: (e) => {
        lastFailure = e;
        // A version that cannot be loaded is retried every poll; say so once, not once a second.
        const key = `${(e as { code?: string })?.code}:${(e as Error)?.message}`;
        if (key === lastLogged) return;
        lastLogged = key;
        // A missing, damaged or unreadable version is the deployment's state: a warning without a stack.
        if (isSimrecError(e) && e.code !== 'INTERNAL')
          app.log.warn({ code: e.code, file: e.detail.file }, `artifact version not loaded: ${e.message}`);
        else app.log.error({ err: e }, 'artifact version not loaded');
      },
    });
  } else if (live.current) metrics.setVersion(null, live.current.version);
  const probeStore = store;
  const liveModel = live;
  let eventLog: EventLog | undefined;
  let ownedLog: EventLog | undefined;
  if (options.eventLog) eventLog = options.eventLog;
  else if (options.eventLog === undefined && options.artifacts) {
    try {
      eventLog = ownedLog = openEventLog(options.artifacts, { field: 'artifacts' });
    } catch (e) {
      // A read-only artifact location still serves reads; that it takes no writes is said, not hidden.
      app.log.warn(
        { code: (e as { code?: string }).code },
        `no event log (writes answer 503): ${(e as Error).message}`,
      );
    }
  }
  const overlays =
    options.overlays === false
      ? null
      : (options.overlays ?? liveOverlays({ engagementActions: options.events?.engagementActions }));
  const applier =
    eventLog && overlays
      ? new LogApplier(eventLog, live, overlays, {
          ...options.events,
          onError: (e) => {
            if (isSimrecError(e) && e.code !== 'INTERNAL')
              app.log.warn({ code: e.code }, `event log applier: ${e.message}`);
            else app.log.error({ err: e }, 'event log applier failed');
          },
          onRebase: (version, from) =>
            app.log.info({ version, ...from }, 'event log overlay started for version'),
        })
      : null;
  const events: EventWriting | undefined = eventLog
    ? eventWriting(eventLog, applier, options.events ?? {})
    : undefined;
  if (eventLog) metrics.watchEvents(eventLog, applier);
  const ctx: RouteContext = {
    live,
    use: applier ? (fn) => liveModel.use((m) => fn(applier.view(m))) : (fn) => liveModel.use(fn),
    events,
    applier: applier ?? undefined,
    metrics,
    sources: { ...SOURCE_FACTORIES, ...options.extraSources },
    loadFailure: () => lastFailure,
    probe: probeStore ? (id) => probeStore.probe(id) : undefined,
  };
  app.decorate('simrec', ctx);

  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      {
        // The route template keeps the label set bounded; anything unmatched shares one label.
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
  // A query string is validated like a body: on a route that takes no query parameters, any is unknown. The
  // route's schema gets an empty querystring object, which validation.ts holds to "no other parameters".
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (!schema || schema.hide || schema.querystring || route.url.startsWith('/docs')) return;
    route.schema = { ...schema, querystring: { type: 'object', properties: {} } };
  });

  if (options.pressure) registerLoadShedding(app, options.pressure);
  registerAuth(app, { keys: options.apiKeys ?? [], protectReads: options.protectReads });

  app.addHook('onClose', async () => {
    await applier?.close();
    await ownedLog?.close();
    if (ownsLive) await ctx.live.close();
    await ownedStore?.close();
  });

  if (options.docs !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'simrec',
          version: CODE_VERSION,
          description:
            'SimClusters and dense (MF) candidate retrieval, two-stage recommendations, embeddings and event writes. Errors are `{ "error": { "code", "message", "field"? } }`.',
        },
        tags: [
          {
            name: 'candidates',
            description: 'candidate retrieval: SimClusters ANN, and dense ANN over the MF vectors',
          },
          {
            name: 'recommendations',
            description:
              'two-stage recommendations: every candidate source merged with provenance, filters, the trained ranker, Thompson-sampling exploration, explanations',
          },
          { name: 'embeddings', description: 'sparse SimClusters embeddings' },
          { name: 'clusters', description: 'communities' },
          {
            name: 'events',
            description:
              'writes: user events and catalogue changes, appended durably to the event log and applied by every serving process (API key when keys are configured)',
          },
          { name: 'operations', description: 'health, readiness, metrics' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  registerHealthRoutes(app, ctx);
  registerCandidateRoutes(app, ctx);
  registerRecommendationRoutes(app, ctx);
  registerEmbeddingRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  options.extraRoutes?.(app);

  if (ownsLive) {
    if (options.awaitModel === false) void live.start();
    else await live.start();
  }
  applier?.start();
  await app.ready();
  return app;
}

/** Logger options with the credential headers redacted (on top of any redaction the caller asked for). */
function withRedaction(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return logger;
  const base = logger === true ? {} : logger;
  const given = base.redact;
  const paths = Array.isArray(given) ? given : (given?.paths ?? []);
  const rest = Array.isArray(given) || given === undefined ? {} : given;
  return { ...base, redact: { ...rest, paths: [...paths, ...LOG_REDACT] } };
}

function eventWriting(log: EventLog, applier: LogApplier | null, o: EventOptions): EventWriting {
  return {
    log,
    maxBatch: o.maxBatch ?? EVENT_LIMITS.batchSize,
    maxLagEvents: o.maxLagEvents ?? DEFAULT_MAX_LAG_EVENTS,
    retryAfterSeconds: o.retryAfterSeconds ?? 1,
    engagementActions: o.engagementActions ?? [],
    // Without an applier nothing is applied here, so nothing can lag.
    lagEvents: () => applier?.lagEvents() ?? 0,
    appended: () => applier?.poke(),
  };
}
