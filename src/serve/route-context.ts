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
import type { EventLog } from '../store/event-log.ts';
import type { LogApplier } from './applier.ts';
import type { ServeMetrics } from './metrics.ts';

export type SimrecFastify = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What the write routes need: the event log and the applier's state (applier.ts). */
export interface EventWriting {
  readonly log: EventLog;
  /** Events one POST /v1/events batch may hold (413 beyond). */
  readonly maxBatch: number;
  /** Records this process may lag behind the log before writes get 429 (memory stays bounded). */
  readonly maxLagEvents: number;
  /** The Retry-After of a 429, seconds. */
  readonly retryAfterSeconds: number;
  /** Engagement actions accepted beside the built-in user actions. */
  readonly engagementActions: readonly string[];
  /** Records in the log this process has not applied yet. */
  lagEvents(): number;
  /** Tells the applier a local append landed, so it reads now rather than at its next poll. */
  appended(): void;
}

/** What every route needs. */
export interface RouteContext {
  live: LiveModel;
  /**
   * Runs fn with the model to answer from: the current version (pinned until fn settles) with this process's
   * overlay of the event log applied, when there is one. @throws ARTIFACT_MISSING before a version is loaded
   */
  use<T>(fn: (model: ServingModel) => T | Promise<T>): Promise<T>;
  metrics: ServeMetrics;
  /** Candidate source factories by name (the registry's, plus any the application was given). */
  sources: Readonly<Record<string, (model: ServingModel) => CandidateSource | null>>;
  /** The event log and its applier; absent when the application has no artifact location (no writes). */
  events?: EventWriting;
  /** This process's log applier (lag for /readyz); absent without a log or an overlay factory. */
  applier?: LogApplier;
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
