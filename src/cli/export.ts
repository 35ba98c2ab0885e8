import { SimrecError } from '../core/errors.ts';
import { EXPORT_KINDS, type ExportKind, exportArtifacts } from '../pipeline/export.ts';
import type { InterestedInScore } from '../simclusters/interested-in.ts';
import { openArtifactStore } from '../store/open.ts';
import { type Command, parseOptions, required } from './command.ts';

const HELP = `usage: simrec export --artifacts LOC --what KIND [--format csv|jsonl] [--out FILE]

Writes an artifact version's SimClusters outputs in long format (stdout unless --out):
  known-for            producer_id,cluster_id,score
  interested-in        entity_id,cluster_id,score   (--score favScore|logFavScore|followScore|...ClusterNormalized)
  producer-embeddings  entity_id,cluster_id,score
  item-embeddings      entity_id,cluster_id,score
  topic-embeddings     entity_id,cluster_id,score
  cluster-index        cluster_id,item_id,score,rank
  mf-users, mf-items   entity_id,v0,...  (MF vectors with biases folded in: a dot product is the score)

options:
  --artifacts LOC   artifact store: a directory or file:// URL (reads its current version unless --version)
  --version ID      a specific committed version
  --what KIND       one of the kinds above
  --format F        csv (default) or jsonl
  --score KIND      InterestedIn score kind (default favScore)
  --out FILE        output file (default: stdout)
`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write embeddings and indexes as CSV or JSONL',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      version: { type: 'string' },
      what: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      score: { type: 'string' },
      out: { type: 'string' },
    });
    const artifacts = required(v, 'artifacts');
    const what = required(v, 'what') as ExportKind;
    if (!EXPORT_KINDS.includes(what)) {
      throw new SimrecError(
        'CONFIG_INVALID',
        `--what must be one of ${EXPORT_KINDS.join(', ')}, got '${what}'`,
        { field: 'what' },
      );
    }
    const format = v.format as 'csv' | 'jsonl';
    if (format !== 'csv' && format !== 'jsonl') {
      throw new SimrecError('CONFIG_INVALID', `--format must be csv or jsonl, got '${format}'`, {
        field: 'format',
      });
    }
    const store = openArtifactStore(artifacts, { field: 'artifacts' });
    const reader = await store.openVersion(v.version);
    try {
      const rows = await exportArtifacts(
        reader,
        { what, format, score: v.score as InterestedInScore | undefined },
        v.out ?? process.stdout,
      );
      if (v.out) process.stderr.write(`wrote ${rows} rows to ${v.out}\n`);
      return 0;
    } finally {
      await reader.close();
      await store.close();
    }
  },
};
