/**
 * `generateSynthetic`: writes a canonical input directory (DESIGN §2) with planted ground truth under
 * `truth/` and a self-describing `generator.json`. Same preset, seed, scale and parameters ⇒ byte-identical
 * files: every draw comes from the seeded Rng, timestamps from a fixed epoch, and nothing from the clock.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { Rng } from '../../core/prng.ts';
import { type CatalogueCounts, generateCatalogue } from './catalogue.ts';
import { FILES, GeneratorOutput, type ProgressFn } from './output.ts';
import { type PresetName, type ResolvedParams, resolveParams, type SyntheticParams } from './params.ts';
import { generateSocial, type SocialCounts } from './social.ts';

export interface GenerateOptions {
  preset: PresetName;
  /** Created when missing. Earlier generated files in it (`.csv` or `.csv.gz`) are replaced or removed. */
  outDir: string;
  /** A non-negative safe integer. */
  seed: number;
  /** Multiplies users, producers, items and communities (so edges too); default 1. */
  scale?: number;
  /** Write `.csv.gz` instead of `.csv`. */
  gzip?: boolean;
  /** Overrides of the preset's parameters (before scaling). */
  params?: Partial<SyntheticParams>;
  onProgress?: ProgressFn;
}

export interface GeneratorSummary {
  preset: PresetName;
  seed: number;
  scale: number;
  gzip: boolean;
  outDir: string;
  /** The parameters used, counts scaled. */
  params: ResolvedParams;
  /** Data rows (header excluded) per written file, by path relative to outDir. */
  rows: Record<string, number>;
  counts: SocialCounts | CatalogueCounts;
  /** Wall time of the run; not written to generator.json, which must not depend on the clock. */
  elapsedMs: number;
}

/** Version of the generator.json layout and of the generators' output for a given seed. */
export const GENERATOR_FORMAT = 1;

/** Generates the data set of a preset into opts.outDir and returns what was written. */
export async function generateSynthetic(opts: GenerateOptions): Promise<GeneratorSummary> {
  const started = performance.now();
  const { preset, outDir } = opts;
  const scale = opts.scale ?? 1;
  const gzip = Boolean(opts.gzip);
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) {
    throw new SimrecError('CONFIG_INVALID', `seed must be a non-negative integer, got ${String(opts.seed)}`, {
      field: 'seed',
    });
  }
  const params = resolveParams(preset, opts.params, scale);
  prepareDir(outDir);

  const out = new GeneratorOutput(outDir, gzip, opts.onProgress ?? (() => {}));
  const rng = new Rng(opts.seed);
  const counts =
    params.kind === 'social'
      ? await generateSocial(params, rng, out)
      : await generateCatalogue(params, rng, out);

  const description = {
    generator: 'simrec synthetic',
    format: GENERATOR_FORMAT,
    preset,
    seed: opts.seed,
    scale,
    gzip,
    kind: params.kind,
    overrides: opts.params ?? {},
    params,
    rows: out.rows,
    counts,
  };
  writeFileSync(join(outDir, 'generator.json'), `${JSON.stringify(description, null, 2)}\n`);
  return {
    preset,
    seed: opts.seed,
    scale,
    gzip,
    outDir,
    params,
    rows: out.rows,
    counts,
    elapsedMs: performance.now() - started,
  };
}

/**
 * Creates outDir and truth/, and removes generated files of an earlier run in the other form (`.csv` vs
 * `.csv.gz`) or of the other kind (a catalogue has no follows), which a reader would otherwise pick up or
 * reject as two files for one input.
 */
function prepareDir(outDir: string): void {
  try {
    mkdirSync(join(outDir, 'truth'), { recursive: true });
  } catch (e) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `cannot create output directory ${outDir}: ${(e as Error).message}`,
      {
        field: 'out',
        file: outDir,
      },
    );
  }
  for (const base of Object.values(FILES)) {
    for (const ext of ['.csv', '.csv.gz']) rmSync(join(outDir, base + ext), { force: true });
  }
}
