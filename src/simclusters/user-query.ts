/**
 * The SimClusters query of a user (DESIGN §4): what the ANN is asked with when the subject is a user.
 *
 * InterestedIn keeps the clusters a user's follows and favs give social proof to. On sparse social data (a thin
 * trust graph beside a rating log, e.g. CiaoDVD) that is one or two clusters while the user rated films in
 * several others, so the ANN never looks where a good part of the user's history lies. Each engaged item therefore
 * counts once in the query: an item whose strongest cluster the InterestedIn already holds is represented by the
 * InterestedIn, every other item by its own L2-normalised embedding. On a catalogue (MovieLens) most items fall
 * inside the InterestedIn and the query stays close to it.
 */
import { distinctSorted, evenStride } from '../core/int-sets.ts';
import { lowerBound, type SparseVector, sumOfUnitRows } from '../core/sparse.ts';

/**
 * At most this many engaged items make a user's query: the request's cost stays bounded for users with very long
 * histories, and a thousand items estimate which clusters the history covers as well as all of them do.
 */
export const USER_QUERY_MAX_ITEMS = 1000;

/** The distinct items of `items`, ascending; beyond `max`, `max` of them at an even stride (core/int-sets.ts). */
export function queryItems(items: ArrayLike<number>, max = USER_QUERY_MAX_ITEMS): Int32Array {
  return evenStride(distinctSorted(items), max);
}

export interface UserQuery {
  readonly vector: SparseVector;
  /** Engaged items the InterestedIn holds the strongest cluster of. */
  readonly covered: number;
  /** Engaged items added with their own embedding. */
  readonly added: number;
}

/**
 * max(1, covered) · Î + Σ Ŵ_i over the engaged items i whose strongest cluster (the lowest id among equals) is not
 * in the InterestedIn I. `items` are the engaged items' embeddings, each item once; empty rows are ignored.
 * Returns I itself (the cosine does not see the scale) when every item is covered; a user without an
 * InterestedIn is asked with the sum of its items alone.
 */
export function userQuery(interest: SparseVector, items: readonly SparseVector[]): UserQuery {
  let covered = 0;
  const rows: SparseVector[] = [interest];
  for (const row of items) {
    if (row.ids.length === 0) continue;
    let best = 0;
    for (let e = 1; e < row.ids.length; e++) if (row.values[e] > row.values[best]) best = e;
    const c = row.ids[best];
    const at = lowerBound(interest.ids, c);
    if (at < interest.ids.length && interest.ids[at] === c) covered++;
    else rows.push(row);
  }
  const added = rows.length - 1;
  if (added === 0) return { vector: interest, covered, added: 0 };
  const weights = new Float64Array(rows.length).fill(1);
  weights[0] = Math.max(1, covered);
  return { vector: sumOfUnitRows(rows, weights), covered, added };
}
