/**
 * The catalogue generator (DESIGN §12b): items (movies) in taste clusters of Zipf sizes, each cluster with a
 * genre profile over the shared vocabulary; users with 1–2 taste clusters rate mostly items of their tastes,
 * higher inside them. Items are the producers of their own engagement, so the producer truth is the item truth.
 */
import type { Rng } from '../../core/prng.ts';
import { type CsvSink, encodeBytes } from './csv-sink.ts';
import { drawInterests, hasInterest, type Interests, pickInterest } from './interests.ts';
import { FILES, type GeneratorOutput, HEADERS, PROGRESS_MASK } from './output.ts';
import { GENRES, type ResolvedParams } from './params.ts';
import {
  blockStarts,
  drawFromBlock,
  drawSmall,
  INV_2_32,
  logNormal,
  prefixSums,
  zipfSizes,
} from './sampling.ts';

/** Row and entity counts of a catalogue run. */
export interface CatalogueCounts {
  users: number;
  items: number;
  communities: number;
  genres: number;
  ratings: number;
  /** Ratings of items inside one of the rater's taste clusters. */
  inTasteRatings: number;
  consumerInterests: number;
}

const ATTEMPTS = 8;
const DAY = 86400;
const RATING = encodeBytes(',rating,');
const PIPE = encodeBytes('|');

interface Catalogue {
  itemComm: Int32Array;
  /** Seconds relative to the epoch (negative: released before the window). */
  created: Int32Array;
  commStart: Int32Array;
  commItems: Int32Array;
  itemCum: Float64Array;
}

/** Writes the catalogue data set and its truth into out; returns the counts. */
export async function generateCatalogue(
  p: ResolvedParams,
  rng: Rng,
  out: GeneratorOutput,
): Promise<CatalogueCounts> {
  const cat = await writeItems(p, rng.fork('items'), out);
  const interests = await drawInterests(
    p.users,
    cat.commStart,
    p.interestCountWeights,
    null,
    rng.fork('interests'),
    out,
  );
  const { ratings, inTaste } = await writeRatings(p, cat, interests, rng.fork('ratings'), out);
  return {
    users: p.users,
    items: p.items,
    communities: p.communities,
    genres: GENRES.length,
    ratings,
    inTasteRatings: inTaste,
    consumerInterests: interests.rows,
  };
}

/**
 * Genre profile of each cluster: `genresPerCluster` favoured genres share 1 − background (flat Dirichlet),
 * the background is spread evenly over the whole vocabulary. Returned as running sums, one row per cluster.
 */
function genreProfiles(p: ResolvedParams, rng: Rng): Float64Array {
  const k = p.communities;
  const nG = GENRES.length;
  const cum = new Float64Array(k * nG);
  const favoured = new Int32Array(nG);
  const w = new Float64Array(p.genresPerCluster);
  for (let c = 0; c < k; c++) {
    const row = c * nG;
    for (let g = 0; g < nG; g++) cum[row + g] = p.genreBackground / nG;
    rng.permutation(nG, favoured);
    let sum = 0;
    for (let i = 0; i < w.length; i++) {
      w[i] = rng.exponential();
      sum += w[i];
    }
    for (let i = 0; i < w.length; i++) cum[row + favoured[i]] += ((1 - p.genreBackground) * w[i]) / sum;
    for (let g = 1; g < nG; g++) cum[row + g] += cum[row + g - 1];
  }
  return cum;
}

