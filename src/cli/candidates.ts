import { type AnnParams, DEFAULT_ANN_PARAMS } from '../ann/simclusters.ts';
import { SimrecError } from '../core/errors.ts';
import {
  type CandidatesJson,
  candidatesJson,
  type DenseCandidatesJson,
  denseCandidatesJson,
} from '../query/answers.ts';
import type { DenseParams, DenseSource } from '../query/dense-model.ts';
import { type QuerySubject, ServingModel } from '../query/serving-model.ts';
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../simclusters/interested-in.ts';
import { openArtifactStore } from '../store/open.ts';
import { type Command, intOption, numberOption, parseOptions, required } from './command.ts';

const HELP = `usage: simrec candidates --artifacts LOC (--user ID | --item ID | --producer ID | --topic T) [--limit 10] [--json]
       simrec candidates --artifacts LOC --source dense (--user ID | --item ID) [--limit 10] [--json]

SimClusters ANN candidates from an artifact version, as POST /v1/candidates/simclusters answers them: for a
user (their InterestedIn; items they engaged with are left out), an item (its longest embedding when it has one;
the item itself is left out), a producer or a topic. With --source dense, MF candidates as POST
/v1/candidates/dense answers them: a user's MF vector by inner product (engaged items left out), or an item's
cosine neighbours (the version must have been built with mf.enabled).

options:
  --artifacts LOC      artifact store: a directory or file:// URL (reads its current version unless --version)
  --version ID         a specific committed version
  --user/--item/--producer/--topic   the source (exactly one)
  --limit Y            results (default 10)
  --top-clusters N     clusters of the source scanned (default ${DEFAULT_ANN_PARAMS.topClusters})
  --items-per-cluster M  items read per cluster (default ${DEFAULT_ANN_PARAMS.itemsPerCluster})
  --approx-top X       candidates re-scored exactly (default ${DEFAULT_ANN_PARAMS.approxTop})
  --min-score Z        minimum score (default 0)
  --mode approx|exact  exact scans every item (the baseline); with --source dense: ann|exact
  --source simclusters|dense  which candidate source (default simclusters)
  --ef N               dense: HNSW search list size (default: the index setting)
  --user-score KIND    InterestedIn kind of a user source (default logFavScoreClusterNormalized)
  --json               the HTTP answer's JSON instead of a table
`;

const SOURCES = ['user', 'item', 'producer', 'topic'] as const;

export const candidatesCommand: Command = {
  name: 'candidates',
  summary: 'SimClusters ANN candidates for a user, item, producer or topic',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      artifacts: { type: 'string' },
      version: { type: 'string' },
      user: { type: 'string' },
      item: { type: 'string' },
      producer: { type: 'string' },
      topic: { type: 'string' },
      limit: { type: 'string' },
      'top-clusters': { type: 'string' },
      'items-per-cluster': { type: 'string' },
      'approx-top': { type: 'string' },
      'min-score': { type: 'string' },
      mode: { type: 'string' },
      'user-score': { type: 'string' },
      source: { type: 'string' },
      ef: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const kind = v.source ?? 'simclusters';
    if (kind !== 'simclusters' && kind !== 'dense')
      throw new SimrecError('CONFIG_INVALID', `--source must be simclusters or dense, got '${kind}'`, {
        field: 'source',
      });
    if (kind === 'dense') {
      if (
        v.producer !== undefined ||
        v.topic !== undefined ||
        (v.user === undefined) === (v.item === undefined)
      )
        throw new SimrecError('CONFIG_INVALID', '--source dense takes exactly one of --user, --item', {
          field: 'user',
        });
      const mode = v.mode ?? 'ann';
      if (mode !== 'ann' && mode !== 'exact')
        throw new SimrecError(
          'CONFIG_INVALID',
          `--mode must be ann or exact with --source dense, got '${mode}'`,
          {
            field: 'mode',
          },
        );
      const params: Partial<DenseParams> = { limit: intOption(v, 'limit', 10, 1), mode };
      if (v.ef !== undefined) params.ef = intOption(v, 'ef', 0, 1);
      const source: DenseSource = v.user !== undefined ? { userId: v.user } : { itemId: v.item as string };
      const out = await queryDenseCandidates(required(v, 'artifacts'), v.version, source, params);
      process.stdout.write(v.json ? `${JSON.stringify(out)}\n` : denseTable(out));
      return 0;
    }
    const given = SOURCES.filter((s) => v[s] !== undefined);
    if (given.length !== 1)
      throw new SimrecError('CONFIG_INVALID', 'give exactly one of --user, --item, --producer, --topic', {
        field: 'user',
      });
    const id = v[given[0]] as string;
    const source: QuerySubject =
      given[0] === 'user'
        ? { userId: id }
        : given[0] === 'item'
          ? { itemId: id }
          : given[0] === 'producer'
            ? { producerId: id }
            : { topic: id };
    const mode = v.mode ?? 'approx';
    if (mode !== 'approx' && mode !== 'exact')
      throw new SimrecError('CONFIG_INVALID', `--mode must be approx or exact, got '${mode}'`, {
        field: 'mode',
      });
    const params: Partial<AnnParams> = {
      limit: intOption(v, 'limit', 10, 1),
      topClusters: intOption(v, 'top-clusters', DEFAULT_ANN_PARAMS.topClusters, 1),
      itemsPerCluster: intOption(v, 'items-per-cluster', DEFAULT_ANN_PARAMS.itemsPerCluster, 1),
      approxTop: intOption(v, 'approx-top', DEFAULT_ANN_PARAMS.approxTop, 1),
      minScore: numberOption(v, 'min-score', 0),
      mode,
    };
    const userScore = v['user-score'] as InterestedInScore | undefined;
    if (userScore !== undefined && !INTERESTED_IN_SCORES.includes(userScore))
      throw new SimrecError(
        'CONFIG_INVALID',
        `--user-score must be one of ${INTERESTED_IN_SCORES.join(', ')}`,
        {
          field: 'user-score',
        },
      );
    const out = await queryCandidates(required(v, 'artifacts'), v.version, source, params, userScore);
    process.stdout.write(v.json ? `${JSON.stringify(out)}\n` : table(out));
    return 0;
  },
};

