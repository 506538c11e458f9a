/** The snapshot of a metric family taken at scrape time, which the exposition formats. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Base units only (Prometheus naming): the name of a metric with a unit ends with it. */
export type MetricUnit = 'seconds' | 'bytes' | 'ratio';

export interface Series {
  labelValues: readonly string[];
  /** Counter total or gauge value (histograms: their count). */
  value: number;
  /** When the series started counting, in seconds since the epoch (counters, histograms). */
  created?: number;
  /** Histograms: count per bucket, not cumulative, the +Inf bucket last. */
  buckets?: readonly number[];
  sum?: number;
}

export interface FamilySnapshot {
  /** The full name; a counter's ends with `_total`. */
  name: string;
  help: string;
  type: MetricType;
  unit?: MetricUnit;
  labelNames: readonly string[];
  /** Histograms: the upper bounds, +Inf excluded. */
  bounds?: readonly number[];
  series: Series[];
}

/** What every metric gives the registry. */
export interface Collectable {
  readonly name: string;
  snapshot(): FamilySnapshot;
}

/** Common definition fields. */
export interface MetricDefinitionBase {
  name: string;
  help: string;
  unit?: MetricUnit;
  labelNames?: readonly string[];
}
