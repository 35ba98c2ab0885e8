import { toHttpError } from '../errors.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import { NotReadyResponse, StatusResponse } from '../schemas.ts';

/**
 * /healthz (the process answers: no work, never shed), /readyz (a version is loaded, its files are still
 * there, and the event log found at start is applied), /metrics (Prometheus).
 */
export function registerHealthRoutes(
  app: SimrecFastify,
  { live, metrics, loadFailure, probe, applier }: RouteContext,
): void {
  app.get(
    '/healthz',
    {
      config: { alwaysAnswer: true },
      schema: {
        tags: ['operations'],
        summary: 'liveness: 200 while the process runs (never shed under load)',
        response: { 200: StatusResponse },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { alwaysAnswer: true },
      schema: {
        tags: ['operations'],
        summary:
          'readiness: 200 while a verified artifact version is loaded and its files are still readable, else 503 ' +
          '(ARTIFACT_MISSING: none loaded yet or deleted; ARTIFACT_CORRUPT: current failed verification); ' +
          'with an event log, `lag` says how far this process is behind it (records, and seconds since the ' +
          'oldest unapplied record happened), and until it has applied the log once after starting the answer ' +
          'is 503 with status `replaying` and that lag',
        response: { 200: StatusResponse, 503: NotReadyResponse },
      },
    },
    async (request, reply) => {
      const model = live.current;
      if (!model) {
        const failure = loadFailure();
        const body = failure
          ? toHttpError(failure).body
          : { error: { code: 'ARTIFACT_MISSING' as const, message: 'no artifact version is loaded yet' } };
        return reply.code(503).send(body);
      }
      if (probe) {
        try {
          await probe(model.version);
        } catch (e) {
          const { body } = toHttpError(e);
          request.log.warn({ code: body.error.code }, `not ready: ${(e as Error).message}`);
          return reply.code(503).send(body);
        }
      }
      if (!applier) return { status: 'ready', version: model.version };
      const lag = { events: applier.lagEvents(), seconds: applier.lagSeconds() };
      // Until the log it found at start is applied, this process would answer without those events.
      if (applier.replaying)
        return reply.code(503).send({ status: 'replaying', version: model.version, lag });
      return { status: 'ready', version: model.version, lag };
    },
  );

  app.get(
    '/metrics',
    {
      config: { alwaysAnswer: true },
      schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)' },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
