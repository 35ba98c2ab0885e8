/**
 * The names under which a build stores its outputs in an artifact version. One place, so the build, the
 * exporter and the server cannot disagree on a key.
 */
export const KEYS = {
  // Id maps (external string id ↔ dense index).
  users: 'ids/users',
  items: 'ids/items',
  topics: 'ids/topics',
  /** Producer index → user index (social case) or item index (catalogue case). */
  producers: 'ids/producers',

  // Inputs as ingested.
  follows: 'graph/follows',
  engagements: 'graph/engagements',
  engagementTs: 'graph/engagements.ts',
  engagementAction: 'graph/engagements.action',
  topicFollows: 'graph/topic-follows',
  itemAuthor: 'items/author',
  itemCreatedTs: 'items/created-ts',
  itemTags: 'items/tags',
} as const;

export type ArtifactKey = (typeof KEYS)[keyof typeof KEYS];
