/**
 * The build configuration: a TypeBox schema (validated, unknown keys rejected) whose defaults are the DESIGN
 * defaults. Stage sections hold overrides only; a stage fills what is not given from its own defaults, which
 * differ between the social and the catalogue case. Every key is documented in docs/config.md (a test keeps the
 * two in step).
 */
import Type, { type Static, type TSchema } from 'typebox';
import { DEFAULT_MF_PARAMS } from '../mf/params.ts';
import { StrategySchema } from '../recommend/strategy.ts';
import { INTERESTED_IN_DEFAULTS } from '../simclusters/interested-in.ts';
import { ITEM_EMBEDDING_DEFAULTS } from '../simclusters/item-embeddings.ts';
import { KNOWN_FOR_DEFAULTS } from '../simclusters/known-for.ts';
import type { SimClustersParams } from '../simclusters/pipeline.ts';
import { PRODUCER_EMBEDDING_DEFAULTS } from '../simclusters/producer-embeddings.ts';
import { SIMILARITY_DEFAULTS } from '../simclusters/similarity.ts';
import { TOPIC_EMBEDDING_DEFAULTS } from '../simclusters/topic-embeddings.ts';
import { readConfigFile, validateConfig } from './config-loader.ts';
import type { MfStageConfig } from './mf-stage.ts';

const closed = { additionalProperties: false } as const;

export const IngestSchema = Type.Object(
  {
    format: Type.Union([Type.Literal('auto'), Type.Literal('canonical'), Type.Literal('movielens')], {
      default: 'auto',
      description: 'Input layout: canonical files, a MovieLens directory, or auto-detect.',
    }),
    skipBadRows: Type.Boolean({ default: false, description: 'Count and skip bad rows instead of failing.' }),
    minRating: Type.Number({
      default: 0,
      minimum: 0,
      description: 'MovieLens: keep ratings ≥ this as positive engagements (0 keeps all; weight = rating).',
    }),
    notBefore: Type.Number({
      default: 0,
      description: 'Earliest plausible timestamp (Unix seconds); earlier ones are bad rows.',
    }),
    notAfter: Type.Union([Type.Number(), Type.Null()], {
      default: null,
      description: 'Latest plausible timestamp (Unix seconds); null = ingest time + maxFutureSeconds.',
    }),
    maxFutureSeconds: Type.Number({
      default: 86400,
      minimum: 0,
      description: 'With notAfter null: timestamps later than the ingest time plus this are bad rows.',
    }),
  },
  { ...closed, default: {} },
);

/**
 * A stage section's schema, derived from the stage's own defaults so the two cannot drift: each key takes the
 * type of its default (a null default means "number or null", an 'auto' default "number or 'auto'"). Values are range-checked by the stage itself,
 * which names the key in its error.
 */
function overridesOf(...variants: object[]): TSchema {
  const props: Record<string, TSchema> = {};
  const nullable = new Set(
    variants.flatMap((d) =>
      Object.entries(d)
        .filter(([, v]) => v === null)
        .map(([k]) => k),
    ),
  );
  for (const [key, value] of Object.entries(variants[0])) {
    if (value === 'auto') props[key] = Type.Optional(Type.Union([Type.Number(), Type.Literal('auto')]));
    else if (value === null || nullable.has(key))
      props[key] = Type.Optional(Type.Union([Type.Number(), Type.Null()]));
    else if (typeof value === 'number') props[key] = Type.Optional(Type.Number());
    else if (typeof value === 'boolean') props[key] = Type.Optional(Type.Boolean());
    else props[key] = Type.Optional(Type.String());
  }
  return Type.Object(props, { ...closed, default: {} });
}

export const SimClustersSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Run the SimClusters stages (DESIGN §3).' }),
    graph: Type.Union([Type.Literal('auto'), Type.Literal('follows'), Type.Literal('engagements')], {
      default: 'auto',
      description:
        'Graph the communities are found on: follows, the user–item engagements, or auto (follows when items have authors or follows outnumber engagements).',
    }),
    similarity: overridesOf(SIMILARITY_DEFAULTS),
    knownFor: overridesOf(KNOWN_FOR_DEFAULTS),
    interestedIn: overridesOf(INTERESTED_IN_DEFAULTS.social, INTERESTED_IN_DEFAULTS.catalogue),
    producerEmbeddings: overridesOf(
      PRODUCER_EMBEDDING_DEFAULTS.social,
      PRODUCER_EMBEDDING_DEFAULTS.catalogue,
    ),
    itemEmbeddings: overridesOf(ITEM_EMBEDDING_DEFAULTS.social, ITEM_EMBEDDING_DEFAULTS.catalogue),
    topicEmbeddings: overridesOf(TOPIC_EMBEDDING_DEFAULTS.social, TOPIC_EMBEDDING_DEFAULTS.catalogue),
    topTopicsPerCluster: Type.Integer({
      default: 50,
      minimum: 1,
      description: 'Topics per cluster in the cluster → topics index.',
    }),
  },
  { ...closed, default: {} },
);