async function writeItems(p: ResolvedParams, rng: Rng, out: GeneratorOutput): Promise<Catalogue> {
  const nI = p.items;
  const k = p.communities;
  const nG = GENRES.length;
  const commStart = blockStarts(zipfSizes(nI, k, p.communityMinSize, p.communitySizeExponent));
  // Cluster labels by block, then shuffled, so item ids say nothing about clusters.
  const itemComm = new Int32Array(nI);
  for (let c = 0; c < k; c++) itemComm.fill(c, commStart[c], commStart[c + 1]);
  rng.shuffle(itemComm);
  const profiles = genreProfiles(p, rng);
  const genreCountCum = prefixSums(Float64Array.from(p.itemGenreCountWeights));
  const genreBytes = GENRES.map(encodeBytes);
  const chosen = new Uint8Array(nG);

  const releaseSec = Math.round(p.releaseSpanDays * DAY);
  const windowSec = Math.max(2, Math.round(p.windowDays * DAY));
  const created = new Int32Array(nI);
  const fill = commStart.slice(0, k);
  const commItems = new Int32Array(nI);
  const itemCum = new Float64Array(nI);

  const items = out.open(FILES.items, HEADERS.catalogueItems);
  const producerTruth = out.open(FILES.producerCommunity, HEADERS.producerCommunity);
  const itemTruth = out.open(FILES.itemCommunity, HEADERS.itemCommunity);
  for (let i = 0; i < nI; i++) {
    const c = itemComm[i];
    // Released before the window or in its first half, so every item can still be rated inside it.
    created[i] = rng.int(releaseSec + Math.floor(windowSec / 2)) - releaseSec;
    const at = fill[c]++;
    commItems[at] = i;
    itemCum[at] = Math.exp(p.itemPopularitySigma * rng.normal());

    const want = drawSmall(genreCountCum, rng.next()) + 1;
    chosen.fill(0);
    for (let have = 0, tries = 0; have < want && tries < 64; tries++) {
      const g = drawFromBlock(profiles, c * nG, (c + 1) * nG, rng.next()) - c * nG;
      if (chosen[g] === 0) {
        chosen[g] = 1;
        have++;
      }
    }
    items.int(i);
    items.comma();
    writeSigned(items, p.epoch + created[i]);
    items.comma();
    let first = true;
    for (let g = 0; g < nG; g++) {
      if (chosen[g] === 0) continue;
      if (!first) items.bytes(PIPE);
      items.bytes(genreBytes[g]);
      first = false;
    }
    items.endRow();
    writePair(producerTruth, i, c);
    writePair(itemTruth, i, c);
    if (items.needsFlush) await items.flush();
    if (producerTruth.needsFlush) await producerTruth.flush();
    if (itemTruth.needsFlush) await itemTruth.flush();
    if ((i & PROGRESS_MASK) === 0) out.progress('items', i, nI);
  }
  out.progress('items', nI, nI);
  prefixSums(itemCum);
  await out.close(FILES.items, items);
  await out.close(FILES.producerCommunity, producerTruth);
  await out.close(FILES.itemCommunity, itemTruth);
  return { itemComm, created, commStart, commItems, itemCum };
}

function writePair(sink: CsvSink, a: number, b: number): void {
  sink.int(a);
  sink.comma();
  sink.int(b);
  sink.endRow();
}

/** Unix seconds may precede 1970 only with absurd parameters; write them correctly anyway. */
function writeSigned(sink: CsvSink, n: number): void {
  if (n < 0) {
    sink.bytes(MINUS);
    sink.int(-n);
  } else sink.int(n);
}
const MINUS = encodeBytes('-');

/**
 * Ratings: a taste cluster by weight, then an item of it by popularity (or any item, for a μ share); no item
 * twice per user. The rating is round(N(mean, sd)) clamped to 1–5, with the in-taste mean when the item's
 * cluster is one of the user's tastes — whichever way it was drawn. Timestamps fall in the window, after the
 * item's release.
 */
async function writeRatings(
  p: ResolvedParams,
  cat: Catalogue,
  interests: Interests,
  rng: Rng,
  out: GeneratorOutput,
): Promise<{ ratings: number; inTaste: number }> {
  const n = p.users;
  const nI = p.items;
  const { itemComm, created, commStart, commItems, itemCum } = cat;
  const mark = new Int32Array(nI);
  const windowSec = Math.max(2, Math.round(p.windowDays * DAY));
  const maxRatings = Math.min(p.engagementsPerUserMax, nI);
  let inTaste = 0;

  const sink = out.open(FILES.engagements, HEADERS.engagements);
  for (let u = 0; u < n; u++) {
    const stamp = u + 1;
    let f = 0;
    if (p.engagementsPerUserMean > 0) {
      f = Math.round(logNormal(rng, p.engagementsPerUserMean, p.engagementsPerUserSigma));
    }
    f = Math.min(maxRatings, Math.max(p.engagementsPerUserMin, f));
    for (let s = 0; s < f; s++) {
      const random = rng.nextUint32() * INV_2_32 < p.mixing;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        let it: number;
        if (random) it = rng.int(nI);
        else {
          const c = pickInterest(interests, u, rng.nextUint32() * INV_2_32);
          it = commItems[drawFromBlock(itemCum, commStart[c], commStart[c + 1], rng.nextUint32() * INV_2_32)];
        }
        if (mark[it] === stamp) continue;
        mark[it] = stamp;
        const liked = hasInterest(interests, u, itemComm[it]);
        if (liked) inTaste++;
        const mean = liked ? p.inTasteRatingMean : p.outOfTasteRatingMean;
        const rating = Math.min(5, Math.max(1, Math.round(mean + p.ratingSd * rng.normal())));
        const lo = Math.max(0, created[it] + 1);
        const ts = p.epoch + lo + (windowSec > lo ? rng.int(windowSec - lo) : 0);
        sink.int(u);
        sink.comma();
        sink.int(it);
        sink.bytes(RATING);
        sink.int(rating);
        sink.comma();
        sink.int(ts);
        sink.endRow();
        if (sink.needsFlush) await sink.flush();
        break;
      }
    }
    if ((u & PROGRESS_MASK) === 0) out.progress('ratings', u, n);
  }
  out.progress('ratings', n, n);
  await out.close(FILES.engagements, sink);
  return { ratings: sink.rows, inTaste };
}
