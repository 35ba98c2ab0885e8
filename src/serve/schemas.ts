/**
 * Request and response schemas of the HTTP API (TypeBox, i.e. JSON Schema): Fastify validates requests against
 * them, serialises responses with them, and publishes them as OpenAPI at /docs. Every list and number a client
 * sends has a cap, so no request can ask for unbounded work.
 */
import Type from 'typebox';
import { ANN_LIMITS } from '../ann/simclusters.ts';
import { USER_ACTIONS } from '../core/event.ts';
import { EVENT_LIMITS } from '../data/events.ts';
import { DENSE_LIMITS } from '../query/dense-model.ts';
import { RECOMMEND_LIMITS } from '../recommend/engine.ts';
import { MAX_SESSION_ITEMS } from '../recommend/subject.ts';
import { INTERESTED_IN_SCORES } from '../simclusters/interested-in.ts';

/**
 * Caps of what a request may send. Where the model's own limits (ANN_LIMITS, DENSE_LIMITS) allow more, the HTTP
 * caps are lower, so one request stays within tens of milliseconds of CPU: a request holds the event loop while
 * it runs, and a 300 ms fold-in would delay every other request, /healthz included, by as much.
 */
export const REQUEST_LIMITS = {
  /** Items of a fold-in history (~30 µs each: 1,000 is ~30 ms). */
  foldInItems: 1_000,
  /** Results returned, both candidate routes and similar items. */
  limit: 1_000,
  /** N: top clusters scanned. */
  topClusters: 200,
  /** M: items read per cluster (N·M bounds the candidates scored). */
  itemsPerCluster: 5_000,
  /** X: candidates kept for the exact step. */
  approxTop: 10_000,
  /** Length of an external id (the event log's limit: an id the log accepts can be asked about). */
  idLength: EVENT_LIMITS.idLength,
  /** Entries of a raw source embedding. */
  embeddingEntries: 10_000,
  /** |score| of a raw embedding entry (well inside float32, whose overflow would turn a cosine into NaN). */
  embeddingScore: 1e9,
  /** Ids in an exclude or allow list. */
  listIds: 10_000,
  /** Entries of each list of GET /v1/clusters/:clusterId. */
  clusterList: 1000,
  /** Age bounds in hours (≈ 11 000 years). */
  ageHours: 1e8,
} as const;

const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: REQUEST_LIMITS.idLength, description });

const Count = (max: number, description: string) => Type.Integer({ minimum: 1, maximum: max, description });

const Pair = Type.Array(Type.Number(), {
  minItems: 2,
  maxItems: 2,
  description: '[clusterId, score]',
});

/** A sparse embedding as [clusterId, score] pairs. */
export const Embedding = Type.Array(Pair, { description: '[clusterId, score] pairs, ascending cluster id' });

const RawEmbedding = Type.Array(
  Type.Array(
    Type.Number({ minimum: -REQUEST_LIMITS.embeddingScore, maximum: REQUEST_LIMITS.embeddingScore }),
    {
      minItems: 2,
      maxItems: 2,
      description: '[clusterId, score]',
    },
  ),
  {
    maxItems: REQUEST_LIMITS.embeddingEntries,
    description: 'a raw embedding: [clusterId, score] pairs, each cluster once',
  },
);

export const Source = Type.Object(
  {
    userId: Type.Optional(Id("a user: their InterestedIn embedding; the user's engaged items are excluded")),
    itemId: Type.Optional(
      Id('an item: its longest embedding when it has one, else its current one; the item itself is excluded'),
    ),
    producerId: Type.Optional(Id("a producer's embedding")),
    topic: Type.Optional(Id("a topic's embedding")),
    embedding: Type.Optional(RawEmbedding),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: 'exactly one of userId, itemId, producerId, topic, embedding',
  },
);

const Scoring = Type.Enum(['dot', 'cosine', 'logCosine', 'candidateNormalized', 'itemNormCosine'], {
  description: 'approximate score of the candidate step (DESIGN §4)',
});
const Rerank = Type.Enum(['exact', 'none'], { description: 'exact cosine over the top approxTop, or none' });
const Mode = Type.Enum(['approx', 'exact'], {
  description: 'approx (the ANN) or exact (exhaustive baseline)',
});
const Hours = (description: string) =>
  Type.Number({ minimum: 0, maximum: REQUEST_LIMITS.ageHours, description });
