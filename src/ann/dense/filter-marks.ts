/**
 * Per-query allow/deny membership by epoch stamps: marking a list costs O(list) and nothing is ever cleared,
 * because the next query uses the next epoch. Shared by the exact and HNSW backends.
 */
export class FilterMarks {
  private allowStamp: Uint32Array = new Uint32Array(0);
  private denyStamp: Uint32Array = new Uint32Array(0);
  private seenStamp: Uint32Array = new Uint32Array(0);
  private epoch = 0;
  private allow = false;
  private deny = false;

  /** Makes room for ids below capacity. */
  ensure(capacity: number): void {
    if (capacity <= this.allowStamp.length) return;
    this.allowStamp = grow(this.allowStamp, capacity);
    this.denyStamp = grow(this.denyStamp, capacity);
    this.seenStamp = grow(this.seenStamp, capacity);
  }

  /**
   * Starts a query and marks its lists; ids that are not integers in [0, limit) are ignored. limit must not
   * exceed the capacity given to {@link ensure}.
   */
  begin(allow: ArrayLike<number> | undefined, deny: ArrayLike<number> | undefined, limit: number): void {
    if (this.epoch === 0xffffffff) {
      // Wrapping would make stale stamps look current; restart from clean arrays instead.
      this.allowStamp.fill(0);
      this.denyStamp.fill(0);
      this.seenStamp.fill(0);
      this.epoch = 0;
    }
    const ep = ++this.epoch;
    this.allow = allow !== undefined;
    this.deny = deny !== undefined && deny.length > 0;
    if (allow) stamp(this.allowStamp, allow, ep, limit);
    if (deny) stamp(this.denyStamp, deny, ep, limit);
  }

  get hasAllow(): boolean {
    return this.allow;
  }

  get hasDeny(): boolean {
    return this.deny;
  }

  /**
   * The current query's stamp arrays and epoch, for a native filter applying {@link passes}' rule: a list the
   * query does not have is null. The arrays may be replaced by {@link ensure}, so read them per query.
   */
  get allowStamps(): Uint32Array | null {
    return this.allow ? this.allowStamp : null;
  }

  get denyStamps(): Uint32Array | null {
    return this.deny ? this.denyStamp : null;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** Whether id passes the current query's lists. id must be below the marked limit. */
  passes(id: number): boolean {
    return (!this.allow || this.allowStamp[id] === this.epoch) && this.denyStamp[id] !== this.epoch;
  }

  denied(id: number): boolean {
    return this.denyStamp[id] === this.epoch;
  }

  /** True the first time id is claimed in the current query, so a list with repeats yields each id once. */
  claim(id: number): boolean {
    if (this.seenStamp[id] === this.epoch) return false;
    this.seenStamp[id] = this.epoch;
    return true;
  }
}

function grow(a: Uint32Array, capacity: number): Uint32Array {
  const b = new Uint32Array(capacity);
  b.set(a);
  return b;
}

function stamp(s: Uint32Array, ids: ArrayLike<number>, ep: number, limit: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id >= 0 && id < limit && Number.isInteger(id)) s[id] = ep;
  }
}
