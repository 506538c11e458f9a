/**
 * The reference of every metric the server exposes (docs are generated or checked from
 * it): the product table, plus the process metrics and the registry's own counter, read
 * from a throw-away registry so the list cannot drift from what is registered.
 */
import { ManualClock } from '../clock.js';
import { Emitter } from '../events.js';
import type { CoreEvents } from '../core-events.js';
import { bindProductMetrics } from './product-binding.js';
import { PRODUCT_METRICS, type MetricInfo } from './product-metrics.js';
import { registerProcessMetrics } from './process-metrics.js';
import { Registry } from './registry.js';

export function metricsReference(): MetricInfo[] {
  const registry = new Registry({ clock: new ManualClock() });
  const off = bindProductMetrics(registry, new Emitter<CoreEvents>(), {
    connections: () => 0,
    attachedSessions: () => 0,
    store: () => undefined,
    dlqSize: () => 0,
    dlqEvicted: () => 0,
    dlqBytes: () => 0,
    breakers: () => [],
    sent: () => ({ messages: 0, bytes: 0 }),
    now: () => 0,
  });
  const proc = registerProcessMetrics(registry, new ManualClock());
  const product = new Map<string, MetricInfo>(
    Object.values(PRODUCT_METRICS).map((i) => [i.name, i]),
  );
  const all = registry.collect().map(
    (f): MetricInfo =>
      product.get(f.name) ?? {
        name: f.name,
        type: f.type,
        help: f.help,
        labelNames: f.labelNames,
        ...(f.unit === undefined ? {} : { unit: f.unit }),
        source: f.name.includes('label_sets_dropped') ? 'registry' : 'process',
      },
  );
  proc.stop();
  off();
  return all;
}