export const MfSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Train the hybrid MF model and its dense index (the default strategy’s dense source).',
    }),
    epochs: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 10_000,
      description: 'Passes over the positives.',
    }),
    itemFeatures: Type.Boolean({ default: true, description: 'Use item tags as side features.' }),
    minWeight: Type.Number({
      default: 0,
      minimum: 0,
      description: 'Positive events lighter than this do not count.',
    }),
    recallQueries: Type.Integer({
      default: 200,
      minimum: 0,
      description: 'User vectors used to measure the index recall.',
    }),
    params: overridesOf(DEFAULT_MF_PARAMS),
  },
  { ...closed, default: {} },
);

export const EventsSchema = Type.Object(
  {
    absorb: Type.Union([Type.Literal('auto'), Type.Boolean()], {
      default: 'auto',
      description:
        "Read the output location's event log as input together with the data: 'auto' when the location has one.",
    }),
    engagementActions: Type.Array(
      Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' }),
      {
        default: [],
        maxItems: 32,
        description:
          'Event actions that count as engagements besides fav (e.g. share, purchase); the server accepts them in POST /v1/events.',
      },
    ),
  },
  { ...closed, default: {} },
);

export const RankerSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Train the two-stage ranker (DESIGN §7).',
    }),
    split: Type.Union([Type.Literal('auto'), Type.Literal('time'), Type.Literal('user')], {
      default: 'auto',
      description:
        "How the training labels are held out: 'time' (the latest engagements), 'user' (a random share of each sampled user's items), 'auto' (time when most users engaging in the time split's training window engaged before it, else user).",
    }),
    trainFraction: Type.Number({
      default: 0.8,
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description:
        "Share of the timed engagements in the pre-split state the candidates come from (time split); share of each sampled user's positive items kept in it (user split).",
    }),
    holdoutFraction: Type.Number({
      default: 0.1,
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description: 'Share of the timed engagements, the latest, held out to measure the ranker.',
    }),
    trainUsers: Type.Integer({
      default: 400,
      minimum: 1,
      description: 'Users sampled for training examples.',
    }),
    evalUsers: Type.Integer({
      default: 200,
      minimum: 1,
      description: 'Users sampled for the held-out slice.',
    }),
    negativesPerUser: Type.Integer({
      default: 50,
      minimum: 1,
      description: 'Negatives sampled per training user (weighted back to the candidate distribution).',
    }),
    l2: Type.Union([Type.Number({ minimum: 0 }), Type.Literal('auto')], {
      default: 'auto',
      description:
        "L2 penalty on the weights, or 'auto': chosen among 1e-5..1e-1 by 3-fold cross-validation over the training users (weighted logloss).",
    }),
    bits: Type.Integer({
      default: 16,
      minimum: 8,
      maximum: 24,
      description: 'Hashed feature slots: 2^bits.',
    }),
    maxIterations: Type.Integer({ default: 200, minimum: 1, description: 'L-BFGS iterations at most.' }),
  },
  { ...closed, default: {} },
);

export const RecommendSchema = Type.Object(
  {
    strategies: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), StrategySchema, {
      default: {},
      description:
        'Named strategies (source budgets, ranker on/off, exploration share, filters) over the built-in default; `default` overrides the default.',
    }),
  },
  { ...closed, default: {} },
);

export const BuildConfigSchema = Type.Object(
  {
    seed: Type.Integer({ default: 1, description: 'Seed of every randomised stage.' }),
    threads: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 256,
      description: 'Worker threads for parallel stages.',
    }),
    ingest: IngestSchema,
    simclusters: SimClustersSchema,
    mf: MfSchema,
    events: EventsSchema,
    ranker: RankerSchema,
    recommend: RecommendSchema,
  },
  closed,
);

export type BuildConfig = Omit<Static<typeof BuildConfigSchema>, 'simclusters' | 'mf'> & {
  mf: MfStageConfig;
  simclusters: SimClustersParams & {
    enabled: boolean;
    topTopicsPerCluster: number;
    graph?: 'auto' | 'follows' | 'engagements';
  };
};

/**
 * The effective config: defaults, then the file (if any), then command-line overrides (highest precedence).
 */
export function resolveBuildConfig(
  file: string | undefined,
  overrides: Record<string, unknown> = {},
): BuildConfig {
  const fromFile = file ? readConfigFile(file) : {};
  const merged = deepMerge(typeof fromFile === 'object' && fromFile !== null ? fromFile : {}, overrides);
  return validateConfig<BuildConfig>(BuildConfigSchema, merged, file ?? 'config');
}

function deepMerge(base: object, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev, v as Record<string, unknown>)
        : v;
  }
  return out;
}
