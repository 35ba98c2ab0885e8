/** Child process of bench/ingest.ts: loads one directory and reports time and peak RSS of this process alone. */
import { loadDataset } from '../src/data/load.ts';

const dir = process.argv[2];
const t0 = process.hrtime.bigint();
const d = await loadDataset(dir, { require: ['follows'] });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(
  `${JSON.stringify({ seconds, rows: d.stats.followEdges + d.stats.duplicateFollowsMerged + d.stats.selfFollowsDropped, users: d.stats.users, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
