import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import type { AnnParams } from '../../ann/simclusters.ts';
import { candidatesJsonText, denseCandidatesJson } from '../../query/answers.ts';
import type { DenseFilters, DenseResult, DenseSource } from '../../query/dense-model.ts';
import type {
  CandidateFilters,
  CandidateResult,
  QuerySubject,
  ServingModel,
} from '../../query/serving-model.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import {
  CandidatesBody,
  CandidatesResponse,
  DenseBody,
  DenseCandidatesResponse,
  ErrorResponse,
  ItemParams,
  SimilarQuery,
} from '../schemas.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

const ERRORS = {
  400: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  503: ErrorResponse,
};

/** POST /v1/candidates/simclusters, POST /v1/candidates/dense and GET /v1/items/:itemId/similar. */
export function registerCandidateRoutes(app: SimrecFastify, { live, metrics }: RouteContext): void {
  // The SimClusters answer is written as JSON text and sent as is (see candidatesJsonText); the response
  // schema still documents it in OpenAPI.
  const answer = (
    reply: FastifyReply,
    m: ServingModel,
    r: CandidateResult,
    filters: CandidateFilters,
  ): FastifyReply => {
    metrics.candidatesScored.inc(r.result.stats.candidatesScored);
    return reply.type(JSON_TYPE).send(candidatesJsonText(m, r, filters) as never);
  };
  const answerDense = (m: ServingModel, r: DenseResult) => {
    metrics.denseQueries.inc({ source: r.sourceEmbedding, mode: r.params.mode });
    return denseCandidatesJson(m, r);
  };

  app.post(
    '/v1/candidates/simclusters',
    {
      schema: {
        tags: ['candidates'],
        summary: 'SimClusters ANN candidates for a user, item, producer, topic or raw embedding',
        body: CandidatesBody,
        response: { 200: CandidatesResponse, ...ERRORS },
      },
    },
    (request, reply) =>
      live.use(async (m) => {
        const { exclude, allow, minAgeHours, maxAgeHours, now, ...ann } = request.body.params ?? {};
        const filters: CandidateFilters = { exclude, allow, minAgeHours, maxAgeHours, now };
        const r = await m.candidates(toSource(request.body.source), ann as Partial<AnnParams>, filters);
        return answer(reply, m, r, filters);
      }),
  );

  app.post(
    '/v1/candidates/dense',
    {
      schema: {
        tags: ['candidates'],
        summary:
          'dense (MF) candidates for a user, a new user folded in from their items, an item, or a raw vector',
        description:
          'A known user is searched with their MF vector (inner product = the model score), their engaged items ' +
          'excluded. A user the model does not know needs `items` (the ids they engaged with): a few SGD steps ' +
          'on a fresh user row with the item parameters fixed give their vector; `{items}` alone is an ' +
          'anonymous user. Unknown ids in `items` are skipped; when none is known the answer is 404 naming ' +
          '`source.items`. An item is searched by cosine over its MF embedding. `mode: "exact"` scores every item.',
        body: DenseBody,
        response: { 200: DenseCandidatesResponse, ...ERRORS },
      },
    },
    (request) =>
      live.use(async (m) => {
        const { exclude, allow, ...params } = request.body.params ?? {};
        const filters: DenseFilters = { exclude, allow };
        const r = await m.denseCandidates(request.body.source as DenseSource, params, filters);
        return answerDense(m, r);
      }),
  );

  app.get(
    '/v1/items/:itemId/similar',
    {
      schema: {
        tags: ['candidates'],
        summary:
          'items similar to an item: by SimClusters ANN (its longest embedding when it has one; the default) or, ' +
          'with source=mf (the default for a version built with MF only), by cosine over MF item embeddings',
        params: ItemParams,
        querystring: SimilarQuery,
        response: { 200: Type.Union([CandidatesResponse, DenseCandidatesResponse]), ...ERRORS },
      },
    },
    (request, reply) =>
      live.use(async (m) => {
        const itemId = request.params.itemId;
        m.itemIndex(itemId, 'itemId');
        const limit = request.query.limit;
        // Unasked, a version built with MF only answers from MF rather than refusing.
        const source = request.query.source ?? (m.hasSimClusters || !m.hasDense ? 'simclusters' : 'mf');
        if (source === 'mf') {
          const r = await m.denseCandidates({ itemId }, limit === undefined ? {} : { limit });
          return answerDense(m, r);
        }
        const r = await m.candidates({ itemId }, limit === undefined ? {} : { limit });
        return answer(reply, m, r, {});
      }),
  );
}

/** The request's source object (the schema admits exactly one key) as a QuerySubject. */
function toSource(s: {
  userId?: string;
  itemId?: string;
  producerId?: string;
  topic?: string;
  embedding?: number[][];
}): QuerySubject {
  if (s.userId !== undefined) return { userId: s.userId };
  if (s.itemId !== undefined) return { itemId: s.itemId };
  if (s.producerId !== undefined) return { producerId: s.producerId };
  if (s.topic !== undefined) return { topic: s.topic };
  return { embedding: (s.embedding ?? []) as [number, number][] };
}