const IdList = (description: string) =>
  Type.Array(Type.String({ maxLength: REQUEST_LIMITS.idLength }), {
    maxItems: REQUEST_LIMITS.listIds,
    description,
  });

export const CandidateParams = Type.Object(
  {
    topClusters: Type.Optional(
      Count(REQUEST_LIMITS.topClusters, 'N: top clusters of the source scanned (default 50)'),
    ),
    itemsPerCluster: Type.Optional(
      Count(REQUEST_LIMITS.itemsPerCluster, 'M: items read per cluster from its top list (default 400)'),
    ),
    approxTop: Type.Optional(
      Count(REQUEST_LIMITS.approxTop, 'X: candidates kept for the exact step (default 200)'),
    ),
    limit: Type.Optional(Count(REQUEST_LIMITS.limit, 'Y: results returned (default 50)')),
    minScore: Type.Optional(
      Type.Number({ minimum: -1e9, maximum: 1e9, description: 'Z: minimum final score' }),
    ),
    scoring: Type.Optional(Scoring),
    rerank: Type.Optional(Rerank),
    shrinkage: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: ANN_LIMITS.shrinkage,
        description:
          'λ of the shrunk cosine u·W/(‖u‖(‖W‖+λ)), in median item norms: items with little engagement mass rank below well-supported ones that point the same way (default 1; 0 = plain cosine)',
      }),
    ),
    mode: Type.Optional(Mode),
    minAgeHours: Type.Optional(Hours('only items at least this old')),
    maxAgeHours: Type.Optional(Hours('only items at most this old')),
    now: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e11,
        description: 'Unix seconds ages are measured from (default: now)',
      }),
    ),
    exclude: Type.Optional(IdList('item ids never returned')),
    allow: Type.Optional(IdList('when given, only these item ids may be returned')),
  },
  { additionalProperties: false },
);

export const CandidatesBody = Type.Object(
  { source: Source, params: Type.Optional(CandidateParams) },
  { additionalProperties: false },
);

const FoldInItems = Type.Array(Type.String({ maxLength: REQUEST_LIMITS.idLength }), {
  minItems: 1,
  maxItems: REQUEST_LIMITS.foldInItems,
  description:
    'item ids a new user engaged with: folded into a user vector (a few SGD steps, item parameters fixed) and excluded; unknown ids are skipped',
});

const RawVector = Type.Array(
  Type.Number({ minimum: -REQUEST_LIMITS.embeddingScore, maximum: REQUEST_LIMITS.embeddingScore }),
  {
    minItems: 1,
    maxItems: DENSE_LIMITS.vector,
    description:
      'a raw user-side vector of the index dimension (components, user bias, 1), scored by inner product',
  },
);

export const DenseSource = Type.Object(
  {
    userId: Type.Optional(
      Id(
        'a user: their MF vector, their engaged items excluded; a user the model does not know needs items (folded in)',
      ),
    ),
    items: Type.Optional(FoldInItems),
    itemId: Type.Optional(Id('an item: cosine neighbours of its MF embedding; the item itself is excluded')),
    vector: Type.Optional(RawVector),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 2,
    description: 'one of {userId}, {userId, items}, {items}, {itemId}, {vector}',
  },
);

export const DenseParams = Type.Object(
  {
    limit: Type.Optional(Count(REQUEST_LIMITS.limit, 'results returned (default 50)')),
    ef: Type.Optional(
      Count(DENSE_LIMITS.ef, 'HNSW search list size (default: the index setting; raised to limit)'),
    ),
    mode: Type.Optional(
      Type.Enum(['ann', 'exact'], { description: 'ann (the index, default) or exact (every item scored)' }),
    ),
    exclude: Type.Optional(IdList('item ids never returned')),
    allow: Type.Optional(IdList('when given, only these item ids may be returned')),
    // The shared filter's age window (SourceParams), so one body fits every candidates route; the dense
    // indexes hold no item ages, so it does not apply (as in the dense candidate source).
    minAgeHours: Type.Optional(Hours('accepted for the shared body shape; dense items carry no age')),
    maxAgeHours: Type.Optional(Hours('accepted for the shared body shape; dense items carry no age')),
    now: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1e11, description: 'accepted, unused (see minAgeHours)' }),
    ),
  },
  { additionalProperties: false },
);

