/**
 * The social-network generator (DESIGN §12a): producers are a seeded subset of the users, planted in
 * communities of Zipf sizes; every user follows mostly producers of its 1–3 interest communities (a μ share
 * goes anywhere), favs items of those communities, and follows their topics. Every stage draws from its own
 * fork of the seed, holds only per-user / per-producer / per-item typed arrays, and streams its rows out.
 */
import type { Rng } from '../../core/prng.ts';
import { encodeBytes } from './csv-sink.ts';
import { drawInterests, type Interests, pickInterest } from './interests.ts';
import { FILES, type GeneratorOutput, HEADERS, PROGRESS_MASK } from './output.ts';
import type { ResolvedParams } from './params.ts';
import { blockStarts, drawFromBlock, INV_2_32, logNormal, prefixSums, zipfSizes } from './sampling.ts';

/** Row and entity counts of a social run. */
export interface SocialCounts {
  users: number;
  producers: number;
  communities: number;
  topics: number;
  items: number;
  follows: number;
  /** Follows drawn as the μ share (to a uniformly random producer). */
  randomFollows: number;
  favs: number;
  unfavs: number;
  topicFollows: number;
  consumerInterests: number;
}

/** Draws per edge before a slot is given up (the consumer already follows all it could draw there). */
const ATTEMPTS = 8;
const DAY = 86400;

const FAV = encodeBytes(',fav,1,');
const UNFAV = encodeBytes(',unfav,1,');
const PIPE = encodeBytes('|');

/** The planted structure shared by the stages. */
interface World {
  p: ResolvedParams;
  n: number;
  /** Producer index → user index. Producers are numbered community by community. */
  prodUser: Int32Array;
  /** User index → producer index, or −1. */
  userProducer: Int32Array;
  prodComm: Int32Array;
  /** Community c's producers are [commStart[c], commStart[c+1]). */
  commStart: Int32Array;
  /** Running sums of producer popularity, searched block by block. */
  prodCum: Float64Array;
  interests: Interests;
}

/** Writes the social data set and its truth into out; returns the counts. */
export async function generateSocial(
  p: ResolvedParams,
  rng: Rng,
  out: GeneratorOutput,
): Promise<SocialCounts> {
  const world = await plantProducers(p, rng, out);
  const { follows, randomFollows, followers } = await writeFollows(world, rng.fork('follows'), out);
  const items = await writeItems(world, followers, rng.fork('items'), out);
  const { favs, unfavs } = await writeEngagements(world, items, rng.fork('engagements'), out);
  const topicFollows = await writeTopicFollows(world, rng.fork('topics'), out);
  return {
    users: p.users,
    producers: p.producers,
    communities: p.communities,
    topics: p.communities * p.topicsPerCommunity,
    items: p.items,
    follows,
    randomFollows,
    favs,
    unfavs,
    topicFollows,
    consumerInterests: world.interests.rows,
  };
}

