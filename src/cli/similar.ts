import { hasMfVectors } from '../artifacts/mf.ts';
import { hasSimClusters } from '../artifacts/simclusters.ts';
import { SimrecError } from '../core/errors.ts';
import { openArtifactStore } from '../store/open.ts';
import { denseTable, queryCandidates, queryDenseCandidates, table } from './candidates.ts';
import { type Command, intOption, parseOptions, required } from './command.ts';

const HELP = `usage: simrec similar --artifacts LOC --item ID [--limit 10] [--source simclusters|mf] [--json]

Items similar to an item by SimClusters ANN (its longest embedding when it has one, else its current one), or
with --source mf by cosine over MF item embeddings, as GET /v1/items/:itemId/similar answers them.

options:
  --artifacts LOC   artifact store: a directory or file:// URL (reads its current version unless --version)
  --version ID      a specific committed version
  --item ID         the item
  --limit Y         results (default 10)
  --source S        simclusters (default) or mf (the default for a version built with MF only)
  --json            the HTTP answer's JSON instead of a table
`;

export const similarCommand: Command = {
  name: 'similar',
  summary: 'items similar to an item (SimClusters ANN, or MF cosine)',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      version: { type: 'string' },
      item: { type: 'string' },
      limit: { type: 'string' },
      source: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const kind = v.source ?? (await defaultSource(required(v, 'artifacts'), v.version));
    if (kind !== 'simclusters' && kind !== 'mf')
      throw new SimrecError('CONFIG_INVALID', `--source must be simclusters or mf, got '${kind}'`, {
        field: 'source',
      });
    if (kind === 'mf') {
      const out = await queryDenseCandidates(
        required(v, 'artifacts'),
        v.version,
        { itemId: required(v, 'item') },
        { limit: intOption(v, 'limit', 10, 1) },
      );
      process.stdout.write(v.json ? `${JSON.stringify(out)}\n` : denseTable(out));
      return 0;
    }
    const out = await queryCandidates(
      required(v, 'artifacts'),
      v.version,
      { itemId: required(v, 'item') },
      {
        limit: intOption(v, 'limit', 10, 1),
      },
    );
    process.stdout.write(v.json ? `${JSON.stringify(out)}\n` : table(out));
    return 0;
  },
};

/** What GET /v1/items/:itemId/similar uses unasked: SimClusters, or MF for a version built with MF only. */
async function defaultSource(artifacts: string, version: string | undefined): Promise<'simclusters' | 'mf'> {
  const store = openArtifactStore(artifacts, { field: 'artifacts' });
  try {
    const reader = await store.openVersion(version);
    try {
      return hasSimClusters(reader) || !hasMfVectors(reader) ? 'simclusters' : 'mf';
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
  }
}