export const DenseBody = Type.Object(
  { source: DenseSource, params: Type.Optional(DenseParams) },
  { additionalProperties: false },
);

/**
 * The subject of `POST /v1/candidates/:source`: every key a registered source understands (the SimClusters
 * `source` keys and the dense ones). Which combinations a source takes is the source's to say: one it cannot
 * use is a 400 naming `source`. A source that needs no subject (a trending list) takes `{}`.
 */
export const Subject = Type.Object(
  {
    userId: Type.Optional(Id("a user; the user's engaged items are excluded")),
    itemId: Type.Optional(Id('an item; the item itself is excluded')),
    producerId: Type.Optional(Id('a producer (SimClusters)')),
    topic: Type.Optional(Id('a topic (SimClusters)')),
    embedding: Type.Optional(RawEmbedding),
    items: Type.Optional(FoldInItems),
    vector: Type.Optional(RawVector),
  },
  {
    additionalProperties: false,
    maxProperties: 2,
    description:
      'whom or what to retrieve for, as the source understands it: {userId}, {itemId}, {producerId}, {topic}, ' +
      '{embedding} (simclusters); {userId}, {userId, items}, {items}, {itemId}, {vector} (dense)',
  },
);

/** The filter every source shares (query/candidate-source.ts). */
export const SourceParams = Type.Object(
  {
    limit: Type.Optional(Count(REQUEST_LIMITS.limit, 'results returned (default 50)')),
    exclude: Type.Optional(IdList('item ids never returned')),
    allow: Type.Optional(IdList('when given, only these item ids may be returned')),
    minAgeHours: Type.Optional(Hours('only items at least this old (sources that know item ages)')),
    maxAgeHours: Type.Optional(Hours('only items at most this old (sources that know item ages)')),
    now: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e11,
        description: "Unix seconds ages are measured from (default: the version's data time)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SourceCandidatesBody = Type.Object(
  { source: Subject, params: Type.Optional(SourceParams) },
  { additionalProperties: false },
);

export const SourceNameParams = Type.Object({
  source: Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'a registered candidate source: simclusters, dense, ...',
  }),
});

export const SourceCandidatesResponse = Type.Object({
  version: Type.String({ description: 'artifact version answered from' }),
  source: Type.String({ description: 'the candidate source that answered' }),
  candidates: Type.Array(
    Type.Object({
      itemId: Type.String(),
      score: Type.Number({ description: "the source's score (higher is better)" }),
    }),
  ),
  stats: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]), {
    description: 'what the source did (source-specific counters, and the embedding or vector used)',
  }),
});

export const DenseCandidatesResponse = Type.Object({
  version: Type.String({ description: 'artifact version answered from' }),
  source: Type.String({ description: "the vector used: 'mf:user', 'mf:fold-in', 'mf:item' or 'raw'" }),
  candidates: Type.Array(
    Type.Object({
      itemId: Type.String(),
      score: Type.Number({ description: 'inner product (the MF score), or cosine for an item source' }),
    }),
  ),
  params: Type.Object({
    limit: Type.Integer(),
    mode: Type.String(),
    ef: Type.Optional(Type.Integer({ description: 'HNSW search list size, when a graph was searched' })),
    excluded: Type.Integer({
      description: 'items excluded (source item, engaged or folded-in items, exclude)',
    }),
    allowed: Type.Optional(Type.Integer({ description: 'known items of the allow list' })),
  }),
  stats: Type.Object({
    index: Type.String({ description: "'hnsw', 'exact' (a stored exact index) or 'scan' (mode exact)" }),
    indexSize: Type.Integer(),
    itemsScored: Type.Optional(Type.Integer({ description: 'items given a score (scans only)' })),
    foldInItems: Type.Optional(Type.Integer({ description: 'known items of a fold-in history' })),
    foldInSkipped: Type.Optional(Type.Integer({ description: 'unknown ids of a fold-in history' })),
  }),
});

const Candidate = Type.Object({
  itemId: Type.String(),
  score: Type.Number({
    description:
      'final score (exact cosine shrunk by the item evidence, see params.shrinkage, unless rerank is none)',
  }),
  approxScore: Type.Number({ description: 'score of the approximate step' }),
});

