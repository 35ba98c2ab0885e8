/**
 * The build's view of planted ground truth (`DIR/truth/`, written by `simrec generate`): each truth file is
 * optional and used when present. A build compares KnownFor with `producer_community` only, so a folder holding
 * just that file (or missing it: then there is nothing to compare) must not fail the build the way reading the
 * whole set with readTruth would.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SimrecError } from '../core/errors.ts';

const HEADER = 'producer_id,community';

/** The truth file `DIR/truth/NAME.csv` or `.csv.gz`, null when neither exists. */
export function truthFile(dataDir: string, name: string): string | null {
  const base = join(dataDir, 'truth', `${name}.csv`);
  if (existsSync(base)) return base;
  if (existsSync(`${base}.gz`)) return `${base}.gz`;
  return null;
}

/**
 * Producer id → planted community from `truth/producer_community.csv[.gz]`, or null when the file is absent.
 * @throws SimrecError INPUT_BAD_HEADER / INPUT_BAD_ROW naming file and line, INPUT_FORMAT when unreadable
 */
export async function readProducerCommunities(dataDir: string): Promise<Map<string, number> | null> {
  const path = truthFile(dataDir, 'producer_community');
  if (!path) return null;
  const out = new Map<string, number>();
  let input: Readable = createReadStream(path);
  if (path.endsWith('.gz')) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (line === 1) {
        if (text.trim() !== HEADER)
          throw new SimrecError('INPUT_BAD_HEADER', `expected header '${HEADER}', got '${text}'`, {
            file: path,
            line,
          });
        continue;
      }
      if (text === '') continue;
      const f = text.split(',');
      if (f.length !== 2)
        throw new SimrecError('INPUT_BAD_ROW', `expected 2 fields, got ${f.length}`, { file: path, line });
      if (f[0] === '')
        throw new SimrecError('INPUT_BAD_ROW', 'empty id', { file: path, line, column: 'producer_id' });
      const c = Number(f[1]);
      if (f[1] === '' || !Number.isInteger(c) || c < 0)
        throw new SimrecError('INPUT_BAD_ROW', `community must be a non-negative integer, got '${f[1]}'`, {
          file: path,
          line,
          column: 'community',
        });
      out.set(f[0], c);
    }
  } catch (e) {
    if (e instanceof SimrecError) throw e;
    throw new SimrecError(
      'INPUT_FORMAT',
      `cannot read ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  } finally {
    lines.close();
    input.destroy();
  }
  if (line === 0)
    throw new SimrecError('INPUT_BAD_HEADER', `empty file, expected header '${HEADER}'`, {
      file: path,
      line: 1,
    });
  return out;
}
