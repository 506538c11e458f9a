/**
 * A histogram with fixed bucket bounds chosen at construction: `observe` is a short scan
 * over the bounds and three field updates, no allocation (≤ 5 ns; see
 * bench/metrics-hot.bench.ts). Counts are kept per bucket and made cumulative at scrape.
 */
import { RwsError } from '../errors.js';
import { LabelSets } from './labels.js';
import type { Collectable, FamilySnapshot, MetricDefinitionBase } from './types.js';

export class HistogramChild {
  /** Count per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labelValues: readonly string[],
    readonly created: number,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value (in the metric's base unit); NaN is ignored. */
  observe(v: number): void {
    if (v !== v) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** Estimates the q-quantile (0..1); `undefined` with no observations. */
  quantile(q: number): number | undefined {
    return bucketQuantile(this.bounds, this.counts, this.count, q);
  }
}

/**
 * Estimates the q-quantile (0..1) from per-bucket counts by linear interpolation inside the
 * bucket that holds it, as Prometheus' histogram_quantile does; `undefined` with no
 * observations. A quantile in the +Inf bucket answers the highest finite bound.
 */
export function bucketQuantile(
  bounds: readonly number[],
  buckets: ArrayLike<number>,
  count: number,
  q: number,
): number | undefined {
  if (count === 0) return undefined;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const c = buckets[i]!;
    if (c > 0 && seen + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? Math.min(0, bounds[0]!) : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1];
}

export interface HistogramDefinition extends MetricDefinitionBase {
  /** Upper bounds, strictly increasing and finite; +Inf is implied. */
  buckets: readonly number[];
}

export class Histogram implements Collectable {
  readonly name: string;
  readonly bounds: readonly number[];
  private readonly sets: LabelSets<HistogramChild>;
  private readonly single: HistogramChild | undefined;

  constructor(
    private readonly def: HistogramDefinition,
    cap: number,
    nowSeconds: () => number,
    onDrop: () => void,
  ) {
    this.name = def.name;
    const b = def.buckets;
    if (b.length === 0 || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!)))
      throw new RwsError(
        'metric_bad_buckets',
        `histogram ${def.name}: buckets must be finite and strictly increasing`,
      );
    const names = def.labelNames ?? [];
    if (names.includes('le'))
      throw new RwsError('metric_bad_label', `histogram ${def.name}: "le" is reserved`);
    this.bounds = [...b];
    this.sets = new LabelSets(
      def.name,
      names,
      cap,
      (values) => new HistogramChild(this.bounds, values, nowSeconds()),
      onDrop,
    );
    this.single = names.length === 0 ? this.sets.get([]) : undefined;
  }

  /** The child of one label set (bind it once, outside the hot path). */
  labels(...values: string[]): HistogramChild {
    return this.sets.get(values);
  }

  /** Observes on the unlabelled histogram. */
  observe(v: number): void {
    if (this.single === undefined)
      throw new RwsError('metric_bad_label', `histogram ${this.name} needs labels(...) first`);
    this.single.observe(v);
  }

  /** The unlabelled child (for quantile estimates). */
  get child(): HistogramChild | undefined {
    return this.single;
  }

  snapshot(): FamilySnapshot {
    return {
      name: this.name,
      help: this.def.help,
      type: 'histogram',
      ...(this.def.unit === undefined ? {} : { unit: this.def.unit }),
      labelNames: this.def.labelNames ?? [],
      bounds: this.bounds,
      series: this.sets.children().map((c) => ({
        labelValues: c.labelValues,
        value: c.count,
        created: c.created,
        buckets: [...c.counts],
        sum: c.sum,
      })),
    };
  }

  /** Every child (quantile estimates for the JSON stats). */
  children(): HistogramChild[] {
    return this.sets.children();
  }
}
