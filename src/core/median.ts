/** The median of the positive entries of `xs` (the upper one of an even count; 0 when there are none). */
export function medianPositive(xs: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i] > 0) n++;
  if (n === 0) return 0;
  const pos = new Float64Array(n);
  n = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i] > 0) pos[n++] = xs[i];
  pos.sort();
  return pos[n >> 1];
}
