/**
 * The types a route module and the application share: the Fastify instance simrec builds and what every route
 * needs. Apart from app.ts so routes and load shedding depend on these types, not on the application that
 * registers them.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { CandidateSource } from '../query/candidate-source.ts';
import type { LiveModel, ServingModel } from '../query/serving-model.ts';
import type { ServeMetrics } from './metrics.ts';

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
  /** Candidate source factories by name (the registry's, plus any the application was given). */
  sources: Readonly<Record<string, (model: ServingModel) => CandidateSource | null>>;
  /** Why the current version is not served (it failed to load), or null; for /readyz. */
  loadFailure(): unknown;
  /**
   * Checks that the served version's files are still there and readable (for /readyz); absent when the
   * application was given a ready model and no store. @throws ARTIFACT_MISSING, ARTIFACT_IO
   */
  probe?: (versionId: string) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    simrec: RouteContext;
  }
  interface FastifyContextConfig {
    /** Never shed under pressure: liveness, readiness and metrics must answer most when the server struggles. */
    alwaysAnswer?: boolean;
    /** A route that changes state (events, items): needs an API key whenever keys are configured (auth.ts). */
    write?: boolean;
  }
}
