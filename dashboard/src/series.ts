/** Time series for the charts (a fixed-size ring per series) and quantiles from histogram buckets. */

/** A histogram figure as `/api/stats` shows it (counts: per bucket, the last one is +Inf). */
export interface HistogramFigure {
  count: number;
  sum: number;
  p50: number | null;
  p99: number | null;
  bounds?: number[];
  counts?: number[];
}

/**
 * The q-quantile of the observations between two cumulative snapshots of one histogram (the
 * window), interpolated linearly inside its bucket as Prometheus's histogram_quantile does.
 * Null when the window holds no observation or the snapshots carry no buckets; a quantile in
 * the +Inf bucket reads as the highest finite bound.
 */
export function windowQuantile(
  before: HistogramFigure | undefined,
  after: HistogramFigure | undefined,
  q: number,
): number | null {
  const bounds = after?.bounds;
  const counts = after?.counts;
  if (bounds === undefined || counts === undefined || bounds.length === 0) return null;
  const prior = before?.counts?.length === counts.length ? before.counts : undefined;
  const window = counts.map((c, i) => Math.max(0, c - (prior?.[i] ?? 0)));
  const total = window.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < window.length; i++) {
    const inBucket = window[i]!;
    if (seen + inBucket >= rank && inBucket > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + (upper - lower) * ((rank - seen) / inBucket);
    }
    seen += inBucket;
  }
  return bounds[bounds.length - 1]!;
}

/** A fixed-length ring of timestamps and named series, oldest first, for uPlot. */
export class SeriesRing {
  readonly times: number[] = [];
  readonly values: Map<string, Array<number | null>> = new Map();

  constructor(
    readonly names: readonly string[],
    readonly capacity: number,
  ) {
    for (const n of names) this.values.set(n, []);
  }

  /** Append one point (seconds since the epoch); a missing name reads as null (a gap). */
  push(timeSeconds: number, point: Partial<Record<string, number | null>>): void {
    this.times.push(timeSeconds);
    for (const n of this.names) this.values.get(n)!.push(point[n] ?? null);
    if (this.times.length > this.capacity) {
      this.times.shift();
      for (const v of this.values.values()) v.shift();
    }
  }

  /** The columns uPlot wants: [times, ...series in `names` order]. */
  columns(): [number[], ...Array<Array<number | null>>] {
    return [this.times, ...this.names.map((n) => this.values.get(n)!)];
  }

  get length(): number {
    return this.times.length;
  }

  clear(): void {
    this.times.length = 0;
    for (const v of this.values.values()) v.length = 0;
  }
}
