import type { FastifyReply, FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { SimrecError } from '../../core/errors.ts';
import type { LogRecord } from '../../core/event.ts';
import { validateEventsBatch, validateItemDelete, validateItemUpsert } from '../../data/events.ts';
import { make, RequestError } from '../errors.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import { ErrorResponse, EventsBody, ItemParams, ItemUpsertBody, WriteResponse } from '../schemas.ts';
import { validatorCompiler } from '../validation.ts';

const ERRORS = {
  400: ErrorResponse,
  401: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
};

/**
 * The write routes' bodies are validated by data/events.ts, which names a bad value as the client wrote it
 * (`events[3].action`) and shares its rules with `simrec events import`; the TypeBox schemas document them in
 * OpenAPI only. Path and query parts are validated as everywhere.
 */
const bodyByDataRules: FastifySchemaCompiler<TSchema> = (route) =>
  route.httpPart === 'body' ? (input: unknown) => ({ value: input }) : validatorCompiler(route);

/**
 * POST /v1/events, POST /v1/items, DELETE /v1/items/:itemId (DESIGN §10; issue 15 items 1, 2): each answers
 * 202 only once its records are durable in the event log, with their offsets; the applier (applier.ts) then
 * brings them into this process's overlay, and every other serving process's applier into its own.
 */
export function registerEventRoutes(app: SimrecFastify, ctx: RouteContext): void {
  const { metrics } = ctx;

  /** Appends validated records, durably, and answers 202; the local applier is told at once. */
  const append = async (reply: FastifyReply, records: LogRecord[]) => {
    const writer = ctx.events;
    if (!writer) throw noLog();
    const r = await writer.log.append(records);
    metrics.eventsAccepted.inc(r.appended);
    metrics.eventsDuplicate.inc(r.duplicates);
    writer.appended();
    return reply.code(202).send({ accepted: r.appended, duplicates: r.duplicates, offsets: r.offsets });
  };

  /** 429 while this process's applier is further behind the log than the bound (memory stays bounded). */
  const backlog = (reply: FastifyReply): FastifyReply | null => {
    const writer = ctx.events;
    if (!writer) throw noLog();
    const lag = writer.lagEvents();
    if (lag <= writer.maxLagEvents) return null;
    metrics.eventsRejected.inc({ reason: 'backlog' });
    return reply
      .code(429)
      .header('retry-after', String(writer.retryAfterSeconds))
      .type('application/json; charset=utf-8')
      .send(
        make(
          429,
          'LOG_BACKLOG',
          `this server is ${lag} records behind the event log (bound ${writer.maxLagEvents}); retry later`,
        ).body,
      );
  };

  /**
   * A bad value is a malformed request: 400 REQUEST_INVALID naming the field as the client wrote it, as a
   * schema violation elsewhere is answered.
   */
  const validated = <T>(validate: () => T): T => {
    try {
      return validate();
    } catch (e) {
      if (!(e instanceof SimrecError && e.code === 'CONFIG_INVALID')) throw e;
      metrics.eventsRejected.inc({ reason: 'invalid' });
      throw new RequestError('REQUEST_INVALID', e.message, e.detail.field, { cause: e });
    }
  };

  app.post(
    '/v1/events',
    {
      config: { write: true },
      validatorCompiler: bodyByDataRules,
      schema: {
        tags: ['events'],
        summary: 'append user events to the event log (202 once durable)',
        description:
          "Answers 202 with the log offsets only once the whole batch is durable (fsync'd). A bad event " +
          'rejects the batch (400 naming `events[i].field`); nothing of it is written. Idempotent on ' +
          '`eventId`: an event whose id the log holds is not appended again (counted in `duplicates`, its ' +
          'existing offset returned). Over the batch limit: 413; while this server applies the log too far ' +
          'behind: 429 with Retry-After.',
        body: EventsBody,
        response: { 202: WriteResponse, ...ERRORS },
      },
    },
    async (request, reply) => {
      const writer = ctx.events;
      if (!writer) throw noLog();
      const body = request.body as { events?: unknown };
      const n = Array.isArray(body?.events) ? body.events.length : 0;
      if (n > writer.maxBatch) {
        metrics.eventsRejected.inc({ reason: 'too_large' });
        throw new RequestError(
          'BODY_TOO_LARGE',
          `the batch holds ${n} events; a batch holds at most ${writer.maxBatch}`,
          'events',
        );
      }
      const refused = backlog(reply);
      if (refused) return refused;
      const events = validated(() =>
        validateEventsBatch(body, {
          // The serving version's declared actions are accepted as well as the server's own option.
          engagementActions: [...writer.engagementActions, ...(ctx.live.current?.engagementActions ?? [])],
          receiveTime: Date.now() / 1000,
          maxBatchSize: writer.maxBatch,
        }),
      );
      return append(reply, events);
    },
  );

  app.post(
    '/v1/items',
    {
      config: { write: true },
      validatorCompiler: bodyByDataRules,
      schema: {
        tags: ['events'],
        summary: 'create or update an item without a rebuild (202 once durable in the event log)',
        description:
          "A new id joins the served items (above the version's) once applied; a known one gets the given " +
          'author, creation time and tags. Idempotent on `eventId`.',
        body: ItemUpsertBody,
        response: { 202: WriteResponse, ...ERRORS },
      },
    },
    async (request, reply) => {
      const refused = backlog(reply);
      if (refused) return refused;
      const event = validated(() => validateItemUpsert(request.body, { receiveTime: Date.now() / 1000 }));
      return append(reply, [event]);
    },
  );

  app.delete(
    '/v1/items/:itemId',
    {
      config: { write: true },
      schema: {
        tags: ['events'],
        summary: 'delete an item: hidden from every answer once applied (202 once durable in the event log)',
        params: ItemParams,
        response: { 202: WriteResponse, ...ERRORS },
      },
    },
    async (request, reply) => {
      const refused = backlog(reply);
      if (refused) return refused;
      const event = validated(() =>
        validateItemDelete(request.params.itemId, { receiveTime: Date.now() / 1000 }),
      );
      return append(reply, [event]);
    },
  );
}

function noLog(): SimrecError {
  return new SimrecError(
    'ARTIFACT_MISSING',
    'this server has no event log (it was started without an artifact location): it takes no writes',
    { field: 'events' },
  );
}
