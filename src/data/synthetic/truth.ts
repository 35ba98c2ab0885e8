/**
 * Reading the planted ground truth back (`truth/*.csv[.gz]`), for tests and benchmarks that score recovered
 * communities (NMI) and retrieval against it. Not a hot path: plain Maps keyed by external id.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SimrecError } from '../../core/errors.ts';
import { HEADERS } from './output.ts';

export interface InterestWeight {
  community: number;
  weight: number;
}

export interface Truth {
  /** Producer id → planted community (catalogue: item id → taste cluster). */
  producerCommunity: Map<string, number>;
  /** Consumer id → interest communities with weights summing to 1, in file order. */
  consumerInterests: Map<string, InterestWeight[]>;
  /** Item id → community of the item (its author's, or its taste cluster). */
  itemCommunity: Map<string, number>;
}

/**
 * Reads the truth files of a generated directory: `dir/truth/` (or dir itself when it holds them), each as
 * `.csv` or `.csv.gz`. A missing file is INPUT_MISSING, a wrong header INPUT_BAD_HEADER, a bad row
 * INPUT_BAD_ROW with file and line.
 */
export async function readTruth(dir: string): Promise<Truth> {
  const truthDir = existsSync(join(dir, 'truth')) ? join(dir, 'truth') : dir;
  const producerCommunity = new Map<string, number>();
  const itemCommunity = new Map<string, number>();
  const consumerInterests = new Map<string, InterestWeight[]>();
  await readCsv(truthDir, 'producer_community', HEADERS.producerCommunity, (f, id) => {
    producerCommunity.set(id, community(f));
  });
  await readCsv(truthDir, 'item_community', HEADERS.itemCommunity, (f, id) => {
    itemCommunity.set(id, community(f));
  });
  await readCsv(truthDir, 'consumer_interests', HEADERS.consumerInterests, (f, id) => {
    const weight = Number(f[2]);
    if (f[2] === '' || !Number.isFinite(weight) || weight < 0 || weight > 1) {
      throw new RowError('weight', `weight must be a number in [0, 1], got '${f[2]}'`);
    }
    let list = consumerInterests.get(id);
    if (!list) consumerInterests.set(id, (list = []));
    list.push({ community: community(f), weight });
  });
  return { producerCommunity, consumerInterests, itemCommunity };
}

/**
 * Dense labels for NMI: labels[i] = the community of ids[i] (for instance an IdMap's id list), −1 when the
 * id has none.
 */
export function communityLabels(communities: Map<string, number>, ids: readonly string[]): Int32Array {
  const labels = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) labels[i] = communities.get(ids[i]) ?? -1;
  return labels;
}

/** Each consumer's heaviest interest (the first listed on ties): a hard label per consumer. */
export function primaryInterests(interests: Map<string, InterestWeight[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, list] of interests) {
    let best = list[0];
    for (const x of list) if (x.weight > best.weight) best = x;
    out.set(id, best.community);
  }
  return out;
}

class RowError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

function community(f: string[]): number {
  const c = Number(f[1]);
  if (f[1] === '' || !Number.isInteger(c) || c < 0) {
    throw new RowError('community', `community must be a non-negative integer, got '${f[1]}'`);
  }
  return c;
}

/**
 * Producer id → planted community from `DIR/truth/producer_community.csv[.gz]`, or null when the file is absent:
 * the one truth file a build compares KnownFor with, so a truth folder holding only it (or lacking it) must not
 * fail a build the way {@link readTruth}, which reads the whole set, would.
 * @throws SimrecError INPUT_BAD_HEADER / INPUT_BAD_ROW naming file and line, INPUT_FORMAT when unreadable
 */
export async function readProducerCommunities(dataDir: string): Promise<Map<string, number> | null> {
  const out = new Map<string, number>();
  const found = await readCsv(
    join(dataDir, 'truth'),
    'producer_community',
    HEADERS.producerCommunity,
    (f, id) => {
      out.set(id, community(f));
    },
    true,
  );
  return found ? out : null;
}

/** Reads `dir/base.csv` or `.csv.gz`; false when neither exists and `optional`, else INPUT_MISSING. */
async function readCsv(
  dir: string,
  base: string,
  header: string,
  onRow: (fields: string[], id: string) => void,
  optional = false,
): Promise<boolean> {
  let path = join(dir, `${base}.csv`);
  let gzip = false;
  if (!existsSync(path)) {
    path = `${path}.gz`;
    gzip = true;
    if (!existsSync(path)) {
      if (optional) return false;
      throw new SimrecError('INPUT_MISSING', `truth file ${base}.csv(.gz) not found in ${dir}`, {
        file: join(dir, `${base}.csv`),
      });
    }
  }
  const columns = header.split(',');
  let input: Readable = createReadStream(path);
  if (gzip) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (line === 1) {
        if (text.trim() !== header) {
          throw new SimrecError('INPUT_BAD_HEADER', `expected header '${header}', got '${text}'`, {
            file: path,
            line,
          });
        }
        continue;
      }
      if (text === '') continue;
      const fields = text.split(',');
      if (fields.length !== columns.length) {
        throw new SimrecError('INPUT_BAD_ROW', `expected ${columns.length} fields, got ${fields.length}`, {
          file: path,
          line,
        });
      }
      if (fields[0] === '') {
        throw new SimrecError('INPUT_BAD_ROW', 'empty id', { file: path, line, column: columns[0] });
      }
      try {
        onRow(fields, fields[0]);
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        throw new SimrecError('INPUT_BAD_ROW', e.message, { file: path, line, column: e.column });
      }
    }
  } catch (e) {
    if (e instanceof SimrecError) throw e;
    throw new SimrecError(
      'INPUT_FORMAT',
      `cannot read ${path}: ${(e as Error).message}`,
      { file: path },
      {
        cause: e,
      },
    );
  } finally {
    lines.close();
    input.destroy();
  }
  if (line === 0) {
    throw new SimrecError('INPUT_BAD_HEADER', `empty file, expected header '${header}'`, {
      file: path,
      line: 1,
    });
  }
  return true;
}