/** Producers, their communities and popularity, and every user's interests. */
async function plantProducers(p: ResolvedParams, seed: Rng, out: GeneratorOutput): Promise<World> {
  const rng = seed.fork('producers');
  const n = p.users;
  const nP = p.producers;
  const k = p.communities;
  // Partial Fisher–Yates: the first nP entries are a uniform sample of users, in random order.
  const pick = new Int32Array(n);
  for (let i = 0; i < n; i++) pick[i] = i;
  for (let i = 0; i < nP; i++) {
    const j = i + rng.int(n - i);
    const t = pick[i];
    pick[i] = pick[j];
    pick[j] = t;
  }
  const prodUser = pick.slice(0, nP);
  const userProducer = new Int32Array(n).fill(-1);
  for (let q = 0; q < nP; q++) userProducer[prodUser[q]] = q;

  const commStart = blockStarts(zipfSizes(nP, k, p.communityMinSize, p.communitySizeExponent));
  const prodComm = new Int32Array(nP);
  const prodCum = new Float64Array(nP);
  for (let c = 0; c < k; c++) {
    // Popularity rank is the position in the block; the block's users are in random order already.
    for (let q = commStart[c]; q < commStart[c + 1]; q++) {
      prodComm[q] = c;
      prodCum[q] = (q - commStart[c] + 1) ** -p.producerPopularityExponent;
    }
  }
  prefixSums(prodCum);

  const sink = out.open(FILES.producerCommunity, HEADERS.producerCommunity);
  for (let u = 0; u < n; u++) {
    const q = userProducer[u];
    if (q < 0) continue;
    sink.int(u);
    sink.comma();
    sink.int(prodComm[q]);
    sink.endRow();
    if (sink.needsFlush) await sink.flush();
  }
  await out.close(FILES.producerCommunity, sink);

  const own = new Int32Array(n).fill(-1);
  for (let q = 0; q < nP; q++) own[prodUser[q]] = prodComm[q];
  const interests = await drawInterests(
    n,
    commStart,
    p.interestCountWeights,
    own,
    seed.fork('interests'),
    out,
  );
  return { p, n, prodUser, userProducer, prodComm, commStart, prodCum, interests };
}

async function writeFollows(
  w: World,
  rng: Rng,
  out: GeneratorOutput,
): Promise<{ follows: number; randomFollows: number; followers: Int32Array }> {
  const { p, n, prodUser, userProducer, commStart, prodCum } = w;
  const nP = prodUser.length;
  const followers = new Int32Array(nP);
  // mark[q] === u + 1 ⇔ u already follows q; marking u's own producer rules out self-follows the same way.
  const mark = new Int32Array(nP);
  const mu = p.mixing;
  const logMean = Math.log(p.outDegreeMean) - (p.outDegreeSigma * p.outDegreeSigma) / 2;
  const windowSec = Math.max(1, Math.round(p.windowDays * DAY));
  let randomFollows = 0;

  const sink = out.open(FILES.follows, HEADERS.follows);
  for (let u = 0; u < n; u++) {
    const stamp = u + 1;
    const self = userProducer[u];
    if (self >= 0) mark[self] = stamp;
    const cap = Math.min(p.outDegreeMax, self >= 0 ? nP - 1 : nP);
    const d = Math.min(cap, Math.max(1, Math.round(Math.exp(logMean + p.outDegreeSigma * rng.normal()))));
    for (let s = 0; s < d; s++) {
      const random = rng.nextUint32() * INV_2_32 < mu;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        let q: number;
        if (random) q = rng.int(nP);
        else {
          const c = pickInterest(w.interests, u, rng.nextUint32() * INV_2_32);
          q = drawFromBlock(prodCum, commStart[c], commStart[c + 1], rng.nextUint32() * INV_2_32);
        }
        if (mark[q] === stamp) continue;
        mark[q] = stamp;
        followers[q]++;
        if (random) randomFollows++;
        sink.int(u);
        sink.comma();
        sink.int(prodUser[q]);
        sink.comma();
        sink.int(p.epoch + rng.int(windowSec));
        sink.endRow();
        if (sink.needsFlush) await sink.flush();
        break;
      }
    }
    if ((u & PROGRESS_MASK) === 0) out.progress('follows', u, n);
  }
  out.progress('follows', n, n);
  await out.close(FILES.follows, sink);
  return { follows: sink.rows, randomFollows, followers };
}

/** Items grouped by community for the fav draws. */
interface Items {
  count: number;
  author: Int32Array;
  /** Seconds after the epoch. */
  created: Int32Array;
  /** Community c's items are commItems[commItemStart[c] .. commItemStart[c+1]). */
  commItemStart: Int32Array;
  commItems: Int32Array;
  /** Running sums of item popularity in commItems order. */
  itemCum: Float64Array;
}

/**
 * Items are numbered in creation order (like tweet ids); authors are drawn ∝ followers + 1, so popular
 * producers write more; an item belongs to its author's community and carries that community's topics.
 */
