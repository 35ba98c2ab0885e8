/**
 * `simrec export`: an artifact version's embeddings and indexes in the long formats of DESIGN §11, streamed
 * (CSV or JSONL) so an export of millions of rows never sits in memory.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { interestedInKey, KEYS } from '../artifacts/keys.ts';
import { readKnownFor, readProducers, readSimClustersMeta, requireKeys } from '../artifacts/simclusters.ts';
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { INTERESTED_IN_SCORES, type InterestedInScore } from '../simclusters/interested-in.ts';
import type { VersionReader } from '../store/store.ts';

export const EXPORT_KINDS = [
  'known-for',
  'interested-in',
  'producer-embeddings',
  'item-embeddings',
  'topic-embeddings',
  'cluster-index',
  'mf-users',
  'mf-items',
] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ExportOptions {
  what: ExportKind;
  format: 'csv' | 'jsonl';
  /** InterestedIn score kind (default favScore). */
  score?: InterestedInScore;
}

/** Writes the export to `out` (a path, or a stream such as stdout). Returns the number of data rows. */
export async function exportArtifacts(
  reader: VersionReader,
  opts: ExportOptions,
  out: string | Writable,
): Promise<number> {
  const stream = typeof out === 'string' ? createWriteStream(out) : out;
  const sink = new LineSink(stream, opts.format);
  const rows = await writeRows(reader, opts, sink);
  await sink.end(typeof out === 'string');
  return rows;
}

async function writeRows(r: VersionReader, opts: ExportOptions, sink: LineSink): Promise<number> {
  if (opts.what === 'mf-users' || opts.what === 'mf-items') {
    const key = opts.what === 'mf-users' ? KEYS.mfUsers : KEYS.mfItems;
    requireKeys(r, [key], 'MF representations (build with mf.enabled)');
    const ids = await r.idMap(opts.what === 'mf-users' ? KEYS.users : KEYS.items);
    return denseRows(sink, await r.dense(key), (e) => ids.id(e));
  }
  const meta = await readSimClustersMeta(r);
  switch (opts.what) {
    case 'known-for': {
      const { cluster, score } = await readKnownFor(r);
      const name = (await readProducers(r, meta)).id;
      sink.header(['producer_id', 'cluster_id', 'score']);
      let n = 0;
      for (let p = 0; p < cluster.length; p++) {
        if (cluster[p] < 0) continue;
        await sink.row([name(p), cluster[p], score[p]]);
        n++;
      }
      return n;
    }
    case 'interested-in': {
      const kind = opts.score ?? 'favScore';
      if (!INTERESTED_IN_SCORES.includes(kind)) {
        throw new SimrecError('CONFIG_INVALID', `unknown InterestedIn score '${kind}'`, { field: 'score' });
      }
      const users = await r.idMap(KEYS.users);
      return longRows(sink, await r.csr(interestedInKey(kind)), (u) => users.id(u));
    }
    case 'producer-embeddings': {
      const name = (await readProducers(r, meta)).id;
      return longRows(sink, await r.csr(KEYS.producerEmbeddings), name);
    }
    case 'item-embeddings': {
      const items = await r.idMap(KEYS.items);
      return longRows(sink, await r.csr(KEYS.itemEmbeddings), (i) => items.id(i));
    }
    case 'topic-embeddings': {
      const topics = await r.idMap(KEYS.topics);
      return longRows(sink, await r.csr(KEYS.topicEmbeddings), (t) => topics.id(t));
    }
    case 'cluster-index': {
      const items = await r.idMap(KEYS.items);
      const index = await r.csr(KEYS.clusterItems);
      sink.header(['cluster_id', 'item_id', 'score', 'rank']);
      let n = 0;
      for (let c = 0; c < index.nRows; c++) {
        // Rank by the score written, as GET /v1/clusters/:id does: the stored order may follow another score
        // (item-embeddings indexOrder cosine), which a reader of this file cannot see.
        const start = index.indptr[c];
        const order = Array.from({ length: index.indptr[c + 1] - start }, (_, j) => start + j);
        const score = (k: number) => (index.values ? index.values[k] : 1);
        order.sort((a, b) => score(b) - score(a) || index.indices[a] - index.indices[b]);
        let rank = 1;
        for (const k of order) {
          await sink.row([c, items.id(index.indices[k]), score(k), rank++]);
          n++;
        }
      }
      return n;
    }
  }
}

/**
 * Dense vectors, biases folded in (user [q, b_u, 1], item [p, 1, b_i]): CSV `entity_id,v0,…,v{d−1}`, JSONL
 * `{entity_id, vector}`.
 */
async function denseRows(
  sink: LineSink,
  m: { rows: number; dim: number; data: Float32Array },
  name: (row: number) => string,
): Promise<number> {
  sink.header(['entity_id', ...Array.from({ length: m.dim }, (_, j) => `v${j}`)]);
  for (let e = 0; e < m.rows; e++) {
    const v = Array.from(m.data.subarray(e * m.dim, (e + 1) * m.dim));
    await sink.vector(name(e), v);
  }
  return m.rows;
}

async function longRows(sink: LineSink, m: CsrMatrix, name: (row: number) => string): Promise<number> {
  sink.header(['entity_id', 'cluster_id', 'score']);
  let n = 0;
  for (let e = 0; e < m.nRows; e++) {
    const start = m.indptr[e];
    const end = m.indptr[e + 1];
    if (start === end) continue;
    const id = name(e);
    for (let k = start; k < end; k++) {
      await sink.row([id, m.indices[k], m.values ? m.values[k] : 1]);
      n++;
    }
  }
  return n;
}

/** Buffered CSV/JSONL writer with backpressure. */
class LineSink {
  private cols: string[] = [];
  private buf: string[] = [];
  private size = 0;

  constructor(
    private readonly stream: Writable,
    private readonly format: 'csv' | 'jsonl',
  ) {}

  header(cols: string[]): void {
    this.cols = cols;
    if (this.format === 'csv') this.push(cols.join(','));
  }

  async row(values: (string | number)[]): Promise<void> {
    if (this.format === 'csv') {
      this.push(values.map((v) => (typeof v === 'number' ? formatNumber(v) : csvField(v))).join(','));
    } else {
      const o: Record<string, string | number> = {};
      for (let i = 0; i < values.length; i++) o[this.cols[i]] = values[i];
      this.push(JSON.stringify(o));
    }
    if (this.size >= 1 << 20) await this.flush();
  }

  /** One id and a vector: a flat CSV row, or `{entity_id, vector}` in JSONL. */
  async vector(id: string, v: number[]): Promise<void> {
    if (this.format === 'csv') {
      this.push([csvField(id), ...v.map(formatNumber)].join(','));
      if (this.size >= 1 << 20) await this.flush();
      return;
    }
    this.push(JSON.stringify({ entity_id: id, vector: v.map((x) => Number(formatNumber(x))) }));
    if (this.size >= 1 << 20) await this.flush();
  }

  private push(line: string): void {
    this.buf.push(line);
    this.size += line.length + 1;
  }

  private async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = `${this.buf.join('\n')}\n`;
    this.buf = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(close: boolean): Promise<void> {
    await this.flush();
    if (close) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Math.fround(v) === v ? Number(v.toPrecision(7)) : v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