/** Opens a version, answers one candidates query with it, and closes it. */
export async function queryCandidates(
  artifacts: string,
  version: string | undefined,
  source: QuerySubject,
  params: Partial<AnnParams>,
  userScore?: InterestedInScore,
): Promise<CandidatesJson> {
  const store = openArtifactStore(artifacts, { field: 'artifacts' });
  try {
    const reader = await store.openVersion(version);
    try {
      const model = await ServingModel.load(reader, { userScore });
      if ('itemId' in source) model.itemIndex(source.itemId, 'item');
      const r = await model.candidates(source, params);
      return candidatesJson(model, r, {});
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
  }
}

/** Opens a version, answers one dense (MF) candidates query with it, and closes it. */
export async function queryDenseCandidates(
  artifacts: string,
  version: string | undefined,
  source: DenseSource,
  params: Partial<DenseParams>,
): Promise<DenseCandidatesJson> {
  const store = openArtifactStore(artifacts, { field: 'artifacts' });
  try {
    const reader = await store.openVersion(version);
    try {
      const model = await ServingModel.load(reader);
      if ('itemId' in source) model.itemIndex(source.itemId, 'item');
      if ('userId' in source && !source.items) model.userIndex(source.userId, 'user');
      return denseCandidatesJson(model, await model.denseCandidates(source, params));
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
  }
}

/** rank, item id, score; then what answered. */
export function denseTable(out: DenseCandidatesJson): string {
  const width = Math.max(7, ...out.candidates.map((c) => c.itemId.length));
  const lines = [`${'rank'.padStart(4)}  ${'item_id'.padEnd(width)}  ${'score'.padStart(10)}`];
  out.candidates.forEach((c, j) => {
    lines.push(`${String(j + 1).padStart(4)}  ${c.itemId.padEnd(width)}  ${c.score.toFixed(6).padStart(10)}`);
  });
  const s = out.stats;
  const scored = s.itemsScored === undefined ? '' : `, ${s.itemsScored} items scored`;
  lines.push(
    `# version ${out.version}, source ${out.source}: ${s.index} index of ${s.indexSize} items${scored}`,
  );
  return `${lines.join('\n')}\n`;
}

/** rank, item id, score, approximate score; then what the query did. */
export function table(out: CandidatesJson): string {
  const width = Math.max(7, ...out.candidates.map((c) => c.itemId.length));
  const lines = [
    `${'rank'.padStart(4)}  ${'item_id'.padEnd(width)}  ${'score'.padStart(10)}  ${'approx'.padStart(10)}`,
  ];
  out.candidates.forEach((c, j) => {
    lines.push(
      `${String(j + 1).padStart(4)}  ${c.itemId.padEnd(width)}  ${c.score.toFixed(6).padStart(10)}  ${c.approxScore.toFixed(6).padStart(10)}`,
    );
  });
  const s = out.stats;
  lines.push(
    `# version ${out.version}, source ${out.source}: ${s.clustersScanned} clusters scanned, ${s.candidatesScored} candidates scored, ${s.embeddingsFetched} embeddings fetched`,
  );
  return `${lines.join('\n')}\n`;
}