async function writeItems(w: World, followers: Int32Array, rng: Rng, out: GeneratorOutput): Promise<Items> {
  const { p, prodUser, prodComm, commStart } = w;
  const nI = p.items;
  const k = commStart.length - 1;
  const nP = prodUser.length;
  const windowSec = Math.max(1, Math.round(p.windowDays * DAY));
  const itemSec = Math.max(1, Math.min(windowSec, Math.round(p.itemWindowDays * DAY)));
  const itemStart = windowSec - itemSec;

  // Sorted uniform creation times in the item window: normalised running sums of exponential gaps.
  const created = new Int32Array(nI);
  const scratch = new Float64Array(nI);
  let acc = 0;
  for (let i = 0; i < nI; i++) {
    acc += rng.exponential();
    scratch[i] = acc;
  }
  const span = acc + rng.exponential();
  for (let i = 0; i < nI; i++) created[i] = itemStart + Math.floor((scratch[i] / span) * itemSec);

  const authorCum = new Float64Array(nP);
  for (let q = 0; q < nP; q++) authorCum[q] = followers[q] + 1;
  prefixSums(authorCum);
  const author = new Int32Array(nI);
  const commCount = new Int32Array(k + 1);
  // scratch now holds each item's popularity weight.
  for (let i = 0; i < nI; i++) {
    const q = drawFromBlock(authorCum, 0, nP, rng.next());
    author[i] = q;
    commCount[prodComm[q] + 1]++;
    scratch[i] = Math.exp(p.itemPopularitySigma * rng.normal()) * (followers[q] + 1) ** p.itemAuthorExponent;
  }
  const commItemStart = commCount;
  for (let c = 0; c < k; c++) commItemStart[c + 1] += commItemStart[c];
  const fill = commItemStart.slice(0, k);
  const commItems = new Int32Array(nI);
  const itemCum = new Float64Array(nI);
  for (let i = 0; i < nI; i++) {
    const at = fill[prodComm[author[i]]]++;
    commItems[at] = i;
    itemCum[at] = scratch[i];
  }
  prefixSums(itemCum);

  const nT = p.topicsPerCommunity;
  const topics: Uint8Array[] = [];
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < nT; j++) topics.push(encodeBytes(topicName(c, j)));
  }

  const items = out.open(FILES.items, HEADERS.socialItems);
  const truth = out.open(FILES.itemCommunity, HEADERS.itemCommunity);
  for (let i = 0; i < nI; i++) {
    const c = prodComm[author[i]];
    items.int(i);
    items.comma();
    items.int(prodUser[author[i]]);
    items.comma();
    items.int(p.epoch + created[i]);
    items.comma();
    if (nT > 0) {
      // The community's first topic always, each further one with probability ½.
      items.bytes(topics[c * nT]);
      for (let j = 1; j < nT; j++) {
        if (rng.next() < 0.5) {
          items.bytes(PIPE);
          items.bytes(topics[c * nT + j]);
        }
      }
    }
    items.endRow();
    truth.int(i);
    truth.comma();
    truth.int(c);
    truth.endRow();
    if (items.needsFlush) await items.flush();
    if (truth.needsFlush) await truth.flush();
    if ((i & PROGRESS_MASK) === 0) out.progress('items', i, nI);
  }
  out.progress('items', nI, nI);
  await out.close(FILES.items, items);
  await out.close(FILES.itemCommunity, truth);
  return { count: nI, author, created, commItemStart, commItems, itemCum };
}

/** The name of community c's topic j. */
export function topicName(c: number, j: number): string {
  return j === 0 ? `topic_${c}` : `topic_${c}_${j}`;
}

/**
 * Favs: an interest community by weight, then an item of it by popularity (or, for a μ share, any item);
 * never the user's own item, never the same item twice. A fav comes after its item's creation, and an
 * `unfavShare` of favs are retracted by a later unfav row right after it.
 */
