/**
 * `simrec demo`: the whole engine on the embedded default in one command — generate a synthetic social network
 * with planted communities, build the artifacts, show what was built (and how well the planted communities were
 * recovered), then serve them over HTTP and print requests to try against real ids of the data: recommendations
 * with explanations, candidates, embeddings, and writes (a new item faved by a few users, then its live candidates).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import { generateSynthetic } from '../data/synthetic/generate.ts';
import { PRESET_NAMES, type PresetName } from '../data/synthetic/params.ts';
import { runBuild } from '../pipeline/build.ts';
import { resolveBuildConfig } from '../pipeline/config.ts';
import { type RunningServer, startServer, untilSignalled, waitUntilReady } from '../serve/server.ts';
import { listVersionDirs } from '../store/lmdb/version-listing.ts';
import { openArtifactStore } from '../store/open.ts';
import { summarize } from './build.ts';
import { type Command, intOption, parseOptions } from './command.ts';
import { createReporter } from './progress.ts';
import { formatBytes } from './versions.ts';

const HELP = `usage: simrec demo [--dir DIR] [--preset social] [--seed N] [--port 8080] [--build-only]

Generates a synthetic data set with planted communities (default: the social preset, 10^5 users, ~1.2M
follows), builds the artifacts with the embedded store, prints what was built, then serves the artifacts over
HTTP and prints curl commands to try (real ids of the data). Ctrl-C stops the server.

options:
  --dir DIR       working directory (default .simrec-demo); data in DIR/data, artifacts in DIR/artifacts
  --preset P      tiny | small | social | movies | medium (default social)
  --seed N        seed (default 1)
  --host H        address to serve on (default 127.0.0.1)
  --port P        port to serve on (default 8080; 0 picks a free one)
  --build-only    stop after the build instead of serving
  --quiet             no progress bars or log lines, only warnings and the summary
  --log-file FILE     also append every JSON log line (progress, stage details) to FILE
  -h, --help      this help
`;

/** Versions the demo leaves in its artifact directory: the new build and the one before, to roll back to. */
export const DEMO_KEEP = 2;

/** How many consumers of the planted truth are tried before the demo settles for a producer source. */
const USERS_TRIED = 50;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'generate → build → serve, on the embedded default',
  help: HELP,
  async run(argv) {
    const v = parseOptions(argv, {
      quiet: { type: 'boolean' },
      'log-file': { type: 'string' },
      dir: { type: 'string', default: '.simrec-demo' },
      preset: { type: 'string', default: 'social' },
      seed: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'build-only': { type: 'boolean', default: false },
    });
    const preset = v.preset as PresetName;
    if (!PRESET_NAMES.includes(preset)) {
      throw new SimrecError('CONFIG_INVALID', `--preset must be one of ${PRESET_NAMES.join(', ')}`, {
        field: 'preset',
      });
    }
    const seed = intOption(v, 'seed', 1, 0);
    const port = intOption(v, 'port', 8080, 0);
    if (port > 65535)
      throw new SimrecError('CONFIG_INVALID', `--port must be in [0, 65535], got ${port}`, { field: 'port' });
    const dir = resolve(v.dir as string);
    const data = join(dir, 'data');
    const artifacts = join(dir, 'artifacts');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const reporter = createReporter({
      quiet: Boolean(v.quiet),
      logFile: v['log-file'] as string | undefined,
    });
    const out = process.stdout;
    out.write(`simrec demo: ${preset} preset, seed ${seed}, in ${dir}\n\n1. generate\n`);
    const gen = await generateSynthetic({ preset, outDir: data, seed, onProgress: reporter.progress });
    reporter.close();
    const rows = Object.entries(gen.rows as Record<string, number>);
    for (const [file, n] of rows)
      out.write(`   ${file.padEnd(32)} ${n.toLocaleString('en-US').padStart(12)} rows\n`);
    // The default build trains MF too (the default strategy's dense source); on the social preset that takes
    // minutes, so the demo builds without it and says so.
    out.write(
      `\n2. build (simrec build --data ${data} --out ${artifacts}, with mf.enabled false to stay quick: ` +
        'the dense MF source and routes are left out; a build with no config includes them)\n',
    );
    const result = await runBuild({
      data,
      out: artifacts,
      config: resolveBuildConfig(undefined, { seed, mf: { enabled: false } }),
      onProgress: reporter.progress,
    });
    reporter.close();
    out.write(`${summarize(result, artifacts).replace(/^/gm, '   ')}\n`);
    // Each run adds a full version (~150 MB for the social preset); without pruning, repeated demos fill the disk.
    const sizes = new Map(listVersionDirs(artifacts).map((x) => [x.id, x.diskBytes]));
    const store = openArtifactStore(artifacts);
    const { removed } = await store.prune({ keep: DEMO_KEEP });
    await store.close();
    if (removed.length > 0) {
      const freed = removed.reduce((s, id) => s + (sizes.get(id) ?? 0), 0);
      out.write(
        `   pruned ${removed.length} older version(s), ${formatBytes(freed)} freed (the demo keeps ${DEMO_KEEP}; ` +
          `simrec versions --artifacts ${artifacts} lists them)\n`,
      );
    }
    if (v['build-only']) {
      out.write('3. next\n');
      out.write(`   npx simrec serve --artifacts ${artifacts}\n`);
      out.write(`   npx simrec export --artifacts ${artifacts} --what known-for | head\n`);
      return 0;
    }

    out.write(`3. serve (simrec serve --artifacts ${artifacts} --port ${port})\n`);
    const server = await startServer({ artifacts, host: v.host as string, port, logLevel: 'warn' });
    try {
      await waitUntilReady(server.url, 60_000);
      out.write(
        await tryItOut(
          server,
          join(data, 'truth', 'consumer_interests.csv'),
          result.dataset.dataTime ?? Math.floor(Date.now() / 1000),
        ),
      );
    } catch (e) {
      await server.close();
      throw e;
    }
    out.write(`\n   serving on ${server.url} (OpenAPI at ${server.url}/docs); Ctrl-C stops\n`);
    await untilSignalled(server);
    out.write('   stopped\n');
    return 0;
  },
};

