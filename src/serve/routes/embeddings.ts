import { pairs } from '../../query/answers.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import {
  EmbeddingResponse,
  ErrorResponse,
  ItemEmbeddingQuery,
  ItemParams,
  ProducerParams,
  TopicParams,
  UserEmbeddingQuery,
  UserParams,
} from '../schemas.ts';

const RESPONSES = { 200: EmbeddingResponse, 400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse };

/** GET the sparse embedding of a user, item, producer or topic as [clusterId, score] pairs. */
export function registerEmbeddingRoutes(app: SimrecFastify, { use }: RouteContext): void {
  app.get(
    '/v1/users/:userId/embedding',
    {
      schema: {
        tags: ['embeddings'],
        summary: "a user's InterestedIn embedding",
        params: UserParams,
        querystring: UserEmbeddingQuery,
        response: RESPONSES,
      },
    },
    (request) =>
      use(async (m) => {
        const kind = request.query.score ?? m.userScore;
        const row = await m.userEmbedding(request.params.userId, kind);
        return { version: m.version, id: request.params.userId, kind, embedding: pairs(row) };
      }),
  );

  app.get(
    '/v1/items/:itemId/embedding',
    {
      schema: {
        tags: ['embeddings'],
        summary: "an item's embedding (current, longest, or auto)",
        params: ItemParams,
        querystring: ItemEmbeddingQuery,
        response: RESPONSES,
      },
    },
    (request) =>
      use(async (m) => {
        const { embedding, kind } = await m.itemEmbedding(
          request.params.itemId,
          request.query.kind ?? 'current',
        );
        return { version: m.version, id: request.params.itemId, kind, embedding: pairs(embedding) };
      }),
  );

  app.get(
    '/v1/producers/:id/embedding',
    {
      schema: {
        tags: ['embeddings'],
        summary: "a producer's embedding",
        params: ProducerParams,
        response: RESPONSES,
      },
    },
    (request) =>
      use(async (m) => {
        const row = await m.producerEmbedding(request.params.id, 'id');
        return { version: m.version, id: request.params.id, kind: 'producer', embedding: pairs(row) };
      }),
  );

  app.get(
    '/v1/topics/:topic/embedding',
    {
      schema: {
        tags: ['embeddings'],
        summary: "a topic's embedding",
        params: TopicParams,
        response: RESPONSES,
      },
    },
    (request) =>
      use(async (m) => {
        const row = await m.topicEmbedding(request.params.topic);
        return { version: m.version, id: request.params.topic, kind: 'topic', embedding: pairs(row) };
      }),
  );
}
