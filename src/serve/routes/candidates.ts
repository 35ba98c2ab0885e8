import type { AnnParams } from '../../ann/simclusters.ts';
import type { RouteContext, SimrecFastify } from '../app.ts';
import type { CandidateFilters, CandidateResult, CandidateSource, ServingModel } from '../model.ts';
import { CandidatesBody, CandidatesResponse, ErrorResponse, ItemParams, SimilarQuery } from '../schemas.ts';
import { candidatesJson } from './format.ts';

const ERRORS = {
  400: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  503: ErrorResponse,
};

/** POST /v1/candidates/simclusters and GET /v1/items/:itemId/similar. */
export function registerCandidateRoutes(app: SimrecFastify, { live, metrics }: RouteContext): void {
  const answer = (m: ServingModel, r: CandidateResult, filters: CandidateFilters) => {
    metrics.candidatesScored.inc(r.result.stats.candidatesScored);
    return candidatesJson(m, r, filters);
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
    (request) =>
      live.use(async (m) => {
        const { exclude, allow, minAgeHours, maxAgeHours, now, ...ann } = request.body.params ?? {};
        const filters: CandidateFilters = { exclude, allow, minAgeHours, maxAgeHours, now };
        const r = await m.candidates(toSource(request.body.source), ann as Partial<AnnParams>, filters);
        return answer(m, r, filters);
      }),
  );

  app.get(
    '/v1/items/:itemId/similar',
    {
      schema: {
        tags: ['candidates'],
        summary: 'items similar to an item (its longest embedding when it has one), by SimClusters ANN',
        params: ItemParams,
        querystring: SimilarQuery,
        response: { 200: CandidatesResponse, ...ERRORS },
      },
    },
    (request) =>
      live.use(async (m) => {
        const itemId = request.params.itemId;
        m.itemIndex(itemId, 'itemId');
        const limit = request.query.limit;
        const r = await m.candidates({ itemId }, limit === undefined ? {} : { limit });
        return answer(m, r, {});
      }),
  );
}

/** The request's source object (the schema admits exactly one key) as a CandidateSource. */
function toSource(s: {
  userId?: string;
  itemId?: string;
  producerId?: string;
  topic?: string;
  embedding?: number[][];
}): CandidateSource {
  if (s.userId !== undefined) return { userId: s.userId };
  if (s.itemId !== undefined) return { itemId: s.itemId };
  if (s.producerId !== undefined) return { producerId: s.producerId };
  if (s.topic !== undefined) return { topic: s.topic };
  return { embedding: (s.embedding ?? []) as [number, number][] };
}
