/**
 * What a generator writes into and reports through: the output directory, the gzip choice, row counts per
 * file and progress. Shared by the social and catalogue generators.
 */
import { join } from 'node:path';
import { CsvSink } from './csv-sink.ts';

export type ProgressFn = (stage: string, done: number, total?: number) => void;

/** Progress is reported every this many rows (a power of two, tested with a mask). */
export const PROGRESS_EVERY = 1 << 16;
export const PROGRESS_MASK = PROGRESS_EVERY - 1;

export class GeneratorOutput {
  /** Data rows per written file, by path relative to the output directory, in the order written. */
  readonly rows: Record<string, number> = {};

  constructor(
    readonly dir: string,
    readonly gzip: boolean,
    readonly progress: ProgressFn,
  ) {}

  /** The relative path of a CSV file of this run: `name.csv` or `name.csv.gz`. */
  fileName(name: string): string {
    return `${name}.csv${this.gzip ? '.gz' : ''}`;
  }

  open(name: string, header: string): CsvSink {
    return CsvSink.open(join(this.dir, this.fileName(name)), header, this.gzip);
  }

  async close(name: string, sink: CsvSink): Promise<void> {
    await sink.close();
    this.rows[this.fileName(name)] = sink.rows;
  }
}

/** Canonical input files and truth files, by base name relative to the output directory. */
export const FILES = {
  follows: 'follows',
  engagements: 'engagements',
  items: 'items',
  topicFollows: 'topic_follows',
  producerCommunity: 'truth/producer_community',
  consumerInterests: 'truth/consumer_interests',
  itemCommunity: 'truth/item_community',
} as const;

/** Headers of every file, as DESIGN §2 names the columns. */
export const HEADERS = {
  follows: 'consumer_id,producer_id,ts',
  engagements: 'user_id,item_id,action,weight,ts',
  socialItems: 'item_id,author_id,created_ts,tags',
  catalogueItems: 'item_id,created_ts,tags',
  topicFollows: 'user_id,topic',
  producerCommunity: 'producer_id,community',
  consumerInterests: 'consumer_id,community,weight',
  itemCommunity: 'item_id,community',
} as const;