interface Candidates {
  candidates?: { itemId: string; score: number }[];
}

interface Recommended {
  scoring: string;
  items: {
    itemId: string;
    score: number;
    explored: boolean;
    sources: { source: string; rank: number }[];
    explanation?: {
      clusters: { clusterId: number; contribution: number; topProducers: { producerId: string }[] }[];
      features: { name: string; contribution: number }[];
    };
  }[];
}

/** The item the demo creates through the write routes, so its live answers can be tried. */
export const DEMO_NEW_ITEM = 'demo-new-item';
/** Users (of those the demo found candidates for) who fav the new item. */
const NEW_ITEM_FANS = 5;

/**
 * Requests to try, with ids picked from the served version (cluster 0's members and top item) and, for the user
 * source, the first planted consumer that gets candidates; plus one live answer, so the reader sees it works.
 */
async function tryItOut(server: RunningServer, consumersFile: string, dataTime: number): Promise<string> {
  const url = server.url;
  const cluster = (await (await fetch(`${url}/v1/clusters/0?limit=3`)).json()) as {
    knownFor: { producerId: string }[];
    topItems: { itemId: string }[];
  };
  const producerId = cluster.knownFor[0]?.producerId;
  const itemId = cluster.topItems[0]?.itemId;
  let userId: string | undefined;
  let answer: Candidates | undefined;
  const fans: string[] = [];
  for (const candidate of consumers(consumersFile)) {
    const res = await postCandidates(url, { source: { userId: candidate }, params: { limit: 5 } });
    if (res.candidates && res.candidates.length > 0) {
      if (userId === undefined) {
        userId = candidate;
        answer = res;
      } else fans.push(candidate);
      if (fans.length >= NEW_ITEM_FANS) break;
    }
  }
  const lines: string[] = ['', '   try:'];
  const curl = (path: string) => lines.push(`   curl -s '${url}${path}'`);
  const postTo = (path: string, body: object) =>
    lines.push(
      `   curl -s -X POST '${url}${path}' -H 'content-type: application/json' -d '${JSON.stringify(body)}'`,
    );
  const post = (body: object) => postTo('/v1/candidates/simclusters', body);
  if (userId !== undefined) {
    curl(`/v1/users/${encodeURIComponent(userId)}/recommendations?limit=10&explain=true`);
    post({ source: { userId }, params: { limit: 10 } });
    curl(`/v1/users/${encodeURIComponent(userId)}/embedding`);
  }
  if (itemId !== undefined) {
    postTo('/v1/recommendations', { subject: { items: [itemId] }, limit: 5, explain: true });
    curl(`/v1/items/${encodeURIComponent(itemId)}/similar?limit=10`);
  }
  if (producerId !== undefined) post({ source: { producerId }, params: { limit: 10 } });
  curl('/v1/clusters/0?limit=5');
  curl('/metrics');

  // Writes (the event log and live overlay): a new item, faved by a few users, answers at once — no rebuild.
  // Run here, so the curls below already answer; re-running them appends the same events again. The favs are
  // stamped with the data's own time: the synthetic data ends at its data time, and events stamped today
  // would move the served clock on by the years in between, every item of the version that much older to
  // the ranker's age feature. (For the same reason the item is created by its first fav rather than by
  // POST /v1/items, whose record takes the time it is received.)
  if (fans.length > 0) {
    const ts = Math.floor(dataTime);
    const favs = { events: fans.map((u) => ({ userId: u, action: 'fav', itemId: DEMO_NEW_ITEM, ts })) };
    await send(url, '/v1/events', favs);
    const similar = `/v1/items/${DEMO_NEW_ITEM}/similar?limit=5`;
    const applied = await until(async () => (await fetch(`${url}${similar}`)).status === 200);
    lines.push('', `   writes: a new item faved by ${fans.length} users, then its live candidates:`);
    postTo('/v1/events', favs);
    if (applied) {
      curl(similar);
      post({ source: { itemId: DEMO_NEW_ITEM }, params: { limit: 5 } });
    } else lines.push('   (the writes were not applied within 10 s; try the similar-items curl later)');
  }

  if (userId !== undefined) {
    const res = await fetch(
      `${url}/v1/users/${encodeURIComponent(userId)}/recommendations?limit=5&explain=true&explore=0`,
    );
    if (res.ok) lines.push('', ...explainLines(userId, (await res.json()) as Recommended));
  }
  if (userId !== undefined && answer?.candidates) {
    lines.push('', `   user ${userId}'s top candidates (SimClusters ANN over their InterestedIn):`);
    for (const c of answer.candidates)
      lines.push(`     item ${c.itemId.padEnd(12)} score ${c.score.toFixed(4)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A recommendation answer as a person reads it: why each item is there. */
function explainLines(userId: string, r: Recommended): string[] {
  const out = [
    `   user ${userId}'s recommendations (two-stage: every source merged, scored by ${r.scoring === 'ranker' ? 'the trained ranker' : 'reciprocal-rank fusion'}; exploration off here):`,
  ];
  for (const item of r.items) {
    const sources = item.sources.map((p) => `${p.source} #${p.rank + 1}`).join(', ');
    out.push(`     item ${item.itemId.padEnd(12)} score ${item.score.toFixed(4)}  from ${sources}`);
    const x = item.explanation;
    const c = x?.clusters[0];
    if (c)
      out.push(
        `       cluster ${c.clusterId} (top producers ${c.topProducers.map((p) => p.producerId).join(', ') || 'none'}) matched ${c.contribution.toFixed(3)}`,
      );
    if (x && x.features.length > 0)
      out.push(
        `       ranker: ${x.features
          .slice(0, 3)
          .map((f) => `${f.name} ${f.contribution >= 0 ? '+' : ''}${f.contribution.toFixed(2)}`)
          .join(', ')}`,
      );
  }
  return out;
}

async function send(url: string, path: string, body: object): Promise<void> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202)
    throw new SimrecError('INTERNAL', `demo: POST ${path} answered ${res.status}: ${await res.text()}`);
}

/** Polls `ready` every 100 ms for up to 10 s. */
async function until(ready: () => Promise<boolean>): Promise<boolean> {
  for (let t = 0; t < 100; t++) {
    if (await ready()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function postCandidates(url: string, body: object): Promise<Candidates> {
  const res = await fetch(`${url}/v1/candidates/simclusters`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Candidates;
}

/** The first consumer ids of the planted truth (the generator writes it beside the data). */
function consumers(file: string): string[] {
  if (!existsSync(file)) return [];
  const ids = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
    const id = line.split(',')[0];
    if (id) ids.add(id);
    if (ids.size >= USERS_TRIED) break;
  }
  return [...ids];
}
