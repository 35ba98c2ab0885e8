import type { Command } from './command.ts';

/**
 * A subcommand as `simrec --help` lists it, and how to load it. Command modules pull in DuckDB, Fastify, LMDB
 * and the pipeline; importing all of them cost about a second on every call, even `--help`, so only the
 * command that runs is loaded. commands.test.ts checks each name and summary against the loaded module.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every subcommand, in the order `simrec --help` lists them. */
export const commands: CommandEntry[] = [
  {
    name: 'generate',
    summary: 'write a synthetic data set with planted communities and its ground truth',
    load: async () => (await import('./generate.ts')).generateCommand,
  },
  {
    name: 'validate',
    summary: 'check an input directory and report its counts or its bad rows',
    load: async () => (await import('./validate.ts')).validateCommand,
  },
  {
    name: 'build',
    summary: 'run the offline pipeline and write a new artifact version',
    load: async () => (await import('./build.ts')).buildCommand,
  },
  {
    name: 'versions',
    summary: 'list artifact versions, prune old ones, or switch the current one',
    load: async () => (await import('./versions.ts')).versionsCommand,
  },
  {
    name: 'replay',
    summary: 'measure live updates against a frozen version: hit-rate@k and MRR over later events',
    load: async () => (await import('./replay.ts')).replayCommand,
  },
  {
    name: 'events',
    summary: 'import events into the event log, compact it, or show its size',
    load: async () => (await import('./events.ts')).eventsCommand,
  },
  {
    name: 'export',
    summary: 'write embeddings and indexes as CSV or JSONL',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  {
    name: 'serve',
    summary: 'serve candidates, embeddings and clusters over HTTP',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  {
    name: 'candidates',
    summary: 'SimClusters ANN candidates for a user, item, producer or topic',
    load: async () => (await import('./candidates.ts')).candidatesCommand,
  },
  {
    name: 'similar',
    summary: 'items similar to an item (SimClusters ANN, or MF cosine)',
    load: async () => (await import('./similar.ts')).similarCommand,
  },
  {
    name: 'recommend',
    summary: 'two-stage recommendations for a user (candidates → ranker → exploration → filters)',
    load: async () => (await import('./recommend.ts')).recommendCommand,
  },
  {
    name: 'eval',
    summary: 'fit models on a split and compare them offline (precision, recall, NDCG, MAP, AUC, coverage)',
    load: async () => (await import('./eval.ts')).evalCommand,
  },
  {
    name: 'demo',
    summary: 'generate → build → serve, on the embedded default',
    load: async () => (await import('./demo.ts')).demoCommand,
  },
];
