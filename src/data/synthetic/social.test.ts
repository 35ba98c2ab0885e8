import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type GeneratorSummary, generateSynthetic } from './generate.ts';
import type { SocialCounts } from './social.ts';
import { readTable, type Table } from './test-support.ts';

const root = mkdtempSync(join(tmpdir(), 'simrec-social-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Generated {
  dir: string;
  summary: GeneratorSummary;
  follows: Table;
  engagements: Table;
  items: Table;
  topicFollows: Table;
  producerCommunity: Table;
  interests: Table;
  itemCommunity: Table;
}

const cache = new Map<string, Promise<Generated>>();
function generated(preset: 'tiny' | 'small', mixing?: number): Promise<Generated> {
  const key = `${preset}-${mixing}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const dir = join(root, key);
      const summary = await generateSynthetic({
        preset,
        outDir: dir,
        seed: 11,
        params: mixing === undefined ? undefined : { mixing },
      });
      return {
        dir,
        summary,
        follows: readTable(join(dir, 'follows.csv')),
        engagements: readTable(join(dir, 'engagements.csv')),
        items: readTable(join(dir, 'items.csv')),
        topicFollows: readTable(join(dir, 'topic_follows.csv')),
        producerCommunity: readTable(join(dir, 'truth/producer_community.csv')),
        interests: readTable(join(dir, 'truth/consumer_interests.csv')),
        itemCommunity: readTable(join(dir, 'truth/item_community.csv')),
      };
    })();
    cache.set(key, p);
  }
  return p;
}

/** Consumer id → its interest communities, producer id → community. */
function truthMaps(g: Generated) {
  const interests = new Map<string, Set<number>>();
  for (const [u, c] of g.interests.rows) {
    let s = interests.get(u);
    if (!s) interests.set(u, (s = new Set()));
    s.add(Number(c));
  }
  const community = new Map<string, number>();
  for (const [p, c] of g.producerCommunity.rows) community.set(p, Number(c));
  return { interests, community };
}

test('tiny: every file has the header DESIGN §2 names, and the counts of the summary', async () => {
  const g = await generated('tiny');
  assert.equal(g.follows.header, 'consumer_id,producer_id,ts');
  assert.equal(g.engagements.header, 'user_id,item_id,action,weight,ts');
  assert.equal(g.items.header, 'item_id,author_id,created_ts,tags');
  assert.equal(g.topicFollows.header, 'user_id,topic');
  assert.equal(g.producerCommunity.header, 'producer_id,community');
  assert.equal(g.interests.header, 'consumer_id,community,weight');
  assert.equal(g.itemCommunity.header, 'item_id,community');
  const c = g.summary.counts as SocialCounts;
  assert.equal(c.users, 400);
  assert.equal(c.producers, 60);
  assert.equal(c.communities, 4);
  assert.equal(g.follows.rows.length, c.follows);
  assert.equal(g.engagements.rows.length, c.favs + c.unfavs);
  assert.equal(g.items.rows.length, 400);
  assert.equal(g.producerCommunity.rows.length, 60);
  assert.equal(g.topicFollows.rows.length, c.topicFollows);
  assert.deepEqual(g.summary.rows, {
    'truth/producer_community.csv': 60,
    'truth/consumer_interests.csv': g.interests.rows.length,
    'follows.csv': c.follows,
    'items.csv': 400,
    'truth/item_community.csv': 400,
    'engagements.csv': c.favs + c.unfavs,
    'topic_follows.csv': c.topicFollows,
  });
  const json = JSON.parse(readFileSync(join(g.dir, 'generator.json'), 'utf8'));
  assert.equal(json.preset, 'tiny');
  assert.equal(json.seed, 11);
  assert.equal(json.scale, 1);
  assert.equal(json.params.mixing, 0.1);
  assert.equal(json.params.users, 400);
  assert.deepEqual(json.rows, g.summary.rows);
  assert.deepEqual(json.counts, c);
});

test('tiny: one id space; producers are users with a community; all planted communities are used', async () => {
  const g = await generated('tiny');
  const { community } = truthMaps(g);
  for (const [u] of g.interests.rows) assert.match(u, /^(0|[1-9]\d*)$/);
  const users = new Set(g.interests.rows.map((r) => r[0]));
  assert.equal(users.size, 400);
  for (const [p, c] of g.producerCommunity.rows) {
    assert.ok(users.has(p), `producer ${p} is a user`);
    assert.ok(Number(c) >= 0 && Number(c) < 4);
  }
  assert.deepEqual([...new Set(community.values())].sort(), [0, 1, 2, 3]);
  // Zipf sizes with a floor of 10 over 60 producers: 20 above the floor, split ∝ 1, 2^-0.8, 3^-0.8, 4^-0.8.
  const sizes = [0, 0, 0, 0];
  for (const c of community.values()) sizes[c]++;
  assert.deepEqual(sizes, [19, 15, 13, 13]);
});

test('tiny: no self-follows, no duplicate follows, producers only on the right, ts inside the window', async () => {
  const g = await generated('tiny');
  const { community } = truthMaps(g);
  const seen = new Set<string>();
  const start = 1_700_000_000;
  const end = start + 90 * 86400;
  for (const [u, p, ts] of g.follows.rows) {
    assert.notEqual(u, p);
    assert.ok(community.has(p), `followed ${p} is a producer`);
    const key = `${u},${p}`;
    assert.ok(!seen.has(key), `duplicate follow ${key}`);
    seen.add(key);
    const t = Number(ts);
    assert.ok(Number.isInteger(t) && t >= start && t < end, `ts ${ts}`);
  }
});

test('tiny: interest weights sum to 1, 1–3 per consumer; a producer is interested in its own community', async () => {
  const g = await generated('tiny');
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const [u, , w] of g.interests.rows) {
    const x = Number(w);
    assert.ok(x > 0 && x <= 1, `weight ${w}`);
    sums.set(u, (sums.get(u) ?? 0) + x);
    counts.set(u, (counts.get(u) ?? 0) + 1);
  }
  for (const s of sums.values()) assert.ok(Math.abs(s - 1) < 1e-9, `sum ${s}`);
  for (const n of counts.values()) assert.ok(n >= 1 && n <= 3);
  const { interests, community } = truthMaps(g);
  for (const [p, c] of community) assert.ok(interests.get(p)!.has(c), `producer ${p} interested in ${c}`);
});

test('tiny: items are authored by producers, belong to their author’s community, carry its topics', async () => {
  const g = await generated('tiny');
  const { community } = truthMaps(g);
  const itemComm = new Map(g.itemCommunity.rows.map(([i, c]) => [i, Number(c)]));
  let prev = 0;
  for (const [id, author, created, tags] of g.items.rows) {
    assert.ok(community.has(author), `author ${author} is a producer`);
    const c = community.get(author)!;
    assert.equal(itemComm.get(id), c);
    const list = tags.split('|');
    assert.equal(list[0], `topic_${c}`);
    for (const t of list.slice(1)) assert.equal(t, `topic_${c}_1`);
    // Ids are in creation order, like tweet ids.
    assert.ok(Number(created) >= prev);
    prev = Number(created);
  }
});

test('tiny: favs follow item creation, never the user’s own item, at most once; unfavs retract earlier favs', async () => {
  const g = await generated('tiny');
  const items = new Map(
    g.items.rows.map(([id, author, created]) => [id, { author, created: Number(created) }]),
  );
  const favTs = new Map<string, number>();
  let unfavs = 0;
  for (const [u, i, action, weight, ts] of g.engagements.rows) {
    const item = items.get(i);
    assert.ok(item, `engaged item ${i} exists`);
    assert.equal(weight, '1');
    const key = `${u},${i}`;
    if (action === 'fav') {
      assert.ok(!favTs.has(key), `duplicate fav ${key}`);
      assert.notEqual(item.author, u);
      assert.ok(Number(ts) > item.created);
      favTs.set(key, Number(ts));
    } else {
      assert.equal(action, 'unfav');
      unfavs++;
      assert.ok(favTs.has(key), `unfav ${key} follows a fav of the pair`);
      assert.ok(Number(ts) > favTs.get(key)!, 'unfav is later than the fav');
    }
  }
  assert.equal(unfavs, (g.summary.counts as SocialCounts).unfavs);
  assert.ok(unfavs > 0);
});

test('tiny: topic follows are topics of the user’s interest communities', async () => {
  const g = await generated('tiny');
  const { interests } = truthMaps(g);
  assert.ok(g.topicFollows.rows.length > 0);
  for (const [u, topic] of g.topicFollows.rows) {
    const m = /^topic_(\d+)(_1)?$/.exec(topic);
    assert.ok(m, topic);
    assert.ok(interests.get(u)!.has(Number(m[1])), `${u} follows ${topic}`);
  }
});

test('tiny with μ = 0: every follow and every fav is inside the consumer’s interests', async () => {
  const g = await generated('tiny', 0);
  const { interests, community } = truthMaps(g);
  const itemComm = new Map(g.itemCommunity.rows.map(([i, c]) => [i, Number(c)]));
  for (const [u, p] of g.follows.rows) assert.ok(interests.get(u)!.has(community.get(p)!));
  for (const [u, i] of g.engagements.rows) assert.ok(interests.get(u)!.has(itemComm.get(i)!));
  assert.equal((g.summary.counts as SocialCounts).randomFollows, 0);
});

test('small: planted structure — share of follows inside interests ≈ 1 − μ + μ·(chance hit), heavy tails', async () => {
  const g = await generated('small');
  const c = g.summary.counts as SocialCounts;
  assert.equal(c.producers, 1000);
  assert.equal(c.communities, 16);
  assert.ok(c.follows > 80_000 && c.follows < 120_000, `follows ${c.follows}`);
  const { interests, community } = truthMaps(g);
  const size = new Map<number, number>();
  for (const k of community.values()) size.set(k, (size.get(k) ?? 0) + 1);
  let inside = 0;
  let chance = 0;
  const outDegree = new Map<string, number>();
  const followers = new Map<string, number>();
  for (const [u, p] of g.follows.rows) {
    const mine = interests.get(u)!;
    if (mine.has(community.get(p)!)) inside++;
    // A uniformly random producer lands in u's interests with probability (their producers) / 1000.
    let n = 0;
    for (const k of mine) n += size.get(k)!;
    chance += n / 1000;
    outDegree.set(u, (outDegree.get(u) ?? 0) + 1);
    followers.set(p, (followers.get(p) ?? 0) + 1);
  }
  const mu = 0.1;
  const expected = 1 - mu + (mu * chance) / c.follows;
  assert.ok(Math.abs(inside / c.follows - expected) < 0.01, `inside ${inside / c.follows} vs ${expected}`);
  assert.ok(Math.abs(c.randomFollows / c.follows - mu) < 0.01);

  // Heavy tails: the largest out-degree and follower count are many times the median.
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const deg = [...outDegree.values()];
  const fol = [...followers.values()];
  assert.ok(Math.max(...deg) > 15 * median(deg), `out-degree max ${Math.max(...deg)} median ${median(deg)}`);
  assert.ok(Math.max(...fol) > 8 * median(fol), `followers max ${Math.max(...fol)} median ${median(fol)}`);
  // Every producer is followed often enough to take part in similarity (minFollowers 10).
  assert.equal(followers.size, 1000);
  assert.ok(Math.min(...fol) >= 10);

  // Favs: the same mixing, on items of the interest communities.
  const itemComm = new Map(g.itemCommunity.rows.map(([i, k]) => [i, Number(k)]));
  let favs = 0;
  let favInside = 0;
  for (const [u, i, action] of g.engagements.rows) {
    if (action !== 'fav') continue;
    favs++;
    if (interests.get(u)!.has(itemComm.get(i)!)) favInside++;
  }
  assert.ok(favInside / favs > 0.9 && favInside / favs < 0.95, `fav share ${favInside / favs}`);
  // Popular producers write more: authors are drawn ∝ followers + 1, so the top 10% of producers by
  // followers write their share of (followers + 1) — far more than 10% of the items.
  const byFollowers = [...followers.entries()].sort((a, b) => b[1] - a[1]);
  const top = new Set(byFollowers.slice(0, 100).map(([p]) => p));
  let topMass = 0;
  let mass = 0;
  for (const [p, f] of byFollowers) {
    mass += f + 1;
    if (top.has(p)) topMass += f + 1;
  }
  const topItems = g.items.rows.filter(([, author]) => top.has(author)).length / g.items.rows.length;
  assert.ok(topMass / mass > 0.2, `top producers' share ${topMass / mass}`);
  assert.ok(
    Math.abs(topItems - topMass / mass) < 0.03,
    `top producers wrote ${topItems} vs ${topMass / mass}`,
  );
});