async function writeEngagements(
  w: World,
  items: Items,
  rng: Rng,
  out: GeneratorOutput,
): Promise<{ favs: number; unfavs: number }> {
  const { p, n, prodUser } = w;
  const { count: nI, author, created, commItemStart, commItems, itemCum } = items;
  const mark = new Int32Array(nI);
  const mu = p.mixing;
  const favDelay = p.favDelayMeanSeconds;
  const unfavDelay = p.unfavDelayMeanSeconds;
  const maxFavs = Math.min(p.engagementsPerUserMax, nI);
  // Every event falls inside the window, so "now" (the latest event) is the window's end rather than the tail
  // of an exponential delay, which would age the whole catalogue by days.
  const end = Math.max(1, Math.round(p.windowDays * DAY));
  const within = (from: number, delay: number): number => {
    const t = from + 1 + Math.floor(delay);
    return t < end ? t : from + 1 + rng.int(Math.max(1, end - from - 1));
  };
  let favs = 0;
  let unfavs = 0;

  const sink = out.open(FILES.engagements, HEADERS.engagements);
  for (let u = 0; u < n; u++) {
    const stamp = u + 1;
    let f = 0;
    if (p.engagementsPerUserMean > 0 && maxFavs > 0) {
      f = Math.round(logNormal(rng, p.engagementsPerUserMean, p.engagementsPerUserSigma));
      f = Math.min(maxFavs, Math.max(p.engagementsPerUserMin, f));
    }
    for (let s = 0; s < f; s++) {
      const random = rng.nextUint32() * INV_2_32 < mu;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        let it: number;
        if (random) it = rng.int(nI);
        else {
          const c = pickInterest(w.interests, u, rng.nextUint32() * INV_2_32);
          const lo = commItemStart[c];
          const hi = commItemStart[c + 1];
          if (lo === hi) continue;
          it = commItems[drawFromBlock(itemCum, lo, hi, rng.nextUint32() * INV_2_32)];
        }
        if (mark[it] === stamp || prodUser[author[it]] === u) continue;
        mark[it] = stamp;
        const rel = within(created[it], rng.exponential() * favDelay);
        const ts = p.epoch + rel;
        sink.int(u);
        sink.comma();
        sink.int(it);
        sink.bytes(FAV);
        sink.int(ts);
        sink.endRow();
        favs++;
        if (rng.nextUint32() * INV_2_32 < p.unfavShare) {
          sink.int(u);
          sink.comma();
          sink.int(it);
          sink.bytes(UNFAV);
          sink.int(p.epoch + within(rel, rng.exponential() * unfavDelay));
          sink.endRow();
          unfavs++;
        }
        if (sink.needsFlush) await sink.flush();
        break;
      }
    }
    if ((u & PROGRESS_MASK) === 0) out.progress('engagements', u, n);
  }
  out.progress('engagements', n, n);
  await out.close(FILES.engagements, sink);
  return { favs, unfavs };
}

/** Each user follows each topic of each of its interest communities with `topicFollowProbability`. */
async function writeTopicFollows(w: World, rng: Rng, out: GeneratorOutput): Promise<number> {
  const { p, n } = w;
  const { stride, count: interN, comm: interComm } = w.interests;
  const nT = p.topicsPerCommunity;
  const k = w.commStart.length - 1;
  const topics: Uint8Array[] = [];
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < nT; j++) topics.push(encodeBytes(topicName(c, j)));
  }
  const prob = p.topicFollowProbability;
  const sink = out.open(FILES.topicFollows, HEADERS.topicFollows);
  for (let u = 0; u < n; u++) {
    for (let i = 0; i < interN[u]; i++) {
      const c = interComm[u * stride + i];
      for (let j = 0; j < nT; j++) {
        if (rng.next() >= prob) continue;
        sink.int(u);
        sink.comma();
        sink.bytes(topics[c * nT + j]);
        sink.endRow();
        if (sink.needsFlush) await sink.flush();
      }
    }
    if ((u & PROGRESS_MASK) === 0) out.progress('topic_follows', u, n);
  }
  out.progress('topic_follows', n, n);
  await out.close(FILES.topicFollows, sink);
  return sink.rows;
}
