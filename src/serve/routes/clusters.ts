import { f32 } from '../../query/answers.ts';
import type { RankedList } from '../../query/serving-model.ts';
import type { RouteContext, SimrecFastify } from '../route-context.ts';
import { ClusterParams, ClusterQuery, ClusterResponse, ErrorResponse } from '../schemas.ts';

const DEFAULT_LIMIT = 20;

/** GET /v1/clusters/:clusterId — KnownFor members, top producers, items and topics of a community. */
export function registerClusterRoutes(app: SimrecFastify, { use }: RouteContext): void {
  app.get(
    '/v1/clusters/:clusterId',
    {
      schema: {
        tags: ['clusters'],
        summary: 'a cluster: its KnownFor members and its top producers, items and topics',
        params: ClusterParams,
        querystring: ClusterQuery,
        response: { 200: ClusterResponse, 400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    (request) =>
      use((m) => {
        const v = m.cluster(request.params.clusterId, request.query.limit ?? DEFAULT_LIMIT);
        const named = <K extends string>(list: RankedList, key: K, name: (i: number) => string) =>
          Array.from(
            list.ids,
            (id, j) =>
              ({ [key]: name(id), score: f32(list.scores[j]) }) as Record<K, string> & {
                score: number;
              },
          );
        return {
          version: m.version,
          clusterId: v.clusterId,
          knownFor: named(v.knownFor, 'producerId', (p) => m.producerId(p)),
          topProducers: named(v.topProducers, 'producerId', (p) => m.producerId(p)),
          topItems: named(v.topItems, 'itemId', (i) => m.itemId(i)),
          topTopics: named(v.topTopics, 'topic', (t) => m.topicId(t)),
        };
      }),
  );
}
