/**
 * The metrics of one server instance (no process-global registry: two servers in one
 * process, or a server created and discarded by a test, never share or leak series).
 * Every labelled metric has a hard cap on its label sets; what goes over it is counted in
 * `<namespace>_metrics_label_sets_dropped_total{metric}`.
 */
import { systemClock, type Clock } from '../clock.js';
import { RwsError } from '../errors.js';
import { Counter, type CounterChild, type CounterDefinition } from './counter.js';
import { Gauge, type GaugeDefinition } from './gauge.js';
import { Histogram, type HistogramDefinition } from './histogram.js';
import { checkLabelNames } from './labels.js';
import type { Collectable, FamilySnapshot, MetricDefinitionBase, MetricType } from './types.js';

export interface RegistryOptions {
  /** Most label sets per metric (default 100); more go to one overflow series. */
  maxLabelSets?: number;
  /** Prefix of the registry's own metric (default `rws`). */
  namespace?: string;
  clock?: Clock;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const RESERVED_SUFFIXES = ['_created', '_bucket', '_count', '_sum'];

export class Registry {
  readonly maxLabelSets: number;
  private readonly metrics = new Map<string, Collectable>();
  /** OpenMetrics family names (a counter's without `_total`): `x` and `x_total` would clash. */
  private readonly families = new Set<string>();
  private readonly clock: Clock;
  private readonly dropped: Counter;
  private readonly hooks: (() => void)[] = [];

  constructor(options: RegistryOptions = {}) {
    this.maxLabelSets = options.maxLabelSets ?? 100;
    if (!Number.isInteger(this.maxLabelSets) || this.maxLabelSets < 1)
      throw new RwsError('metric_bad_cap', `maxLabelSets must be an integer >= 1`);
    this.clock = options.clock ?? systemClock;
    const name = `${options.namespace ?? 'rws'}_metrics_label_sets_dropped_total`;
    // Its label sets are the registry's labelled metrics, bounded by the code, not traffic.
    this.dropped = this.add(
      new Counter(
        {
          name,
          help: 'Label sets refused because their metric reached its cap (counted into the overflow series instead).',
          labelNames: ['metric'],
        },
        Number.MAX_SAFE_INTEGER,
        this.nowSeconds,
        () => {},
      ),
    );
  }

  private readonly nowSeconds = (): number => this.clock.now() / 1000;

  counter(def: CounterDefinition): Counter {
    this.check(def, 'counter');
    return this.add(new Counter(def, this.maxLabelSets, this.nowSeconds, this.onDrop(def)));
  }

  gauge(def: GaugeDefinition): Gauge {
    this.check(def, 'gauge');
    return this.add(new Gauge(def, this.maxLabelSets, this.onDrop(def)));
  }

  histogram(def: HistogramDefinition): Histogram {
    this.check(def, 'histogram');
    return this.add(new Histogram(def, this.maxLabelSets, this.nowSeconds, this.onDrop(def)));
  }

  /** Runs `fn` before every collection (to refresh figures read by several metrics). */
  beforeCollect(fn: () => void): void {
    this.hooks.push(fn);
  }

  /**
   * A snapshot of every family, in registration order. The drop counter is read last, so it
   * includes the label sets refused by metrics computed during this very scrape.
   */
  collect(): FamilySnapshot[] {
    for (const h of this.hooks) h();
    const metrics = [...this.metrics.values()];
    const snapshots = metrics.map((m) => (m === this.dropped ? undefined : m.snapshot()));
    return metrics.map((m, i) => snapshots[i] ?? m.snapshot());
  }

  /** A registered metric by name (tests, the JSON stats). */
  get(name: string): Collectable | undefined {
    return this.metrics.get(name);
  }

  private check(def: MetricDefinitionBase, type: MetricType): void {
    if (!METRIC_NAME.test(def.name) || RESERVED_SUFFIXES.some((s) => def.name.endsWith(s)))
      throw new RwsError('metric_bad_name', `bad metric name "${def.name}"`);
    // Only counters end with _total (promtool: "non-counter metrics should not have _total").
    if (type === 'counter' && !def.name.endsWith('_total'))
      throw new RwsError('metric_bad_name', `counter ${def.name} must end with _total`);
    if (type !== 'counter' && def.name.endsWith('_total'))
      throw new RwsError('metric_bad_name', `${type} ${def.name} must not end with _total`);
    if (def.unit !== undefined && !def.name.replace(/_total$/, '').endsWith(`_${def.unit}`))
      throw new RwsError(
        'metric_bad_name',
        `metric ${def.name} must end with its unit ${def.unit}`,
      );
    const family = def.name.replace(/_total$/, '');
    if (this.metrics.has(def.name) || this.families.has(family))
      throw new RwsError('metric_exists', `metric ${def.name} is already registered`);
    checkLabelNames(def.name, def.labelNames ?? []);
  }

  private onDrop(def: MetricDefinitionBase): () => void {
    if ((def.labelNames ?? []).length === 0) return () => {};
    let child: CounterChild | undefined;
    return () => (child ??= this.dropped.labels(def.name)).inc();
  }

  private add<M extends Collectable>(m: M): M {
    this.metrics.set(m.name, m);
    this.families.add(m.name.replace(/_total$/, ''));
    return m;
  }
}
