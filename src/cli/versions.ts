/**
 * `simrec versions`: the artifact versions of a store as a user manages them — list, prune, switch. Switching
 * only rewrites the `current` pointer (atomically, under the store's lock), so a running `simrec serve` picks
 * it up exactly as it picks up a new build.
 */
import { parseArgs } from 'node:util';
import { SimrecError } from '../core/errors.ts';
import { listVersionDirs, type VersionListing } from '../store/lmdb/version-listing.ts';
import { localStoreDirectory, openArtifactStore } from '../store/open.ts';
import { assertVersionId } from '../store/version-id.ts';
import { type Command, intOption, required } from './command.ts';

const HELP = `usage: simrec versions [list] --artifacts LOC [--json]
       simrec versions prune --artifacts LOC --keep N
       simrec versions use ID --artifacts LOC

list    every version, oldest first: id, when it was committed (UTC), size on disk, state (committed,
        uncommitted: a build running or one that died, corrupt: unreadable manifest) and the counts its
        build recorded; '*' marks the current version. --json prints the same as JSON, manifests included.
prune   deletes all but the N newest committed versions; the current version is always kept, also when
        older. Uncommitted directories are deleted too: prune waits for no build, it fails with
        ARTIFACT_LOCKED while one holds the store.
use     makes ID current (roll back or forward). ID must be committed and its manifest valid. A running
        'simrec serve' on DIR switches to it within its --poll-ms (or at once on SIGHUP), like after a build.

options:
  --artifacts LOC   artifact store: a directory or file:// URL
  --keep N          prune: committed versions to keep (≥ 1)
  --json            list: machine-readable output
  -h, --help        this help
`;

const SUBCOMMANDS = ['list', 'prune', 'use'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Sizes as a person reads them (powers of 1024, one decimal). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${x.toFixed(1)} ${units[i]}`;
}

/** Words joined into lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(words: string[], width = COUNTS_WIDTH): string[] {
  const lines: string[] = [];
  for (const w of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + w.length <= width) lines[last] += ` ${w}`;
    else lines.push(w);
  }
  return lines;
}

/** Counts lines stay within a 100-column terminal after their 4-space indent. */
const COUNTS_WIDTH = 96;

/** The listing as a table, one line per version plus its counts, wrapped, under each committed one. */
export function formatListing(root: string, versions: VersionListing[]): string {
  if (versions.length === 0) return `${root}: no versions\n`;
  const rows = versions.map((v) => ({
    mark: v.current ? '*' : ' ',
    id: v.id,
    date: v.manifest ? v.manifest.committedAt.replace('T', ' ').replace(/\.\d+Z$/, '') : '-',
    size: formatBytes(v.diskBytes),
    state: v.state === 'corrupt' ? `corrupt: ${v.problem}` : v.state,
    counts: v.manifest ? wrap(Object.entries(v.manifest.counts).map(([k, n]) => `${k}=${n}`)) : [],
  }));
  const w = {
    id: Math.max(2, ...rows.map((r) => r.id.length)),
    date: Math.max(19, ...rows.map((r) => r.date.length)),
    size: Math.max(4, ...rows.map((r) => r.size.length)),
  };
  const total = versions.reduce((s, v) => s + v.diskBytes, 0);
  const current = versions.find((v) => v.current)?.id ?? 'none';
  const lines = [
    `  ${'ID'.padEnd(w.id)}  ${'COMMITTED (UTC)'.padEnd(w.date)}  ${'SIZE'.padStart(w.size)}  STATE`,
    ...rows.flatMap((r) => [
      `${r.mark} ${r.id.padEnd(w.id)}  ${r.date.padEnd(w.date)}  ${r.size.padStart(w.size)}  ${r.state}`,
      ...r.counts.map((line) => `    ${line}`),
    ]),
    `${versions.length} version(s), ${formatBytes(total)} on disk; current: ${current}`,
  ];
  return `${lines.join('\n')}\n`;
}

const OPTIONS = {
  artifacts: { type: 'string' },
  keep: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function parse(argv: string[]) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    throw new SimrecError('CONFIG_INVALID', (e as Error).message, {}, { cause: e });
  }
  const [sub = 'list', ...rest] = parsed.positionals;
  if (!SUBCOMMANDS.includes(sub as Subcommand))
    throw new SimrecError(
      'CONFIG_INVALID',
      `unknown versions subcommand '${sub}' (expected ${SUBCOMMANDS.join(', ')})`,
      { field: 'subcommand' },
    );
  const wanted = sub === 'use' ? 1 : 0;
  if (rest.length !== wanted)
    throw new SimrecError(
      'CONFIG_INVALID',
      sub === 'use'
        ? 'versions use takes exactly one version id'
        : `versions ${sub} takes no arguments besides options, got '${rest.join(' ')}'`,
      { field: sub === 'use' ? 'id' : 'subcommand' },
    );
  return { sub: sub as Subcommand, id: rest[0], values: parsed.values };
}

/** The command, writing to `out` (the CLI passes stdout). */
export async function runVersions(argv: string[], out: { write(s: string): unknown }): Promise<number> {
  const { sub, id, values } = parse(argv);
  const root = localStoreDirectory(required(values, 'artifacts'), 'artifacts');
  if (sub !== 'prune' && values.keep !== undefined)
    throw new SimrecError('CONFIG_INVALID', '--keep is only for versions prune', { field: 'keep' });
  if (sub !== 'list' && values.json)
    throw new SimrecError('CONFIG_INVALID', '--json is only for versions list', { field: 'json' });

  if (sub === 'list') {
    const versions = listVersionDirs(root);
    out.write(
      values.json ? `${JSON.stringify({ root, versions }, null, 2)}\n` : formatListing(root, versions),
    );
    return 0;
  }

  const store = openArtifactStore(root, { field: 'artifacts' });
  try {
    if (sub === 'use') {
      assertVersionId(id as string);
      const before = await store.currentVersionId();
      await store.activate(id as string);
      out.write(
        before === id
          ? `${id} was already current in ${root}\n`
          : `current: ${before ?? 'none'} → ${id} in ${root}\n`,
      );
      return 0;
    }
    if (values.keep === undefined)
      throw new SimrecError('CONFIG_INVALID', '--keep is required', { field: 'keep' });
    const keep = intOption(values, 'keep', 0, 1);
    const sizes = new Map(listVersionDirs(root).map((v) => [v.id, v.diskBytes]));
    const { removed, kept } = await store.prune({ keep });
    const freed = removed.reduce((s, r) => s + (sizes.get(r) ?? 0), 0);
    out.write(
      `removed ${removed.length} version(s), ${formatBytes(freed)} freed${removed.length ? `: ${removed.join(' ')}` : ''}\n` +
        `kept ${kept.length}: ${kept.join(' ')}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

export const versionsCommand: Command = {
  name: 'versions',
  summary: 'list artifact versions, prune old ones, or switch the current one',
  help: HELP,
  run: (argv) => runVersions(argv, process.stdout),
};
