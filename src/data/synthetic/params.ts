/**
 * Parameters of the synthetic generators (DESIGN §12) and the presets. A preset is a full `SyntheticParams`
 * at scale 1; `resolveParams` applies overrides, checks every value, and scales the counts.
 */
import { SimrecError } from '../../core/errors.ts';

export type PresetName = 'tiny' | 'small' | 'social' | 'movies' | 'medium';
export type SyntheticKind = 'social' | 'catalogue';

export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'small', 'social', 'movies', 'medium'];

/** The shared genre vocabulary of the catalogue generator (MovieLens' 18 genres). */
export const GENRES: readonly string[] = [
  'Action',
  'Adventure',
  'Animation',
  'Children',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/**
 * Everything a generator run depends on besides preset name, seed and scale. Counts marked "scaled" are
 * multiplied by the scale factor; the rest (laws, rates, times) are not, so community sizes, degrees and
 * per-user rates stay put when the data grows.
 */
export interface SyntheticParams {
  /** `social`: follow graph with producers among the users. `catalogue`: items as producers, ratings. */
  kind: SyntheticKind;
  /** Users, all of them consumers (scaled). */
  users: number;
  /** Social: users that are also producers, a seeded subset (scaled). Catalogue: unused (items produce). */
  producers: number;
  /** Planted communities; taste clusters in the catalogue (scaled, so the mean community size is fixed). */
  communities: number;
  /** Members (producers, or catalogue items) every community has at least. */
  communityMinSize: number;
  /** Zipf exponent of community sizes above the minimum: size_c − min ∝ (c + 1)^−s. */
  communitySizeExponent: number;
  /** Items (tweets, or catalogue movies) (scaled). */
  items: number;
  /** μ: share of follows / engagements that go to a uniformly random producer / item instead of an interest. */
  mixing: number;
  /**
   * Relative weights of a user having 1, 2, 3, … interest communities (taste clusters). The interest weights
   * are a flat Dirichlet draw over the chosen communities; communities are chosen in proportion to their size.
   */
  interestCountWeights: number[];
  /** Social: out-degree law, log-normal with this mean and log-space σ, at least 1, at most `outDegreeMax`. */
  outDegreeMean: number;
  outDegreeSigma: number;
  outDegreeMax: number;
  /** Social: within a community, producer of popularity rank r is followed ∝ (r + 1)^−a. */
  producerPopularityExponent: number;
  /** Item popularity within its community: log-normal factor with this σ. */
  itemPopularitySigma: number;
  /** Social: item popularity also ∝ (author followers + 1)^b; authors are drawn ∝ followers + 1. */
  itemAuthorExponent: number;
  /** Engagements (favs or ratings) per user: log-normal with this mean and σ, clamped to [min, max]. */
  engagementsPerUserMean: number;
  engagementsPerUserSigma: number;
  engagementsPerUserMin: number;
  engagementsPerUserMax: number;
  /** Social: share of favs retracted later by an `unfav` row of the same user and item. */
  unfavShare: number;
  /** Social: mean delay (seconds, exponential) from an item's creation to a fav, and from a fav to its unfav. */
  favDelayMeanSeconds: number;
  unfavDelayMeanSeconds: number;
  /** Social: topics per community (`topic_<c>`, then `topic_<c>_<j>`); items carry their community's topics. */
  topicsPerCommunity: number;
  /** Social: probability that a user follows a given topic of each of its interest communities. */
  topicFollowProbability: number;
  /** Unix seconds where the generated time window starts; every timestamp derives from it. */
  epoch: number;
  /** Length of the window in days: follows and item creation (social), ratings (catalogue) fall inside. */
  windowDays: number;
  /**
   * Social: items are created in the last this-many days of the window. Item embeddings decay with an 8-hour
   * half-life and skip items older than 3 days (DESIGN §3.5), so a social index holds the freshest content; a
   * one-day burst keeps the whole synthetic catalogue alive at build time.
   */
  itemWindowDays: number;
  /** Catalogue: genres each taste cluster favours; the rest of the vocabulary keeps a small background share. */
  genresPerCluster: number;
  /** Catalogue: share of genre mass outside a cluster's favoured genres. */
  genreBackground: number;
  /** Catalogue: relative weights of an item having 1, 2, 3, … genres. */
  itemGenreCountWeights: number[];
  /** Catalogue: ratings 1–5 are round(N(mean, sd)) clamped, with a higher mean inside a user's tastes. */
  inTasteRatingMean: number;
  outOfTasteRatingMean: number;
  ratingSd: number;
  /** Catalogue: items are released over this many days before the window (and its first half). */
  releaseSpanDays: number;
}

/** 2023-11-14T22:13:20Z: a fixed origin so no timestamp depends on when the generator runs. */
export const SYNTHETIC_EPOCH = 1_700_000_000;

const SOCIAL_BASE: SyntheticParams = {
  kind: 'social',
  users: 10_000,
  producers: 1_000,
  communities: 16,
  communityMinSize: 25,
  communitySizeExponent: 0.8,
  items: 10_000,
  mixing: 0.1,
  interestCountWeights: [0.5, 0.35, 0.15],
  outDegreeMean: 10,
  outDegreeSigma: 1,
  outDegreeMax: 2_000,
  producerPopularityExponent: 0.8,
  itemPopularitySigma: 1,
  itemAuthorExponent: 0.5,
  engagementsPerUserMean: 10,
  engagementsPerUserSigma: 1.2,
  engagementsPerUserMin: 0,
  engagementsPerUserMax: 2_000,
  unfavShare: 0.03,
  favDelayMeanSeconds: 12 * 3600,
  unfavDelayMeanSeconds: 6 * 3600,
  topicsPerCommunity: 2,
  topicFollowProbability: 0.3,
  epoch: SYNTHETIC_EPOCH,
  windowDays: 90,
  itemWindowDays: 1,
  genresPerCluster: 3,
  genreBackground: 0.1,
  itemGenreCountWeights: [0.35, 0.45, 0.2],
  inTasteRatingMean: 4.1,
  outOfTasteRatingMean: 2.6,
  ratingSd: 0.9,
  releaseSpanDays: 3650,
};

/** Full parameter sets at scale 1. */
export const PRESETS: Readonly<Record<PresetName, Readonly<SyntheticParams>>> = {
  /** A few hundred users: unit tests, well under a second. */
  tiny: {
    ...SOCIAL_BASE,
    users: 400,
    producers: 60,
    communities: 4,
    communityMinSize: 10,
    items: 400,
    outDegreeMean: 8,
    engagementsPerUserMean: 6,
  },
  /** ~10⁴ users, 10³ producers in 16 communities, ~10⁵ follows: community detection in seconds. */
  small: { ...SOCIAL_BASE },
  /** 10⁵ users, 10⁴ producers, ~1.2·10⁶ follows, 1.2·10⁵ items, ~10⁶ favs. */
  social: {
    ...SOCIAL_BASE,
    users: 100_000,
    producers: 10_000,
    communities: 80,
    communityMinSize: 40,
    items: 120_000,
    outDegreeMean: 12,
  },
  /** ≈10⁶ users, 10⁵ producers in 800 communities, 10⁷ follows, 10⁶ items, 10⁷ engagements. */
  medium: {
    ...SOCIAL_BASE,
    users: 1_000_000,
    producers: 100_000,
    communities: 800,
    communityMinSize: 40,
    items: 1_000_000,
    outDegreeMean: 10,
    engagementsPerUserMean: 10,
  },
  /** A catalogue: 4,000 movies in 20 taste clusters, 6,000 users, ~3·10⁵ ratings. */
  movies: {
    ...SOCIAL_BASE,
    kind: 'catalogue',
    users: 6_000,
    producers: 0,
    communities: 20,
    communityMinSize: 60,
    items: 4_000,
    mixing: 0.15,
    interestCountWeights: [0.6, 0.4],
    itemPopularitySigma: 1.2,
    engagementsPerUserMean: 50,
    engagementsPerUserSigma: 0.9,
    engagementsPerUserMin: 10,
    engagementsPerUserMax: 1_500,
    unfavShare: 0,
    topicsPerCommunity: 0,
    topicFollowProbability: 0,
    windowDays: 730,
  },
};

/** The parameters a run actually uses: the scaled counts, with the community count fitted to the producers. */
export interface ResolvedParams extends SyntheticParams {
  /** The scale the counts were multiplied by. */
  scale: number;
}

function invalid(field: string, message: string): SimrecError {
  return new SimrecError('CONFIG_INVALID', `params.${field} ${message}`, { field });
}

function checkNumber(p: SyntheticParams, field: keyof SyntheticParams, min: number, max = Infinity): void {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(field, `must be a number in [${min}, ${max}], got ${String(v)}`);
  }
}

