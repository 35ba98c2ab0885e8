/**
 * The log applier of one serving process (issue 15 item 4, DESIGN §9): it tails the event log and applies every
 * record, in offset order, to the overlay of the version this process serves, so every process appending to and
 * reading one log answers alike. It reads every `pollMs` (records other processes appended) and at once after a
 * local append, and gives the event loop back after `sliceMs` of applying, so a long replay never stalls
 * requests.
 *
 * Version switch (rebase): a new version's overlay starts from the offset that version absorbed (records at or
 * below it are already in the version), or from the version's checkpoint when one covers more, and replays the
 * log from there. Requests that still hold the old version keep its overlay until they finish.
 *
 * Checkpoints: every `checkpointEvery` records, or every `checkpointMs` when at least `checkpointMinRecords` were
 * applied meanwhile, and at close, the overlay is serialized into the log's checkpoint slot for its version, so a
 * restart replays a bounded tail. With `--workers N` every worker writes its own (the same state at its offset;
 * the latest wins).
 *
 * Lag: records in the log not yet applied, and how long the oldest of them has waited, in seconds. When it was
 * appended is not stored, so the wait is bounded from above twice and the smaller bound reported: by its `ts`
 * (when it happened, no later than its append, except for clocks that disagree) and by the last time this
 * applier had applied the whole log (it was appended after that). The second bound keeps the figure honest for
 * events sent with old timestamps (a backfill), where the first would report their age. The write routes
 * refuse new events (429) while the record lag exceeds the bound, which bounds both the backlog and the memory a
 * catch-up needs.
 */

import { SimrecError } from '../core/errors.ts';
import type { LoggedRecord } from '../core/event.ts';
import { LiveOverlay, type LiveOverlayStats } from '../query/live/overlay.ts';
import type { LiveModel, ServingModel } from '../query/serving-model.ts';
import type { EventLog } from '../store/event-log.ts';

/** What the applier needs of an overlay (query/live/overlay.ts's LiveOverlay). */
export interface AppliedOverlay {
  /** The last offset applied; −1 before any. */
  readonly appliedOffset: number;
  /** A model answering from the version and this overlay. */
  readonly model: ServingModel;
  /** Applies records in offset order; records at or below appliedOffset are skipped. */
  apply(records: readonly LoggedRecord[]): void;
  serialize(): Uint8Array;
  /** Counters and sizes for /metrics. */
  stats(): OverlayStats;
}

/** What /metrics shows of an overlay (a part of LiveOverlayStats). */
export type OverlayStats = Pick<
  LiveOverlayStats,
  'applied' | 'newItems' | 'newUsers' | 'itemRows' | 'usersWithState' | 'deletedItems'
>;

/** How overlays are made: the live overlay in production, something smaller in tests. */
export interface OverlayFactory {
  /** An empty overlay over the version of `model`, whose records up to `absorbed` are already in the version. */
  create(model: ServingModel, absorbed: number): Promise<AppliedOverlay>;
  /** The overlay a checkpoint of the same version holds. */
  restore(model: ServingModel, bytes: Uint8Array): Promise<AppliedOverlay>;
  /** The last log offset the version absorbed at build time (−1: none). */
  absorbed(model: ServingModel): number;
}

export interface ApplierOptions {
  /** How often to look for records other processes appended, ms (default 25). */
  pollMs?: number;
  /**
   * Longest wait between looks while the log is quiet, ms (default 200): each look that finds nothing doubles
   * the wait from pollMs up to this; a record found, or an append by this process, brings it back to pollMs. An
   * idle two-worker server otherwise spent several times the CPU of one without the log looking every 25 ms.
   */
  idlePollMs?: number;
  /** Records read per log read (default 4096). */
  readBatch?: number;
  /** Longest one pass applies before giving the event loop back, ms (default 10). */
  sliceMs?: number;
  /** Checkpoint after this many records applied (default 1,000,000; 0: never by count). */
  checkpointEvery?: number;
  /**
   * Checkpoint after this long, ms, when at least checkpointMinRecords were applied meanwhile (default 600,000;
   * 0: never by time).
   */
  checkpointMs?: number;
  /** Fewer records than this replay in well under a second: not worth a checkpoint by time (default 10,000). */
  checkpointMinRecords?: number;
  /** Background failures (a version whose overlay cannot be built, a checkpoint that cannot be written). */
  onError?: (e: unknown) => void;
  /** Told after each version's overlay is ready, with where it started. */
  onRebase?: (version: string, from: { offset: number; checkpoint: boolean }) => void;
}

