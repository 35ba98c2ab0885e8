/**
 * The extension point of exploration: impressions and clicks per item, read by Thompson sampling and by the
 * seen-items filter. The live overlay implements it over its decayed counters; {@link ArrayCounters} is the
 * plain in-memory form (tests, simulations, a build's snapshot).
 */

export interface EngagementCounters {
  /** Times the item was shown (may be fractional when counters decay); 0 for an unknown item. */
  impressions(item: number): number;
  /** Times it was clicked (engaged) after being shown; 0 for an unknown item. */
  clicks(item: number): number;
}

/** Counters over dense item indices in two Float64Arrays, grown on demand. */
export class ArrayCounters implements EngagementCounters {
  shown: Float64Array;
  clicked: Float64Array;

  constructor(items = 0) {
    this.shown = new Float64Array(items);
    this.clicked = new Float64Array(items);
  }

  impressions(item: number): number {
    return item < this.shown.length ? this.shown[item] : 0;
  }

  clicks(item: number): number {
    return item < this.clicked.length ? this.clicked[item] : 0;
  }

  /** One impression of `item`, clicked or not. */
  record(item: number, clicked: boolean): void {
    if (item >= this.shown.length) this.grow(item + 1);
    this.shown[item]++;
    if (clicked) this.clicked[item]++;
  }

  private grow(need: number): void {
    const c = Math.max(need, this.shown.length * 2, 16);
    const s = new Float64Array(c);
    s.set(this.shown);
    const k = new Float64Array(c);
    k.set(this.clicked);
    this.shown = s;
    this.clicked = k;
  }
}
