/**
 * The build configuration: a TypeBox schema (validated, unknown keys rejected) whose defaults are the DESIGN
 * defaults. Stage sections hold overrides only; a stage fills what is not given from its own defaults, which
 * differ between the social and the catalogue case. Every key is documented in docs/config.md (a test keeps the
 * two in step).
 */
import Type, { type Static } from 'typebox';
import { readConfigFile, validateConfig } from './config-loader.ts';

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
  },
  closed,
);

export type BuildConfig = Static<typeof BuildConfigSchema>;

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