export const APPLIER_DEFAULTS = {
  pollMs: 25,
  idlePollMs: 200,
  readBatch: 4096,
  sliceMs: 10,
  // A checkpoint serializes the whole overlay on the event loop (tens of MB and most of a second after 10^6
  // events on the social preset), so it is written rarely: replaying a million records is cheaper than
  // stalling every request that often.
  checkpointEvery: 1_000_000,
  checkpointMs: 600_000,
  checkpointMinRecords: 10_000,
} as const;

/**
 * The live overlay (query/live/overlay.ts) as the applier's overlay. A version's overlay starts after the last
 * offset its build absorbed (manifest `extra.events`; −1 when it read no log), and counts as engagements the
 * actions its build config declared as well as those given here.
 */
export function liveOverlays(options: { engagementActions?: readonly string[] } = {}): OverlayFactory {
  const actions = (model: ServingModel) => ({
    engagementActions: [...new Set([...(options.engagementActions ?? []), ...model.engagementActions])],
  });
  return {
    create: (model, absorbed) => LiveOverlay.create(model, { ...actions(model), fromOffset: absorbed }),
    restore: (model, bytes) => LiveOverlay.restore(model, bytes, actions(model)),
    absorbed: (model) => model.absorbedOffset,
  };
}

/** The checkpoint slot of a version's overlay in the log. */
export function checkpointKey(version: string): string {
  return `overlay/${version}`;
}

interface State {
  model: ServingModel;
  overlay: AppliedOverlay;
  /** Records applied since the last checkpoint, and when it was written. */
  sinceCheckpoint: number;
  checkpointAt: number;
}

export class LogApplier {
  private readonly o: Required<Omit<ApplierOptions, 'onError' | 'onRebase'>> & ApplierOptions;
  /** Each version's overlay, for requests that hold that version. */
  private readonly overlays = new WeakMap<ServingModel, AppliedOverlay>();
  private state: State | null = null;
  /** The wait before the next look while nothing arrives (see idlePollMs). */
  private quietDelay = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private caughtUp = false;
  private caughtUpOnce = false;
  /** When the whole log was last seen applied (Unix seconds); the applier's start before that. */
  private caughtUpAt = Date.now() / 1000;
  private lastError = '';

  constructor(
    private readonly log: EventLog,
    private readonly live: LiveModel,
    private readonly factory: OverlayFactory,
    options: ApplierOptions = {},
  ) {
    this.o = { ...APPLIER_DEFAULTS, ...options };
  }

  /** Starts tailing the log. */
  start(): void {
    this.schedule(0);
  }

