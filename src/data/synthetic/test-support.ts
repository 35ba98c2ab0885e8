/**
 * Helpers for the generator tests: read a generated CSV back (plain or gzip) as header + rows of fields.
 * Test-only; not exported from the package.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface Table {
  header: string;
  rows: string[][];
}

export function readTable(path: string): Table {
  let bytes = readFileSync(path);
  if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  const text = bytes.toString('utf8');
  if (!text.endsWith('\n')) throw new Error(`${path} does not end with a newline`);
  const lines = text.slice(0, -1).split('\n');
  return { header: lines[0], rows: lines.slice(1).map((l) => l.split(',')) };
}

/** sha256 of every file under dir, by relative path, sorted. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
