/**
 * The metrics of one server: a registry owned by this server (no global), the product
 * metrics bound to its core events, process metrics, `GET /metrics` with content
 * negotiation, and the same figures as JSON for `/api/stats`. Disabled, nothing is
 * subscribed and nothing runs: the core's emitter sees no listener, so even the send-latency
 * timing is skipped (decided here, once, at construction).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import {
  bindProductMetrics,
  bucketQuantile,
  CONTENT_TYPES,
  formatMetrics,
  negotiate,
  registerProcessMetrics,
  Registry,
  type FamilySnapshot,
  type StoreFigures,
} from '../metrics/index.js';
import type { Awaitable, DeadLetterStats } from '../outbox/dead-letter-store.js';
import { sendError } from './http-util.js';

export interface ObservabilityOptions {
  enabled: boolean;
  /** Most label sets per metric (`metricsMaxLabelSets`). */
  maxLabelSets: number;
  events: Emitter<CoreEvents>;
  connections: () => number;
  attachedSessions: () => number;
  /** The store's figures (`Store.stats()` fits as is). */
  storeStats: () => Promise<StoreFigures>;
  /**
   * The dead-letter store's figures, read once per scrape like the store's
   * (`DeadLetterStore.stats()` fits as is). A store that cannot answer leaves the dead-letter
   * metrics without a sample.
   */
  dlqStats?: () => Awaitable<DlqFigures>;
  /** @deprecated Use `dlqStats`. Dead letters held; read only without `dlqStats`. */
  dlqSize?: () => number;
  /** @deprecated Use `dlqStats`. Evicted so far; read only without `dlqStats` (default 0). */
  dlqEvicted?: () => number;
  /** state: closed | open | half_open | forced_open | disabled */
  breakers: () => Array<{ name: string; state: string }>;
  /** Stored sends and bytes so far (`Outbox.totals`), read at scrape time. */
  sent: () => { messages: number; bytes: number };
  clock?: Clock;
}

/** Figures a caller already read (GET /api/stats reads them for itself too). */
export interface MetricsReads {
  store?: StoreFigures;
  dlq?: DlqFigures;
}

/** The dead-letter figures the metrics read (`bytes` absent: `rws_dlq_bytes` has no sample). */
export type DlqFigures = Pick<DeadLetterStats, 'size' | 'evicted'> &
  Partial<Pick<DeadLetterStats, 'bytes'>>;

export interface Observability {
  /** GET /metrics: negotiates Prometheus text 0.0.4 vs OpenMetrics 1.0 from the Accept header. */
  serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * The same figures as JSON for GET /api/stats (plain object: counters, gauges, histogram
   * count/sum, p50/p99 estimates, bounds and per-bucket counts). `read`: store and
   * dead-letter figures the caller has just read, used instead of reading them again.
   */
  stats(read?: MetricsReads): Promise<Record<string, unknown>>;
  /** Unsubscribe from events, stop the event-loop monitor and GC observer. Idempotent. */
  close(): void;
}

const disabled: Observability = {
  serveMetrics(_req, res) {
    sendError(res, 404, 'metrics_disabled', 'metrics are off (RWS_METRICS=false)');
    return Promise.resolve();
  },
  stats: () => Promise.resolve({ enabled: false }),
  close() {},
};

export function createObservability(o: ObservabilityOptions): Observability {
  if (!o.enabled) return disabled;
  const clock = o.clock ?? systemClock;
  const registry = new Registry({ maxLabelSets: o.maxLabelSets, clock });
  let store: StoreFigures | undefined;
  let dlq: DlqFigures | undefined;
  const dlqStats =
    o.dlqStats ?? (() => ({ size: o.dlqSize?.() ?? 0, evicted: o.dlqEvicted?.() ?? 0 }));
  const off = bindProductMetrics(registry, o.events, {
    connections: o.connections,
    attachedSessions: o.attachedSessions,
    store: () => store,
    dlqSize: () => dlq?.size,
    dlqEvicted: () => dlq?.evicted,
    dlqBytes: () => dlq?.bytes,
    breakers: o.breakers,
    sent: o.sent,
    now: () => clock.now(),
  });
  const proc = registerProcessMetrics(registry, clock);

  // The stores are async, gauges are not: read them once per scrape, before collecting, at
  // the same time. A store that cannot answer (Redis down) leaves its metrics without a
  // sample rather than stale.
  const collect = async (read: MetricsReads = {}): Promise<FamilySnapshot[]> => {
    [store, dlq] = await Promise.all([
      read.store ?? answer(o.storeStats),
      read.dlq ?? answer(dlqStats),
    ]);
    return registry.collect();
  };

  let closed = false;
  return {
    async serveMetrics(req, res) {
      const format = negotiate(req.headers.accept);
      const body = formatMetrics(await collect(), format);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[format],
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    async stats(read) {
      return toJson(await collect(read));
    },
    close() {
      if (closed) return;
      closed = true;
      off();
      proc.stop();
    },
  };
}

/** `read()`'s answer, or undefined when it throws or rejects. */
async function answer<T>(read: () => Awaitable<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

type Figure =
  | number
  | {
      count: number;
      sum: number;
      p50: number | null;
      p99: number | null;
      bounds: number[];
      counts: number[];
    };

/**
 * Families as plain JSON: `{counters, gauges, histograms}`, each keyed by metric name; an
 * unlabelled metric is its figure, a labelled one an object keyed by its label values
 * joined with ','. Histograms give count, sum and p50/p99 estimates (bucket interpolation),
 * and their buckets: `bounds` (the upper bounds, +Inf left out) and `counts` (per bucket, not
 * cumulative, one more than `bounds`: the +Inf bucket last), so that a reader can estimate
 * quantiles over the interval between two snapshots from the difference of their counts.
 */
export function toJson(families: readonly FamilySnapshot[]): Record<string, unknown> {
  const out: Record<'counters' | 'gauges' | 'histograms', Record<string, unknown>> = {
    counters: {},
    gauges: {},
    histograms: {},
  };
  for (const f of families) {
    const figure = (s: FamilySnapshot['series'][number]): Figure =>
      f.type === 'histogram'
        ? {
            count: s.value,
            sum: s.sum ?? 0,
            p50: bucketQuantile(f.bounds ?? [], s.buckets ?? [], s.value, 0.5) ?? null,
            p99: bucketQuantile(f.bounds ?? [], s.buckets ?? [], s.value, 0.99) ?? null,
            bounds: [...(f.bounds ?? [])],
            counts: [...(s.buckets ?? [])],
          }
        : s.value;
    const group =
      out[f.type === 'counter' ? 'counters' : f.type === 'gauge' ? 'gauges' : 'histograms'];
    if (f.labelNames.length === 0) {
      const s = f.series[0];
      if (s !== undefined) group[f.name] = figure(s);
    } else {
      group[f.name] = Object.fromEntries(f.series.map((s) => [s.labelValues.join(','), figure(s)]));
    }
  }
  return out;
}
