/**
 * The HTTP application (DESIGN §10): a Fastify instance with the v1 routes, schema validation (TypeBox), OpenAPI
 * at /docs, Prometheus metrics at /metrics, /healthz and /readyz, and the artifact version kept current by a
 * LiveModel. `buildApp` does not listen, so tests drive it through `inject`; `server.ts` listens.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { CODE_VERSION } from '../core/version.ts';
import type { InterestedInScore } from '../simclusters/interested-in.ts';
import { LmdbArtifactStore } from '../store/lmdb/lmdb-store.ts';
import type { ArtifactStore } from '../store/store.ts';
import { handleError, handleNotFound } from './errors.ts';
import { createMetrics, type ServeMetrics } from './metrics.ts';
import { LiveModel } from './model.ts';
import { registerCandidateRoutes } from './routes/candidates.ts';
import { registerClusterRoutes } from './routes/clusters.ts';
import { registerEmbeddingRoutes } from './routes/embeddings.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { validatorCompiler } from './validation.ts';

export type SimrecFastify = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What every route needs. */
export interface RouteContext {
  live: LiveModel;
  metrics: ServeMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    simrec: RouteContext;
  }
}

export const DEFAULT_BODY_LIMIT = 1 << 20;

export interface AppOptions {
  /** Artifact directory (an LMDB artifact store); or give `store`, or a ready `live` model. */
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
}

/**
 * Builds the application. Closing it (`app.close()`) closes the model and its artifact versions, unless a
 * `live` model was passed in, which stays the caller's.
 */
export async function buildApp(options: AppOptions): Promise<SimrecFastify> {
  const ownsLive = options.live === undefined;
  let live = options.live;
  let ownedStore: ArtifactStore | undefined;
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  const app: SimrecFastify = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Ids may be long; the schemas cap them at REQUEST_LIMITS.idLength and answer 400 beyond.
    routerOptions: { maxParamLength: 4096 },
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

  if (!live) {
    const store = options.store ?? (options.artifacts ? new LmdbArtifactStore(options.artifacts) : undefined);
    if (!store) throw new TypeError('buildApp needs artifacts, store or live');
    if (!options.store) ownedStore = store;
    live = new LiveModel(store, {
      userScore: options.userScore,
      pollMs: options.pollMs,
      onSwitch: (from, to) => {
        metrics.setVersion(from, to);
        app.log.info({ from, to }, 'serving artifact version');
      },
      onError: (e) => app.log.error({ err: e }, 'artifact version not loaded'),
    });
  } else if (live.current) metrics.setVersion(null, live.current.version);
  const ctx: RouteContext = { live, metrics };
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
  app.addHook('onClose', async () => {
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
            'SimClusters and dense (MF) candidate retrieval, and embeddings. Errors are `{ "error": { "code", "message", "field"? } }`.',
        },
        tags: [
          {
            name: 'candidates',
            description: 'candidate retrieval: SimClusters ANN, and dense ANN over the MF vectors',
          },
          { name: 'embeddings', description: 'sparse SimClusters embeddings' },
          { name: 'clusters', description: 'communities' },
          { name: 'operations', description: 'health, readiness, metrics' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  registerHealthRoutes(app, ctx);
  registerCandidateRoutes(app, ctx);
  registerEmbeddingRoutes(app, ctx);
  registerClusterRoutes(app, ctx);

  if (ownsLive) {
    if (options.awaitModel === false) void live.start();
    else await live.start();
  }
  await app.ready();
  return app;
}
