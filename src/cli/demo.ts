/**
 * `simrec demo`: the whole engine on the embedded default in one command — generate a synthetic social network
 * with planted communities, build the artifacts, and show what was built (and how well the planted
 * communities were recovered).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import { generateSynthetic } from '../data/synthetic/generate.ts';
import { PRESET_NAMES, type PresetName } from '../data/synthetic/params.ts';
import { runBuild } from '../pipeline/build.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { summarize } from './build.ts';
import { type Command, intOption, parseOptions } from './command.ts';
import { createReporter } from './progress.ts';

const HELP = `usage: simrec demo [--dir DIR] [--preset social] [--seed N]

Generates a synthetic data set with planted communities (default: the social preset, 10^5 users, ~1.2M
follows), builds the artifacts with the embedded store, and prints what was built.

options:
  --dir DIR       working directory (default .simrec-demo); data in DIR/data, artifacts in DIR/artifacts
  --preset P      tiny | small | social | movies | medium (default social)
  --seed N        seed (default 1)
  -h, --help      this help
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'generate → build → show, on the embedded default',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      dir: { type: 'string', default: '.simrec-demo' },
      preset: { type: 'string', default: 'social' },
      seed: { type: 'string' },
    });
    const preset = v.preset as PresetName;
    if (!PRESET_NAMES.includes(preset)) {
      throw new SimrecError('CONFIG_INVALID', `--preset must be one of ${PRESET_NAMES.join(', ')}`, {
        field: 'preset',
      });
    }
    const seed = intOption(v, 'seed', 1, 0);
    const dir = resolve(v.dir as string);
    const data = join(dir, 'data');
    const artifacts = join(dir, 'artifacts');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const reporter = createReporter();
    const out = process.stdout;
    out.write(`simrec demo: ${preset} preset, seed ${seed}, in ${dir}\n\n1. generate\n`);
    const gen = await generateSynthetic({ preset, outDir: data, seed, onProgress: reporter.progress });
    reporter.close();
    const rows = Object.entries(gen.rows as Record<string, number>);
    for (const [file, n] of rows)
      out.write(`   ${file.padEnd(32)} ${n.toLocaleString('en-US').padStart(12)} rows\n`);
    out.write(`\n2. build (simrec build --data ${data} --out ${artifacts})\n`);
    const result = await runBuild({
      data,
      out: artifacts,
      config: resolveBuildConfig(undefined, { seed }),
      onProgress: reporter.progress,
    });
    reporter.close();
    out.write(`${summarize(result, artifacts).replace(/^/gm, '   ')}\n`);
    out.write('3. next\n');
    out.write(`   npx simrec export --artifacts ${artifacts} --what known-for | head\n`);
    return 0;
  },
};