  /** A local append landed: apply it now instead of at the next poll. */
  poke(): void {
    if (this.closed) return;
    this.quietDelay = this.o.pollMs;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** The model to answer from for a request holding `model`: its version with the overlay, when there is one. */
  view(model: ServingModel): ServingModel {
    return this.overlays.get(model)?.model ?? model;
  }

  /** The overlay of the version served now, or null before the first is ready. */
  get overlay(): AppliedOverlay | null {
    return this.state?.overlay ?? null;
  }

  /** The next offset to apply (every record below it is applied), or −1 before the first overlay is ready. */
  get nextOffset(): number {
    return this.state ? this.state.overlay.appliedOffset + 1 : -1;
  }

  /** Whether the overlay has caught up with the log at least once since this version went live. */
  get ready(): boolean {
    return this.caughtUp;
  }

  /**
   * Whether the applier is still replaying what the log held when it started (records are unapplied and it has
   * never caught up): the process answers from a version that misses those events. A version switch does not
   * set it again — every process switches at once, and the old state answers meanwhile.
   */
  get replaying(): boolean {
    return !this.caughtUpOnce && this.lagEvents() > 0;
  }

  /** Records in the log not applied yet (all of them before the first overlay is ready). */
  lagEvents(): number {
    const end = this.log.end();
    const next = this.state ? this.state.overlay.appliedOffset + 1 : this.log.start();
    return Math.max(0, end - Math.max(next, this.log.start()));
  }

  /** How long the oldest unapplied record has waited, seconds, bounded as the module says (0 when none). */
  lagSeconds(now = Date.now() / 1000): number {
    const next = this.state ? this.state.overlay.appliedOffset + 1 : this.log.start();
    if (next >= this.log.end()) return 0;
    const oldest = this.log.read(next, 1)[0];
    const sinceCaughtUp = now - this.caughtUpAt;
    return Math.max(0, oldest ? Math.min(now - oldest.ts, sinceCaughtUp) : sinceCaughtUp);
  }

  /**
   * Resolves once every record below `offset` is applied to the current version's overlay (or rejects after
   * timeoutMs with INTERNAL). For tests and for callers that want to read their own writes.
   */
  async waitFor(offset: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.nextOffset < offset || this.state?.model !== this.live.current) {
      if (Date.now() > deadline)
        throw new SimrecError('INTERNAL', `the applier did not reach offset ${offset} in ${timeoutMs} ms`);
      this.poke();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops tailing; writes a last checkpoint when anything was applied since the previous one. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    const s = this.state;
    if (s && s.sinceCheckpoint > 0) await this.checkpoint(s).catch((e) => this.report(e));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pass().then((applied) => {
        this.running = null;
        const now = this.again;
        this.again = false;
        // More to apply (a slice ran out, or a local append came in meanwhile): at once; else at the next poll,
        // later and later while the log stays quiet.
        this.quietDelay =
          applied || now
            ? this.o.pollMs
            : Math.min(this.o.idlePollMs, Math.max(this.o.pollMs, this.quietDelay * 2));
        this.schedule(now ? 0 : this.quietDelay);
      });
    }, ms);
    // Tailing alone keeps no process alive.
    this.timer.unref?.();
  }

  /** Applies what the log holds beyond the overlay; true when it applied anything (or rebased). */
  private async pass(): Promise<boolean> {
    let applied = false;
    try {
      const model = this.live.current;
      if (!model) return false;
      if (this.state?.model !== model) {
        await this.rebase(model);
        applied = true;
      }
      const s = this.state;
      if (!s || s.model !== model || this.closed) return applied;
      const until = performance.now() + this.o.sliceMs;
      for (;;) {
        let next = s.overlay.appliedOffset + 1;
        const start = this.log.start();
        if (next < start) {
          // Compacted past what this overlay needs: those records are gone. Said once per gap; the overlay
          // continues from what is left.
          this.report(
            new SimrecError(
              'ARTIFACT_MISSING',
              `the event log was compacted up to offset ${start} but version ${model.version}'s overlay had ` +
                `applied only up to ${next - 1}: records ${next}..${start - 1} are lost to this server`,
              { field: 'events' },
            ),
          );
          next = start;
        }
        const readAt = Date.now() / 1000;
        const records = this.log.read(next, this.o.readBatch);
        if (records.length === 0) {
          this.markCaughtUp(readAt);
          break;
        }
        s.overlay.apply(records);
        applied = true;
        s.sinceCheckpoint += records.length;
        const endAt = Date.now() / 1000;
        if (s.overlay.appliedOffset + 1 >= this.log.end()) this.markCaughtUp(endAt);
        if (performance.now() >= until) {
          this.again = true;
          break;
        }
      }
      if (this.checkpointDue(s)) await this.checkpoint(s);
    } catch (e) {
      this.report(e);
    }
    return applied;
  }

  /** Every record appended before `at` is applied. */
  private markCaughtUp(at: number): void {
    this.caughtUp = true;
    this.caughtUpOnce = true;
    this.caughtUpAt = at;
  }

  private checkpointDue(s: State): boolean {
    if (s.sinceCheckpoint === 0) return false;
    if (this.o.checkpointEvery > 0 && s.sinceCheckpoint >= this.o.checkpointEvery) return true;
    return (
      this.o.checkpointMs > 0 &&
      s.sinceCheckpoint >= this.o.checkpointMinRecords &&
      Date.now() - s.checkpointAt >= this.o.checkpointMs
    );
  }

  private async checkpoint(s: State): Promise<void> {
    const offset = s.overlay.appliedOffset + 1;
    const bytes = s.overlay.serialize();
    s.sinceCheckpoint = 0;
    s.checkpointAt = Date.now();
    await this.log.putCheckpoint(checkpointKey(s.model.version), bytes, offset);
  }

  /** A fresh overlay for a newly served version: from its checkpoint when that covers more than the version. */
  private async rebase(model: ServingModel): Promise<void> {
    this.caughtUp = false;
    const absorbed = this.factory.absorbed(model);
    let overlay: AppliedOverlay | null = null;
    let fromCheckpoint = false;
    const cp = this.log.getCheckpoint(checkpointKey(model.version));
    if (cp && cp.offset - 1 > absorbed) {
      try {
        overlay = await this.factory.restore(model, cp.bytes);
        fromCheckpoint = true;
      } catch (e) {
        // An unreadable checkpoint (another code version's format, damage) costs a longer replay, not the server.
        this.report(e);
      }
    }
    overlay ??= await this.factory.create(model, absorbed);
    this.overlays.set(model, overlay);
    this.state = { model, overlay, sinceCheckpoint: 0, checkpointAt: Date.now() };
    this.o.onRebase?.(model.version, { offset: overlay.appliedOffset + 1, checkpoint: fromCheckpoint });
  }

  private report(e: unknown): void {
    // The same failure every poll is said once.
    const key = `${(e as { code?: string })?.code}:${(e as Error)?.message}`;
    if (key === this.lastError) return;
    this.lastError = key;
    if (this.o.onError) this.o.onError(e);
    else process.emitWarning(`simrec applier: ${(e as Error)?.message ?? String(e)}`);
  }
}
