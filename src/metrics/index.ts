export { Registry, type RegistryOptions } from './registry.js';
export { Counter, CounterChild, type CounterDefinition } from './counter.js';
export { Gauge, type GaugeDefinition } from './gauge.js';
export {
  Histogram,
  HistogramChild,
  bucketQuantile,
  type HistogramDefinition,
} from './histogram.js';
export { OVERFLOW_VALUE } from './labels.js';
export { CONTENT_TYPES, formatMetrics, negotiate, type ExpositionFormat } from './exposition.js';
export {
  registerProcessMetrics,
  type ProcessMetrics,
  type LoopFigures,
} from './process-metrics.js';
export { bindProductMetrics, type ProductSources, type StoreFigures } from './product-binding.js';
export { PRODUCT_METRICS, type MetricInfo, type ProductMetricKey } from './product-metrics.js';
export { metricsReference } from './reference.js';
export type { FamilySnapshot, MetricType, MetricUnit, Series } from './types.js';
