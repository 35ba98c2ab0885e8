import { isSimrecError, SimrecError } from '../../core/errors.ts';
import type { ServingModel } from '../../query/serving-model.ts';
import { type Recommendation, type RecommendOptions, recommend } from '../../recommend/engine.ts';
import type { RecommendSubject } from '../../recommend/subject.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import { ErrorResponse, RecommendBody, RecommendQuery, RecommendResponse, UserParams } from '../schemas.ts';

const ERRORS = {
  400: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  503: ErrorResponse,
};

const DESCRIPTION =
  'Two-stage recommendations (DESIGN §7): candidates from every source the strategy budgets (SimClusters ANN, ' +
  'item → item from recent engagements, followed and similar producers, dense MF, trending, followed topics) ' +
  "merged with each source's rank and score, filtered (engaged, hidden, own items, age window, allow/deny, per " +
  "author), scored by the version's trained ranker (else reciprocal-rank fusion), with a share of the slots " +
  'explored by Thompson sampling. Answered from the served version with the live event overlay applied, so ' +
  'events already posted count (new users and items, follows, hides, impressions, clicks). An unknown user is ' +
  'not an error: they get trending items, then the catalogue; the list is empty only when the request’s own ' +
  'filters leave nothing.';

/**
 * GET /v1/users/:userId/recommendations and POST /v1/recommendations: the engine's answer (recommend/engine.ts)
 * over the overlay-aware model of the request (RouteContext.use).
 */
export function registerRecommendationRoutes(app: SimrecFastify, { use, metrics }: RouteContext): void {
  const answer = async (
    m: ServingModel,
    subject: RecommendSubject,
    options: RecommendOptions,
    fieldPrefix: string,
  ): Promise<Recommendation> => {
    let r: Recommendation;
    try {
      r = await recommend(m, subject, options);
    } catch (e) {
      throw prefixSubjectField(e, fieldPrefix);
    }
    metrics.recommendations.inc({ strategy: r.strategy, scoring: r.scoring, subject: r.subject });
    metrics.recommendCandidates.inc(r.stats.candidates);
    return r;
  };

  app.get(
    '/v1/users/:userId/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'ranked, filtered, explained recommendations for a user',
        description: DESCRIPTION,
        params: UserParams,
        querystring: RecommendQuery,
        response: { 200: RecommendResponse, ...ERRORS },
      },
    },
    (request) =>
      use((m) => {
        const q = request.query;
        return answer(
          m,
          { userId: request.params.userId },
          {
            limit: q.limit,
            explain: q.explain,
            strategy: q.strategy,
            explore: q.explore,
            seed: q.seed,
          },
          '',
        );
      }),
  );

  app.post(
    '/v1/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary:
          'recommendations for a user, a visitor’s session (`items`) or a raw SimClusters embedding, with filters',
        description: DESCRIPTION,
        body: RecommendBody,
        response: { 200: RecommendResponse, ...ERRORS },
      },
    },
    (request) =>
      use((m) => {
        const b = request.body;
        return answer(
          m,
          toSubject(b.subject),
          {
            limit: b.limit,
            explain: b.explain,
            strategy: b.strategy,
            explore: b.explore,
            // One seed, one answer: 42 and "42" (the GET route's query string) explore alike.
            seed: b.seed === undefined ? undefined : String(b.seed),
            filters: b.filters,
          },
          'subject.',
        );
      }),
  );
}

/**
 * The body's subject as the engine takes it. The schema admits one or two keys; the only pair that means
 * something is a user with session items.
 * @throws CONFIG_INVALID naming `subject` for another pair
 */
function toSubject(s: { userId?: string; items?: string[]; embedding?: number[][] }): RecommendSubject {
  if (s.embedding !== undefined) {
    if (s.userId !== undefined || s.items !== undefined)
      throw new SimrecError('CONFIG_INVALID', 'subject.embedding is given alone (not with userId or items)', {
        field: 'subject',
      });
    return { embedding: s.embedding as [number, number][] };
  }
  if (s.userId !== undefined)
    return s.items === undefined ? { userId: s.userId } : { userId: s.userId, items: s.items };
  return { items: s.items ?? [] };
}

/** The engine names a subject's fields bare (`items`, `embedding.3.0`); the body holds them under `subject`. */
function prefixSubjectField(e: unknown, prefix: string): unknown {
  if (prefix === '' || !isSimrecError(e)) return e;
  const field = e.detail.field;
  if (typeof field !== 'string' || !/^(userId|items|embedding)(\.|$)/.test(field)) return e;
  return new SimrecError(
    e.code,
    `subject: ${e.message}`,
    { ...e.detail, field: `${prefix}${field}` },
    { cause: e },
  );
}
