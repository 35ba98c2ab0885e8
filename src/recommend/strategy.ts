/**
 * Named recommendation strategies (issue 16 item 8): per candidate source a budget (0 turns it off), the ranker
 * on or off, the exploration share and the filters. The build config declares them (`recommend.strategies`,
 * docs/config.md) and the version keeps them in its manifest; a request picks one by name (`default` unless
 * told). A strategy in the config holds overrides only: what it does not give is the default strategy's.
 */
import Type, { type Static } from 'typebox';
import { SimrecError } from '../core/errors.ts';
import { DEFAULT_EXPLORE_SHARE } from '../ranking/thompson.ts';

/** The candidate sources of the two-stage engine, in merge order. */
export const SOURCES = ['simclusters', 'item2item', 'producers', 'dense', 'popular', 'topics'] as const;
export type SourceName = (typeof SOURCES)[number];

/** The last-resort source: catalogue items, newest first, used only when every other source came up short. */
export const FALLBACK_SOURCE = 'catalogue';

export interface StrategyFilters {
  /** Drop items the user engaged with (version and live). */
  excludeEngaged: boolean;
  /** Drop items the user hid. */
  excludeHidden: boolean;
  /** Drop the user's own items (social case). */
  excludeOwn: boolean;
  /** Drop items shown to the user (the live overlay's recent impressions). */
  excludeSeen: boolean;
  /** At most this many items per author (null: no cap). */
  maxPerAuthor: number | null;
  /** Age window in hours (null: unbounded). */
  minAgeHours: number | null;
  maxAgeHours: number | null;
}

export interface Strategy {
  name: string;
  /** Candidates asked of each source (0: the source is not asked). */
  budgets: Record<SourceName, number>;
  /** Score with the version's ranker when it has one (else reciprocal-rank fusion of the sources). */
  ranker: boolean;
  /** Share of the answer's slots filled by Thompson-sampling exploration (0: off). */
  explore: number;
  filters: StrategyFilters;
}

export const DEFAULT_STRATEGY: Strategy = {
  name: 'default',
  budgets: { simclusters: 200, item2item: 100, producers: 100, dense: 200, popular: 50, topics: 50 },
  ranker: true,
  explore: DEFAULT_EXPLORE_SHARE,
  filters: {
    excludeEngaged: true,
    excludeHidden: true,
    excludeOwn: true,
    excludeSeen: false,
    maxPerAuthor: null,
    minAgeHours: null,
    maxAgeHours: null,
  },
};

/** Most candidates one source may be asked for. */
export const MAX_BUDGET = 2000;

const budget = (source: SourceName) =>
  Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_BUDGET,
      description: `Candidates asked of ${source} (0 turns it off).`,
    }),
  );

/** One strategy's overrides, as the build config holds them. */
export const StrategySchema = Type.Object(
  {
    budgets: Type.Optional(
      Type.Object(
        Object.fromEntries(SOURCES.map((s) => [s, budget(s)])) as Record<
          SourceName,
          ReturnType<typeof budget>
        >,
        { additionalProperties: false },
      ),
    ),
    ranker: Type.Optional(Type.Boolean()),
    explore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    filters: Type.Optional(
      Type.Object(
        {
          excludeEngaged: Type.Optional(Type.Boolean()),
          excludeHidden: Type.Optional(Type.Boolean()),
          excludeOwn: Type.Optional(Type.Boolean()),
          excludeSeen: Type.Optional(Type.Boolean()),
          maxPerAuthor: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
          minAgeHours: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
          maxAgeHours: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type StrategyOverrides = Static<typeof StrategySchema>;

/** A strategy from the default and its overrides. */
export function makeStrategy(
  name: string,
  o: StrategyOverrides = {},
  base: Strategy = DEFAULT_STRATEGY,
): Strategy {
  const budgets = { ...base.budgets };
  for (const s of SOURCES) {
    const b = o.budgets?.[s];
    if (b !== undefined) budgets[s] = b;
  }
  const filters = { ...base.filters };
  for (const [k, v] of Object.entries(o.filters ?? {}))
    if (v !== undefined) (filters as Record<string, unknown>)[k] = v;
  return {
    name,
    budgets,
    ranker: o.ranker ?? base.ranker,
    explore: o.explore ?? base.explore,
    filters,
  };
}

/**
 * The strategies of a version: the config's (`recommend.strategies` of the manifest's config), each over the
 * config's `default` (or the built-in default), which always exists.
 */
export function strategiesOf(config: unknown): Map<string, Strategy> {
  const raw = (config as { recommend?: { strategies?: Record<string, StrategyOverrides> } } | null)?.recommend
    ?.strategies;
  const out = new Map<string, Strategy>();
  const def = makeStrategy('default', raw?.default ?? {});
  out.set('default', def);
  for (const [name, o] of Object.entries(raw ?? {}))
    if (name !== 'default') out.set(name, makeStrategy(name, o, def));
  return out;
}

/** A strategy by name. @throws CONFIG_INVALID naming `strategy` when the version has none by that name */
export function pickStrategy(strategies: Map<string, Strategy>, name: string | undefined): Strategy {
  const s = strategies.get(name ?? 'default');
  if (!s)
    throw new SimrecError(
      'CONFIG_INVALID',
      `unknown strategy ${JSON.stringify(name)}; this version has ${[...strategies.keys()].join(', ')}`,
      { field: 'strategy' },
    );
  return s;
}
