/**
 * The producer–producer similarity graph shared by similarity (§3.1, which builds it) and KnownFor (§3.2, which
 * clusters it): a square CsrMatrix, symmetric, rows sorted, no self loops, Float32 weights (null = every edge
 * weighs 1). Also the parameter checks both stages use, so a bad value is a CONFIG_INVALID error naming it.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';

/** Progress callback, the same shape the data loader and the build use. */
export type ProgressFn = (stage: string, done: number, total?: number) => void;

/**
 * Checks that `g` is a usable similarity graph and returns it, or a copy without self loops when it has some.
 * Symmetry is checked through its cheap necessary condition (every vertex's in-degree equals its out-degree),
 * which catches one-directional edge lists — the usual way to get it wrong — in O(nnz).
 */
export function checkGraph(g: CsrMatrix, what = 'graph'): CsrMatrix {
  if (g.nRows !== g.nCols)
    throw new SimrecError('INTERNAL', `${what} must be square, got ${g.nRows} × ${g.nCols}`, { field: what });
  const n = g.nRows;
  const indptr = g.indptr;
  const idx = g.indices;
  const vals = g.values;
  let selfLoops = 0;
  for (let v = 0; v < n; v++) {
    let prev = -1;
    for (let k = indptr[v]; k < indptr[v + 1]; k++) {
      const u = idx[k];
      if (u <= prev || u >= n)
        throw new SimrecError(
          'INTERNAL',
          `${what}: row ${v} is not sorted, has duplicates or is out of range`,
          {
            field: what,
          },
        );
      prev = u;
      if (u === v) selfLoops++;
    }
  }
  if (vals) {
    for (let k = 0; k < vals.length; k++) {
      const w = vals[k];
      if (!(w >= 0) || w === Number.POSITIVE_INFINITY)
        throw new SimrecError('INPUT_BAD_ROW', `${what}: edge weight ${w} is not a finite number ≥ 0`, {
          field: what,
        });
    }
  }
  const inDeg = g.colCounts();
  for (let v = 0; v < n; v++) {
    if (inDeg[v] !== indptr[v + 1] - indptr[v])
      throw new SimrecError(
        'INTERNAL',
        `${what} is not symmetric: vertex ${v} has ${indptr[v + 1] - indptr[v]} out-edges but ${inDeg[v]} in-edges`,
        { field: what },
      );
  }
  return selfLoops === 0 ? g : withoutSelfLoops(g, selfLoops);
}

function withoutSelfLoops(g: CsrMatrix, selfLoops: number): CsrMatrix {
  const n = g.nRows;
  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(g.nnz - selfLoops);
  const values = g.values ? new Float32Array(g.nnz - selfLoops) : null;
  let w = 0;
  for (let v = 0; v < n; v++) {
    for (let k = g.indptr[v]; k < g.indptr[v + 1]; k++) {
      if (g.indices[k] === v) continue;
      indices[w] = g.indices[k];
      if (values) values[w] = g.values![k];
      w++;
    }
    indptr[v + 1] = w;
  }
  return new CsrMatrix(n, n, indptr, indices, values);
}

/**
 * Builds a symmetric graph from an undirected edge list (each edge once, either direction): both directions
 * are stored, repeated edges keep their largest weight, self loops are dropped. `weights` null = all 1.
 */
export function graphFromEdges(
  n: number,
  a: Int32Array,
  b: Int32Array,
  weights: Float32Array | null = null,
): CsrMatrix {
  if (a.length !== b.length || (weights && weights.length !== a.length))
    throw new SimrecError('INTERNAL', 'edge endpoint and weight arrays differ in length');
  let m = 0;
  for (let e = 0; e < a.length; e++) if (a[e] !== b[e]) m++;
  const rows = new Int32Array(2 * m);
  const cols = new Int32Array(2 * m);
  const vals = weights ? new Float32Array(2 * m) : null;
  let w = 0;
  for (let e = 0; e < a.length; e++) {
    if (a[e] === b[e]) continue;
    rows[w] = a[e];
    cols[w] = b[e];
    rows[w + 1] = b[e];
    cols[w + 1] = a[e];
    if (vals) {
      vals[w] = weights![e];
      vals[w + 1] = weights![e];
    }
    w += 2;
  }
  return CsrMatrix.fromCoo(rows, cols, vals, n, n, 'max');
}

/** An integer parameter in [min, max], or CONFIG_INVALID naming it. */
export function checkIntParam(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new SimrecError('CONFIG_INVALID', `${name} must be an integer in [${min}, ${max}], got ${v}`, {
      field: name,
    });
  return v;
}

/** A finite number parameter in [min, max], or CONFIG_INVALID naming it. */
export function checkNumberParam(name: string, v: number, min: number, max = Number.MAX_VALUE): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new SimrecError('CONFIG_INVALID', `${name} must be a number in [${min}, ${max}], got ${v}`, {
      field: name,
    });
  return v;
}

/** A boolean parameter, or CONFIG_INVALID naming it. */
export function checkBoolParam(name: string, v: boolean): boolean {
  if (typeof v !== 'boolean')
    throw new SimrecError('CONFIG_INVALID', `${name} must be true or false, got ${String(v)}`, {
      field: name,
    });
  return v;
}

/** Rejects parameter names that are not in `defaults`, so a typo never silently falls back to a default. */
export function checkKnownParams(section: string, given: object, defaults: object): void {
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(defaults, key))
      throw new SimrecError('CONFIG_INVALID', `unknown ${section} parameter '${key}'`, { field: key });
  }
}

/** `defaults` overridden by the keys of `given` that are set (an explicit undefined keeps the default). */
export function withDefaults<T extends object>(
  section: string,
  defaults: Readonly<T>,
  given: Partial<T> = {},
): T {
  checkKnownParams(section, given, defaults);
  const out = { ...defaults } as T;
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** The worker count to use: an integer ≥ 1 (default 1), or CONFIG_INVALID. */
export function checkThreads(threads: number | undefined): number {
  return threads === undefined ? 1 : checkIntParam('threads', threads, 1, 256);
}