const EffectiveParams = Type.Object({
  topClusters: Type.Integer(),
  itemsPerCluster: Type.Integer(),
  approxTop: Type.Integer(),
  limit: Type.Integer(),
  minScore: Type.Number(),
  scoring: Type.String(),
  rerank: Type.String(),
  shrinkage: Type.Number(),
  mode: Type.String(),
  minAgeHours: Type.Optional(Type.Number()),
  maxAgeHours: Type.Optional(Type.Number()),
  now: Type.Optional(Type.Number()),
  excluded: Type.Integer({ description: 'items excluded (source item, engaged items, exclude list)' }),
  allowed: Type.Optional(Type.Integer({ description: 'known items of the allow list' })),
});

const Stats = Type.Object({
  clustersScanned: Type.Integer(),
  candidatesScored: Type.Integer(),
  embeddingsFetched: Type.Integer(),
  fetchedRatio: Type.Number({ description: 'embeddingsFetched / (itemsPerCluster · topClusters)' }),
});

export const CandidatesResponse = Type.Object({
  version: Type.String({ description: 'artifact version answered from' }),
  source: Type.String({
    description:
      "the embedding used, e.g. 'interestedIn:logFavScoreClusterNormalized'; '…+engagedItems' when the user's engaged items outside its InterestedIn's clusters were added; 'engagedItems' for a user whose InterestedIn has no social proof",
  }),
  candidates: Type.Array(Candidate),
  params: EffectiveParams,
  stats: Stats,
});

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
});

export const ItemParams = Type.Object({ itemId: Id('item id') });
export const UserParams = Type.Object({ userId: Id('user id') });
export const ProducerParams = Type.Object({
  id: Id('producer id (a user id, or an item id for catalogues)'),
});
export const TopicParams = Type.Object({ topic: Id('topic') });
export const ClusterParams = Type.Object({
  clusterId: Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'cluster id' }),
});

export const SimilarQuery = Type.Object({
  limit: Type.Optional(Count(REQUEST_LIMITS.limit, 'results (default 50)')),
  source: Type.Optional(
    Type.Enum(['simclusters', 'mf'], {
      description:
        'simclusters (SimClusters ANN; the default) or mf (cosine over MF item embeddings; the default when ' +
        'the version was built with MF only)',
    }),
  ),
});

export const UserEmbeddingQuery = Type.Object({
  score: Type.Optional(
    Type.Enum([...INTERESTED_IN_SCORES], { description: 'InterestedIn kind (default: the server setting)' }),
  ),
});

export const ItemEmbeddingQuery = Type.Object({
  kind: Type.Optional(
    Type.Enum(['current', 'longest', 'auto'], {
      description: 'current (default), longest (empty when none), auto (longest when present)',
    }),
  ),
});

export const ClusterQuery = Type.Object({
  limit: Type.Optional(Count(REQUEST_LIMITS.clusterList, 'entries per list (default 20)')),
});

export const EmbeddingResponse = Type.Object({
  version: Type.String(),
  id: Type.String(),
  kind: Type.String({ description: 'which embedding' }),
  embedding: Embedding,
});

const Ranked = (idName: string) => Type.Array(Type.Object({ [idName]: Type.String(), score: Type.Number() }));

export const ClusterResponse = Type.Object({
  version: Type.String(),
  clusterId: Type.Integer(),
  knownFor: Ranked('producerId'),
  topProducers: Ranked('producerId'),
  topItems: Ranked('itemId'),
  topTopics: Ranked('topic'),
});

export const StatusResponse = Type.Object({
  status: Type.String(),
  version: Type.Optional(Type.String()),
  lag: Type.Optional(
    Type.Object({
      events: Type.Integer({ description: 'event log records this process has not applied yet' }),
      seconds: Type.Number({ description: 'since the oldest of them happened' }),
    }),
  ),
});

/** /readyz's 503: an error (no version, a damaged one), or a status while the log found at start replays. */
export const NotReadyResponse = Type.Union([ErrorResponse, StatusResponse]);

// ---- writes (issue 15) ----------------------------------------------------------------------------------------
// These document the write bodies in OpenAPI; the routes validate them with data/events.ts (see routes/events.ts).