test('small: follower sets are far more alike inside a community than across (what SimClusters recovers)', async () => {
  const g = await generated('small');
  const { community } = truthMaps(g);
  const followerSets = new Map<string, Set<string>>();
  for (const [u, p] of g.follows.rows) {
    let s = followerSets.get(p);
    if (!s) followerSets.set(p, (s = new Set()));
    s.add(u);
  }
  // The 5 most followed producers of each community, compared pairwise by cosine of follower sets.
  const top = new Map<number, string[]>();
  const ranked = [...followerSets.entries()].sort((a, b) => b[1].size - a[1].size || (a[0] < b[0] ? -1 : 1));
  for (const [p] of ranked) {
    const k = community.get(p)!;
    const list = top.get(k) ?? [];
    if (list.length < 5) list.push(p);
    top.set(k, list);
  }
  const cos = (a: Set<string>, b: Set<string>) => {
    let n = 0;
    for (const x of a) if (b.has(x)) n++;
    return n / Math.sqrt(a.size * b.size);
  };
  let same = 0;
  let sameN = 0;
  let cross = 0;
  let crossN = 0;
  const all = [...top.entries()].flatMap(([k, ps]) => ps.map((p) => ({ k, p })));
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const s = cos(followerSets.get(all[i].p)!, followerSets.get(all[j].p)!);
      if (all[i].k === all[j].k) {
        same += s;
        sameN++;
      } else {
        cross += s;
        crossN++;
      }
    }
  }
  assert.ok(same / sameN > 10 * (cross / crossN), `same ${same / sameN} cross ${cross / crossN}`);
});
