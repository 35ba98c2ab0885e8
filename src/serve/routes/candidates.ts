import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import type { AnnParams } from '../../ann/simclusters.ts';
import { SimrecError } from '../../core/errors.ts';
import { candidatesJsonText, denseCandidatesJson, f32 } from '../../query/answers.ts';
import type { CandidateSource, CandidateSubject } from '../../query/candidate-source.ts';
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
  SourceCandidatesBody,
  SourceCandidatesResponse,
  SourceNameParams,
} from '../schemas.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

const ERRORS = {
  400: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  503: ErrorResponse,
};

/** Results of the generic route when `params.limit` is not given (as the source-specific routes). */
const DEFAULT_LIMIT = 50;

/**
 * POST /v1/candidates/:source (any registered source), its aliases POST /v1/candidates/simclusters and
 * POST /v1/candidates/dense (their own bodies and answers, with every parameter of their source), and
 * GET /v1/items/:itemId/similar.
 */
export function registerCandidateRoutes(app: SimrecFastify, { use, metrics, sources }: RouteContext): void {
  const sourceOf = sourceLookup(sources);
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
      use(async (m) => {
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
      use(async (m) => {
        const { exclude, allow, ...params } = request.body.params ?? {};
        const filters: DenseFilters = { exclude, allow };
        const r = await m.denseCandidates(request.body.source as DenseSource, params, filters);
        return answerDense(m, r);
      }),
  );

  // The static alias routes above take precedence over this parametric one in Fastify's router.
  app.post(
    '/v1/candidates/:source',
    {
      schema: {
        tags: ['candidates'],
        summary: 'candidates from any registered source, with the filter every source shares',
        description:
          `Sources: ${Object.keys(sources).join(', ')} (simclusters and dense are answered by their own ` +
          'routes, which take this body too). The subject keys a source takes are its own ' +
          '(a subject it cannot use is a 400 naming `source`); an unknown source is a 404 naming `source`, and ' +
          'a source the served version was built without is a 503 ARTIFACT_MISSING. The source-specific ' +
          "routes take the source's own parameters too (N, M, X for SimClusters; ef and mode for dense).",
        params: SourceNameParams,
        body: SourceCandidatesBody,
        response: { 200: SourceCandidatesResponse, ...ERRORS },
      },
    },
    (request) =>
      use(async (m) => {
        const name = request.params.source;
        const source = sourceOf(m, name);
        const { limit = DEFAULT_LIMIT, ...filter } = request.body.params ?? {};
        const r = await source.retrieve(request.body.source as CandidateSubject, limit, filter);
        metrics.sourceQueries.inc({ source: name });
        if (typeof r.stats.candidatesScored === 'number')
          metrics.candidatesScored.inc(r.stats.candidatesScored);
        const candidates = new Array<{ itemId: string; score: number }>(r.items.length);
        for (let j = 0; j < r.items.length; j++)
          candidates[j] = { itemId: m.itemId(r.items[j]), score: f32(r.scores[j]) };
        return { version: m.version, source: name, candidates, stats: r.stats };
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
      use(async (m) => {
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

/**
 * The named source over a model, each version's sources built once on first use (a source is a view of its
 * model).
 * @throws NOT_FOUND (field `source`) for a name no factory registers; ARTIFACT_MISSING when the version lacks
 *   what the source needs
 */
function sourceLookup(
  factories: RouteContext['sources'],
): (m: ServingModel, name: string) => CandidateSource {
  const built = new WeakMap<ServingModel, Map<string, CandidateSource | null>>();
  return (m, name) => {
    const make = Object.hasOwn(factories, name) ? factories[name] : undefined;
    if (!make)
      throw new SimrecError(
        'NOT_FOUND',
        `unknown candidate source '${name}'; sources: ${Object.keys(factories).join(', ')}`,
        { field: 'source' },
      );
    let ofModel = built.get(m);
    if (!ofModel) {
      ofModel = new Map();
      built.set(m, ofModel);
    }
    let source = ofModel.get(name);
    if (source === undefined) {
      source = make(m);
      ofModel.set(name, source);
    }
    if (!source)
      throw new SimrecError('ARTIFACT_MISSING', `version ${m.version} was built without the ${name} source`, {
        field: 'source',
      });
    return source;
  };
}
