import { SimrecError } from '../core/errors.ts';
import { ServingModel } from '../query/serving-model.ts';
import { type Recommendation, recommend } from '../recommend/engine.ts';
import { openArtifactStore } from '../store/open.ts';
import { type Command, intOption, numberOption, parseOptions, required } from './command.ts';

const HELP = `usage: simrec recommend --artifacts LOC --user ID [--limit 10] [--explain] [--json]

Two-stage recommendations for a user from a version: candidates from every source the strategy budgets
(SimClusters ANN, item → item from recent engagements, in-network producers, dense MF, popular, followed
topics), merged with their provenance, filtered (engaged, hidden, own items, ...), scored by the version's
ranker (or reciprocal-rank fusion without one), with a share of Thompson-sampling exploration.
A user the version does not know gets what a visitor gets (trending, then the catalogue).

options:
  --artifacts LOC   artifact store: a directory or file:// URL (reads its current version unless --version)
  --version ID      a specific committed version
  --user ID         the user
  --items IDS       a session instead of a user: comma-separated item ids
  --limit N         items (default 10)
  --strategy NAME   a strategy of the build config (default: default)
  --explore SHARE   exploration share in [0, 1] (default: the strategy's; 0 turns it off)
  --seed S          exploration seed (default: the user id)
  --explain         say why: sources with ranks, contributing clusters and their top producers, ranker features
  --json            the answer as JSON instead of a table
`;

export const recommendCommand: Command = {
  name: 'recommend',
  summary: 'two-stage recommendations for a user (candidates → ranker → exploration → filters)',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      version: { type: 'string' },
      user: { type: 'string' },
      items: { type: 'string' },
      limit: { type: 'string' },
      strategy: { type: 'string' },
      explore: { type: 'string' },
      seed: { type: 'string' },
      explain: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (v.user === undefined && v.items === undefined)
      throw new SimrecError('CONFIG_INVALID', '--user (or --items) is required', { field: 'user' });
    const items = v.items === undefined ? undefined : String(v.items).split(',').filter(Boolean);
    const subject =
      v.user !== undefined ? { userId: String(v.user), ...(items ? { items } : {}) } : { items: items ?? [] };
    const store = openArtifactStore(required(v, 'artifacts'), { field: 'artifacts' });
    try {
      const reader = await store.openVersion(v.version);
      try {
        const model = await ServingModel.load(reader);
        const out = await recommend(model, subject, {
          limit: intOption(v, 'limit', 10, 1),
          strategy: v.strategy,
          explore: v.explore === undefined ? undefined : numberOption(v, 'explore', 0.1, 0),
          seed: v.seed,
          explain: Boolean(v.explain),
        });
        process.stdout.write(
          v.json ? `${JSON.stringify(out)}\n` : renderRecommendation(out, Boolean(v.explain)),
        );
      } finally {
        await reader.close();
      }
    } finally {
      await store.close();
    }
    return 0;
  },
};

/** rank, item, score, sources; with explanations an indented line per reason. */
export function renderRecommendation(out: Recommendation, explain: boolean): string {
  const width = Math.max(7, ...out.items.map((r) => r.itemId.length));
  const lines = [`${'rank'.padStart(4)}  ${'item_id'.padEnd(width)}  ${'score'.padStart(10)}  sources`];
  out.items.forEach((r, j) => {
    const sources = r.sources.map((s) => `${s.source}#${s.rank + 1}`).join(' ');
    lines.push(
      `${String(j + 1).padStart(4)}  ${r.itemId.padEnd(width)}  ${r.score.toFixed(6).padStart(10)}  ${sources}${r.explored ? '  (explored)' : ''}`,
    );
    const x = r.explanation;
    if (!explain || !x) return;
    for (const c of x.clusters)
      lines.push(
        `        cluster ${c.clusterId} (${c.contribution.toFixed(4)}): top producers ${c.topProducers.map((p) => p.producerId).join(', ')}`,
      );
    if (x.features.length)
      lines.push(
        `        ranker: ${x.features.map((f) => `${f.name} ${f.contribution >= 0 ? '+' : ''}${f.contribution.toFixed(3)}`).join(', ')}`,
      );
    if (x.sampledCtr !== undefined) lines.push(`        explored: sampled CTR ${x.sampledCtr.toFixed(4)}`);
  });
  const used = Object.entries(out.stats.sources)
    .map(([name, s]) => (s.skipped ? `${name} skipped` : `${name} ${s.returned}`))
    .join(', ');
  lines.push(
    `# version ${out.version}, strategy ${out.strategy}, ${out.subject}, scored by ${out.scoring}; ${out.stats.candidates} candidates (${used}); ${out.stats.explored} explored`,
  );
  return `${lines.join('\n')}\n`;
}
