import type { RouteContext, SimrecFastify } from '../app.ts';
import { ErrorResponse, StatusResponse } from '../schemas.ts';

/** /healthz (the process answers), /readyz (a version is loaded), /metrics (Prometheus). */
export function registerHealthRoutes(app: SimrecFastify, { live, metrics }: RouteContext): void {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'liveness: 200 while the process runs',
        response: { 200: StatusResponse },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'readiness: 200 once an artifact version is loaded, else 503',
        response: { 200: StatusResponse, 503: ErrorResponse },
      },
    },
    async (_request, reply) => {
      const model = live.current;
      if (!model)
        return reply.code(503).send({
          error: { code: 'ARTIFACT_MISSING', message: 'no artifact version is loaded yet' },
        });
      return { status: 'ready', version: model.version };
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