function checkInt(p: SyntheticParams, field: keyof SyntheticParams, min: number, max = 2 ** 31 - 1): void {
  checkNumber(p, field, min, max);
  if (!Number.isInteger(p[field])) throw invalid(field, `must be an integer, got ${String(p[field])}`);
}

function checkWeights(p: SyntheticParams, field: 'interestCountWeights' | 'itemGenreCountWeights'): void {
  const w = p[field];
  if (!Array.isArray(w) || w.length < 1 || w.length > 8) {
    throw invalid(field, 'must list 1 to 8 weights');
  }
  let sum = 0;
  for (const x of w) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw invalid(field, 'must be finite and ≥ 0');
    sum += x;
  }
  if (!(sum > 0)) throw invalid(field, 'must not all be 0');
}

/**
 * Merges overrides into a preset, validates, and scales users, producers, items and communities. When the
 * scaled producers (items, in a catalogue) cannot give every community its minimum size, fewer communities
 * are planted: the community size is what the preset promises, not the count.
 */
export function resolveParams(
  preset: PresetName,
  overrides: Partial<SyntheticParams> = {},
  scale = 1,
): ResolvedParams {
  const base = PRESETS[preset];
  if (!base) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `unknown preset '${String(preset)}' (${PRESET_NAMES.join(', ')})`,
      {
        field: 'preset',
      },
    );
  }
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new SimrecError('CONFIG_INVALID', `scale must be a positive number, got ${String(scale)}`, {
      field: 'scale',
    });
  }
  const p: SyntheticParams = { ...base, ...overrides };
  if (p.kind !== 'social' && p.kind !== 'catalogue') {
    throw invalid('kind', `must be 'social' or 'catalogue', got '${String(p.kind)}'`);
  }
  const social = p.kind === 'social';
  checkInt(p, 'users', 2);
  if (social) checkInt(p, 'producers', 2);
  checkInt(p, 'communities', 1);
  checkInt(p, 'communityMinSize', 1);
  checkNumber(p, 'communitySizeExponent', 0, 10);
  checkInt(p, 'items', social ? 0 : 1);
  checkNumber(p, 'mixing', 0, 1);
  checkWeights(p, 'interestCountWeights');
  checkNumber(p, 'outDegreeMean', 1, 1e6);
  checkNumber(p, 'outDegreeSigma', 0, 5);
  checkInt(p, 'outDegreeMax', 1);
  checkNumber(p, 'producerPopularityExponent', 0, 10);
  checkNumber(p, 'itemPopularitySigma', 0, 5);
  checkNumber(p, 'itemAuthorExponent', 0, 5);
  checkNumber(p, 'engagementsPerUserMean', 0, 1e6);
  checkNumber(p, 'engagementsPerUserSigma', 0, 5);
  checkInt(p, 'engagementsPerUserMin', 0);
  checkInt(p, 'engagementsPerUserMax', 0);
  if (p.engagementsPerUserMax < p.engagementsPerUserMin) {
    throw invalid('engagementsPerUserMax', 'must be ≥ params.engagementsPerUserMin');
  }
  checkNumber(p, 'unfavShare', 0, 1);
  checkNumber(p, 'favDelayMeanSeconds', 0, 1e9);
  checkNumber(p, 'unfavDelayMeanSeconds', 0, 1e9);
  checkInt(p, 'topicsPerCommunity', 0, 100);
  checkNumber(p, 'topicFollowProbability', 0, 1);
  checkInt(p, 'epoch', 0, 4e9);
  checkNumber(p, 'windowDays', 1 / 86400, 36500);
  checkNumber(p, 'itemWindowDays', 1 / 86400, p.windowDays);
  checkInt(p, 'genresPerCluster', 1, GENRES.length);
  checkNumber(p, 'genreBackground', 0, 1);
  checkWeights(p, 'itemGenreCountWeights');
  if (p.itemGenreCountWeights.length > GENRES.length) {
    throw invalid('itemGenreCountWeights', `must list at most ${GENRES.length} weights`);
  }
  checkNumber(p, 'inTasteRatingMean', 1, 5);
  checkNumber(p, 'outOfTasteRatingMean', 1, 5);
  checkNumber(p, 'ratingSd', 0, 10);
  checkNumber(p, 'releaseSpanDays', 0, 36500);

  const scaled = (n: number, min: number) => Math.max(min, Math.round(n * scale));
  const users = scaled(p.users, 2);
  const items = scaled(p.items, social ? 0 : 1);
  const producers = social ? Math.min(users, scaled(p.producers, 2)) : items;
  const members = producers;
  let communities = scaled(p.communities, 1);
  let communityMinSize = p.communityMinSize;
  if (communities * communityMinSize > members) {
    communities = Math.max(1, Math.floor(members / communityMinSize));
    communityMinSize = Math.min(communityMinSize, Math.floor(members / communities));
  }
  return {
    ...p,
    interestCountWeights: [...p.interestCountWeights],
    itemGenreCountWeights: [...p.itemGenreCountWeights],
    users,
    producers,
    items,
    communities,
    communityMinSize,
    scale,
  };
}
