/**
 * Topic embeddings (DESIGN §3.6): T[t,c] = cosine(t's follower/engager vector, column c of InterestedIn favScore),
 * the producer-embedding projection with topics in place of producers. A topic's users are its followers when a
 * topic-follow graph is given (social case); otherwise, in the catalogue case, the users who engaged with items
 * carrying the tag (a binary membership: engaging with three items of a genre counts once).
 */
import { CsrMatrix } from '../core/csr.ts';
import {
  checkEngagementLog,
  checkNow,
  checkParam,
  checkRowsSorted,
  type EngagementLog,
  emptyEmbedding,
  pairFav,
  resolveNow,
  shapeError,
} from './embedding-types.ts';
import {
  checkScoreKind,
  type InterestedIn,
  type InterestedInScore,
  interestedInMatrix,
} from './interested-in.ts';
import { projectOntoClusters } from './producer-embeddings.ts';

export interface TopicEmbeddingParams {
  /** Which InterestedIn score is projected (favScore). */
  userScore: InterestedInScore;
  /** Topics with fewer users get no embedding (100 originally; scaled). */
  minFollowers: number;
  /** Entries must be strictly greater than this (0.001). */
  minScore: number;
  /** Clusters kept per topic (50). */
  maxClustersPerTopic: number;
  /** For tag-derived users: engagements after now are ignored; null = the latest event time. */
  now: number | null;
}

/** Defaults: minFollowers scaled from 100 like the producers' (10 social, 5 catalogue). */
export const TOPIC_EMBEDDING_DEFAULTS: Readonly<{
  social: Readonly<TopicEmbeddingParams>;
  catalogue: Readonly<TopicEmbeddingParams>;
}> = Object.freeze({
  social: Object.freeze({
    userScore: 'favScore',
    minFollowers: 10,
    minScore: 0.001,
    maxClustersPerTopic: 50,
    now: null,
  }),
  catalogue: Object.freeze({
    userScore: 'favScore',
    minFollowers: 5,
    minScore: 0.001,
    maxClustersPerTopic: 50,
    now: null,
  }),
});

export interface TopicEmbeddingInput {
  interestedIn: InterestedIn;
  /** users × topics (social case). Takes precedence over tags when given. */
  topicFollows?: CsrMatrix | null;
  /** items × topics (catalogue case), with the engagement log over the same items. */
  itemTags?: CsrMatrix | null;
  engagements?: EngagementLog | null;
}

export interface TopicEmbeddings {
  /** topics × clusters, rows sorted by cluster id. */
  embedding: CsrMatrix;
  /** Where topic users came from. */
  source: 'follows' | 'tags' | 'none';
  stats: { topics: number; eligibleTopics: number; topicsWithEmbedding: number; entries: number };
}

/**
 * users × topics (binary): u is a user of tag t when u's net engagement with some item tagged t is positive
 * (favs after the pair's last unfav, events up to `now`).
 */
export function topicUsersFromTags(
  log: EngagementLog,
  itemTags: CsrMatrix,
  now: number | null = null,
): CsrMatrix {
  const nUsers = log.matrix.nRows;
  const nItems = log.matrix.nCols;
  if (itemTags.nRows !== nItems) {
    throw shapeError(`itemTags has ${itemTags.nRows} items, the log ${nItems}`, 'itemTags');
  }
  checkEngagementLog(log, nUsers, nItems);
  checkRowsSorted(itemTags, 'itemTags');
  const at = resolveNow(log, now);
  const nTopics = itemTags.nCols;
  const mark = new Uint8Array(nTopics);
  const touched = new Int32Array(nTopics);
  const indptr = new Int32Array(nUsers + 1);
  let indices = new Int32Array(Math.max(16, log.matrix.nnz));
  let nnz = 0;
  const lm = log.matrix;
  for (let u = 0; u < nUsers; u++) {
    let nt = 0;
    const end = lm.indptr[u + 1];
    let s = lm.indptr[u];
    while (s < end) {
      const item = lm.indices[s];
      let e = s + 1;
      while (e < end && lm.indices[e] === item) e++;
      const engaged = pairFav(log, s, e, at, null) > 0;
      s = e;
      if (!engaged) continue;
      for (let j = itemTags.indptr[item]; j < itemTags.indptr[item + 1]; j++) {
        const t = itemTags.indices[j];
        if (mark[t] === 0) {
          mark[t] = 1;
          touched[nt++] = t;
        }
      }
    }
    const row = touched.subarray(0, nt).sort();
    if (nnz + nt > indices.length) {
      const grown = new Int32Array(Math.max(indices.length * 2, nnz + nt));
      grown.set(indices.subarray(0, nnz));
      indices = grown;
    }
    for (let j = 0; j < nt; j++) {
      indices[nnz++] = row[j];
      mark[row[j]] = 0;
    }
    indptr[u + 1] = nnz;
  }
  return new CsrMatrix(nUsers, nTopics, indptr, indices.slice(0, nnz), null);
}

export function checkTopicEmbeddingParams(p: TopicEmbeddingParams): void {
  checkScoreKind('topicEmbeddings', 'userScore', p.userScore);
  checkParam('topicEmbeddings', 'minFollowers', p.minFollowers, 0, true);
  checkParam('topicEmbeddings', 'minScore', p.minScore, 0);
  checkParam('topicEmbeddings', 'maxClustersPerTopic', p.maxClustersPerTopic, 0, true);
  checkNow('topicEmbeddings', p.now);
}

/** Topic embeddings (DESIGN §3.6). With neither topic follows nor tags, the result is an empty 0-topic matrix. */
export function computeTopicEmbeddings(
  input: TopicEmbeddingInput,
  params: TopicEmbeddingParams = TOPIC_EMBEDDING_DEFAULTS.social,
): TopicEmbeddings {
  checkTopicEmbeddingParams(params);
  const ii = input.interestedIn;
  let users: CsrMatrix;
  let source: TopicEmbeddings['source'];
  if (input.topicFollows) {
    users = input.topicFollows;
    source = 'follows';
  } else if (input.itemTags && input.engagements) {
    users = topicUsersFromTags(input.engagements, input.itemTags, params.now);
    source = 'tags';
  } else {
    return {
      embedding: emptyEmbedding(input.itemTags ? input.itemTags.nCols : 0, ii.k),
      source: 'none',
      stats: { topics: 0, eligibleTopics: 0, topicsWithEmbedding: 0, entries: 0 },
    };
  }
  const { embedding, eligible } = projectOntoClusters(users, interestedInMatrix(ii, params.userScore), {
    minDegree: Math.max(1, params.minFollowers),
    minScore: params.minScore,
    inclusive: false,
    maxClusters: params.maxClustersPerTopic,
  });
  let topicsWithEmbedding = 0;
  for (let t = 0; t < embedding.nRows; t++) if (embedding.rowNnz(t) > 0) topicsWithEmbedding++;
  return {
    embedding,
    source,
    stats: { topics: users.nCols, eligibleTopics: eligible, topicsWithEmbedding, entries: embedding.nnz },
  };
}
