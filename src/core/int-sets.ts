/** Small sets of non-negative integer ids (item or user indices) as sorted Int32Arrays. */

/** The distinct values of `items` (any order, repeats allowed), ascending, in a new array. */
export function distinctSorted(items: ArrayLike<number>): Int32Array {
  const sorted = Int32Array.from(items).sort();
  let n = 0;
  for (let j = 0; j < sorted.length; j++) if (j === 0 || sorted[j] !== sorted[j - 1]) sorted[n++] = sorted[j];
  return sorted.subarray(0, n);
}

/**
 * `sorted` itself when it holds at most `max` values, else `max` of them at an even stride (positions
 * ⌊j·n/max⌋): deterministic and spread over the whole list.
 */
export function evenStride(sorted: Int32Array, max: number): Int32Array {
  const n = sorted.length;
  if (n <= max) return sorted;
  const out = new Int32Array(max);
  for (let j = 0; j < max; j++) out[j] = sorted[Math.floor((j * n) / max)];
  return out;
}
