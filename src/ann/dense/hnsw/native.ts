/**
 * simrec's own N-API binding over hnswlib (native/hnsw.cc, built by `npm ci` with node-gyp against the
 * hnswlib 0.8 headers that the pinned hnswlib-node package ships).
 *
 * Why not hnswlib-node's JS API, which was picked over usearch by measurement (see hnsw-index.ts): its fixed
 * cost per call. It reads the query as a JS Array one element at a time through N-API, returns its results as
 * freshly built JS arrays, and filters by calling a JS function for every node the graph walk visits. Here
 * the query is a Float32Array read in place, results go into the caller's typed arrays, and the allow/deny
 * filter is FilterMarks' epoch-stamp test run in C++ over the same Uint32Arrays. Same library, same graph,
 * same saved file; `npm run bench -- dense` measures both APIs on one graph.
 */
import { createRequire } from 'node:module';
import { SimrecError } from '../../../core/errors.ts';

/** One hnswlib HierarchicalNSW graph on the inner-product space (distance 1 − q·x). */
export interface NativeGraph {
  /**
   * Inserts (or, for a known label, updates and revives) each row of a row-major matrix of the graph's
   * dimension, rows taken in order. One thread inserts exactly as one call per row would; more insert
   * concurrently (the graph then depends on their interleaving). Refused whole when the new labels would not
   * fit the capacity.
   */
  addPoints(vectors: Float32Array, labels: Int32Array, threads: number): void;
  /**
   * Writes up to k nearest labels and their distances, nearest first, and returns how many it wrote. With
   * stamp arrays, a label passes when (allow is null or allow[label] === epoch) and deny[label] !== epoch.
   */
  search(
    query: Float32Array,
    k: number,
    outLabels: Int32Array,
    outDistances: Float32Array,
    allow?: Uint32Array | null,
    deny?: Uint32Array | null,
    epoch?: number,
  ): number;
  markDelete(label: number): void;
  resize(maxElements: number): void;
  setEf(ef: number): void;
  save(path: string): void;
  /** Graph nodes, deleted ones included. */
  count(): number;
  capacity(): number;
}

interface NativeModule {
  Graph: {
    new (dim: number, maxElements: number, m: number, efConstruction: number, seed: number): NativeGraph;
    /** Loads a file written by {@link NativeGraph.save} (hnswlib's own format). */
    new (dim: number, path: string): NativeGraph;
  };
}

const ADDON = '../../../../native/build/Release/simrec_hnsw.node';

let addon: NativeModule | undefined;

/** The native module, loaded on first use so that importing this file costs nothing until an index exists. */
export function nativeHnsw(): NativeModule {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(ADDON) as NativeModule;
    } catch (e) {
      throw new SimrecError(
        'INTERNAL',
        `simrec's HNSW addon could not be loaded (npm ci builds native/ with node-gyp; it needs a C++ ` +
          `toolchain and the Node headers): ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
  }
  return addon;
}