const Time = (description: string) => Type.Number({ description: `${description} (Unix seconds)` });

export const UserEventSchema = Type.Object(
  {
    eventId: Type.Optional(Id('client id of the event: a retry with the same id is not appended twice')),
    userId: Id('the acting user (a user unknown to the version is created)'),
    action: Type.String({
      description: `one of ${USER_ACTIONS.join(', ')}, or an engagement action the server was configured with`,
    }),
    itemId: Type.Optional(Id('the item (fav, unfav, click, impression, hide, engagement actions)')),
    producerId: Type.Optional(Id('the producer (follow, unfollow)')),
    topic: Type.Optional(Id('the topic (topic_follow)')),
    ts: Type.Optional(Time('when it happened (default: when received)')),
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'weight ≥ 0 (default 1)' })),
  },
  { additionalProperties: false },
);

export const EventsBody = Type.Object(
  {
    events: Type.Array(UserEventSchema, {
      maxItems: EVENT_LIMITS.batchSize,
      description: `at most ${EVENT_LIMITS.batchSize} events (413 beyond); appended all or none`,
    }),
  },
  { additionalProperties: false },
);

export const ItemUpsertBody = Type.Object(
  {
    eventId: Type.Optional(Id('client id of the change: a retry with the same id is not appended twice')),
    itemId: Id('the item'),
    authorId: Type.Optional(Id('its author (a producer)')),
    createdTs: Type.Optional(Time('when it was created')),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: EVENT_LIMITS.tagLength }), {
        maxItems: EVENT_LIMITS.tags,
      }),
    ),
  },
  { additionalProperties: false },
);

export const WriteResponse = Type.Object({
  accepted: Type.Integer({ description: 'records appended by this request' }),
  duplicates: Type.Integer({
    description: 'records whose eventId the log already held (not appended again)',
  }),
  offsets: Type.Array(Type.Integer(), {
    description: 'the log offset of each record, in request order (a duplicate: the offset it already had)',
  }),
});

// ---- recommendations (issue 16) -------------------------------------------------------------------------------

const StrategyName = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "a strategy of the served version's build config (`default` unless told); unknown: 400",
});
const ExploreShare = Type.Number({
  minimum: 0,
  maximum: 1,
  description:
    "share of the slots filled by Thompson sampling over the live impression/click counters (default: the strategy's, 0.1 for `default`; 0 turns it off and the answer is deterministic)",
});
const SEED_DESCRIPTION =
  'seed of exploration: the same seed, version and counters give the same answer (default: the user id); a number is taken as its decimal text';

/** The query string of GET /v1/users/:userId/recommendations. */
export const RecommendQuery = Type.Object({
  limit: Type.Optional(
    Count(RECOMMEND_LIMITS.limit, `items returned (default ${RECOMMEND_LIMITS.defaultLimit})`),
  ),
  explain: Type.Optional(
    Type.Boolean({
      description: "true: each item's clusters (with their top producers) and ranker feature contributions",
    }),
  ),
  strategy: Type.Optional(StrategyName),
  explore: Type.Optional(ExploreShare),
  seed: Type.Optional(
    Type.String({ minLength: 1, maxLength: REQUEST_LIMITS.idLength, description: SEED_DESCRIPTION }),
  ),
});

export const RecommendSubjectSchema = Type.Object(
  {
    userId: Type.Optional(
      Id('a user (of the version or only of the live events); unknown: trending, then the catalogue'),
    ),
    items: Type.Optional(
      Type.Array(Type.String({ maxLength: REQUEST_LIMITS.idLength }), {
        minItems: 1,
        maxItems: MAX_SESSION_ITEMS,
        description:
          "a visitor's session: the items engaged with, oldest first (unknown ids skipped); with userId, added to that user's history",
      }),
    ),
    embedding: Type.Optional(RawEmbedding),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 2,
    description: 'one of {userId}, {userId, items}, {items}, {embedding}',
  },
);

const NullableHours = (description: string) =>
  Type.Union([Hours(description), Type.Null()], { description: `${description} (null: unbounded)` });

