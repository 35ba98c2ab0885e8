import { queryCandidates, table } from './candidates.ts';
import { type Command, intOption, parseOptions, required } from './command.ts';

const HELP = `usage: simrec similar --artifacts DIR --item ID [--limit 10] [--json]

Items similar to an item by SimClusters ANN (its longest embedding when it has one, else its current one), as
GET /v1/items/:itemId/similar answers them.

options:
  --artifacts DIR   artifact root (reads its current version unless --version)
  --version ID      a specific committed version
  --item ID         the item
  --limit Y         results (default 10)
  --json            the HTTP answer's JSON instead of a table
`;

export const similarCommand: Command = {
  name: 'similar',
  summary: 'items similar to an item (SimClusters ANN)',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      version: { type: 'string' },
      item: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
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