export const RecommendFiltersSchema = Type.Object(
  {
    exclude: Type.Optional(IdList('item ids never returned')),
    allow: Type.Optional(IdList('when given, only these item ids may be returned')),
    minAgeHours: Type.Optional(NullableHours('only items at least this old')),
    maxAgeHours: Type.Optional(NullableHours('only items at most this old')),
    maxPerAuthor: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: RECOMMEND_LIMITS.limit }), Type.Null()], {
        description: 'at most this many items per author (null: no cap)',
      }),
    ),
    excludeEngaged: Type.Optional(Type.Boolean({ description: 'drop items the subject engaged with' })),
    excludeHidden: Type.Optional(Type.Boolean({ description: 'drop items the user hid' })),
    excludeOwn: Type.Optional(Type.Boolean({ description: "drop the user's own items" })),
    excludeSeen: Type.Optional(Type.Boolean({ description: 'drop items already shown to the user' })),
    now: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e11,
        description: "Unix seconds ages are measured from (default: the served model's time)",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "on top of the strategy's filters (a value given here overrides the strategy's)",
  },
);

export const RecommendBody = Type.Object(
  {
    subject: RecommendSubjectSchema,
    limit: Type.Optional(
      Count(RECOMMEND_LIMITS.limit, `items returned (default ${RECOMMEND_LIMITS.defaultLimit})`),
    ),
    explain: Type.Optional(Type.Boolean({ description: 'explanations per item (see the GET route)' })),
    strategy: Type.Optional(StrategyName),
    explore: Type.Optional(ExploreShare),
    seed: Type.Optional(
      Type.Union(
        [
          Type.String({ minLength: 1, maxLength: REQUEST_LIMITS.idLength }),
          Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
        ],
        { description: SEED_DESCRIPTION },
      ),
    ),
    filters: Type.Optional(RecommendFiltersSchema),
  },
  { additionalProperties: false },
);

const ProvenanceSchema = Type.Object({
  source: Type.String({
    description: 'a candidate source: simclusters, item2item, producers, dense, popular, topics, catalogue',
  }),
  rank: Type.Integer({ description: "0-based rank in that source's list" }),
  score: Type.Number({ description: "the source's score" }),
});

const ExplanationSchema = Type.Object({
  clusters: Type.Array(
    Type.Object({
      clusterId: Type.Integer(),
      contribution: Type.Number({
        description: "subject interest × the item's score on the cluster (its embedding L2-normalised)",
      }),
      subjectScore: Type.Number(),
      itemScore: Type.Number(),
      topProducers: Type.Array(Type.Object({ producerId: Type.String(), score: Type.Number() })),
    }),
    { description: 'the clusters that contributed most to the subject–item match, with their top producers' },
  ),
  features: Type.Array(
    Type.Object({
      name: Type.String(),
      value: Type.Number(),
      weight: Type.Number(),
      contribution: Type.Number({ description: 'weight × value' }),
    }),
    { description: "the ranker's largest contributions (w·x); empty when scored by fusion" },
  ),
  sampledCtr: Type.Optional(
    Type.Number({ description: 'an explored slot: the CTR drawn from its Beta posterior' }),
  ),
});

export const RecommendResponse = Type.Object({
  version: Type.String({ description: 'artifact version answered from' }),
  strategy: Type.String(),
  subject: Type.String({ description: "'user', 'session', 'embedding' or 'unknown-user'" }),
  scoring: Type.String({
    description: "'ranker' (the version's trained ranker) or 'fusion' (reciprocal-rank)",
  }),
  items: Type.Array(
    Type.Object({
      itemId: Type.String(),
      score: Type.Number({ description: "the ranker's engagement probability, or the fused score" }),
      explored: Type.Boolean({ description: 'placed by exploration rather than by rank' }),
      sources: Type.Array(ProvenanceSchema, { description: 'every source that produced the item' }),
      explanation: Type.Optional(ExplanationSchema),
    }),
  ),
  stats: Type.Object({
    sources: Type.Record(
      Type.String(),
      Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()])),
      {
        description: 'per source what it returned, or why it was skipped',
      },
    ),
    candidates: Type.Integer({ description: 'distinct candidates merged' }),
    dropped: Type.Record(Type.String(), Type.Integer(), {
      description: 'candidates filtered out, by reason',
    }),
    explored: Type.Integer({ description: 'items placed by exploration' }),
  }),
});
