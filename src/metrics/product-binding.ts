/**
 * Binds the product metrics to the core: counters and histograms move on core events
 * (a listener per event, with every child bound here, so a listener is a few field
 * increments), gauges read the server's state at scrape time. Nothing in the core imports
 * this; it only observes.
 */
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Counter, CounterChild } from './counter.js';
import type { Histogram } from './histogram.js';
import {
  BREAKER_STATES,
  CLIENT_REFUSALS,
  DROP_REASONS,
  PRODUCT_METRICS as P,
  REFUSAL_REASONS,
  RESUME_OUTCOMES,
  UPSTREAM_OUTCOMES,
  type MetricInfo,
} from './product-metrics.js';
import type { Registry } from './registry.js';

/** Store figures refreshed once per scrape by the caller (the store is async). */
export interface StoreFigures {
  sessions: number;
  messages: number;
  bytes: number;
  /** Enqueue time (ms since the epoch) of the oldest retained message, if any. */
  oldestAt?: number | undefined;
}

export interface ProductSources {
  connections(): number;
  attachedSessions(): number;
  /** The figures of the last refresh; `undefined` (no sample) when the store could not tell. */
  store(): StoreFigures | undefined;
  /** Dead letters held; `undefined` (no sample) when the dead-letter store could not tell. */
  dlqSize(): number | undefined;
  /** Dead letters evicted from the full queue so far; `undefined` as for `dlqSize`. */
  dlqEvicted(): number | undefined;
  /** Bytes of data the dead letters hold; `undefined` as for `dlqSize`. */
  dlqBytes(): number | undefined;
  breakers(): Array<{ name: string; state: string }>;
  /** Stored sends and their bytes so far (the outbox's plain counters, read at scrape). */
  sent(): { messages: number; bytes: number };
  /** Milliseconds since the epoch (the server's clock). */
  now(): number;
}

function bindAll<L extends string>(c: Counter, values: readonly L[]): Record<L, CounterChild> {
  return Object.fromEntries(values.map((v) => [v, c.labels(v)])) as Record<L, CounterChild>;
}

const defOf = (i: MetricInfo) => ({
  name: i.name,
  help: i.help,
  labelNames: i.labelNames,
  ...(i.unit === undefined ? {} : { unit: i.unit }),
});

/** Registers every product metric on `registry` and subscribes; returns the unsubscribe. */
export function bindProductMetrics(
  registry: Registry,
  events: Emitter<CoreEvents>,
  sources: ProductSources,
): () => void {
  const counter = (i: MetricInfo): Counter => registry.counter(defOf(i));
  const scraped = (i: MetricInfo, collect: () => number): void => {
    registry.counter({ ...defOf(i), collect });
  };
  const histogram = (i: MetricInfo): Histogram =>
    registry.histogram({ ...defOf(i), buckets: i.buckets ?? [] });
  const gauge = (i: MetricInfo, collect: Parameters<Registry['gauge']>[0]['collect']): void => {
    registry.gauge({ ...defOf(i), collect });
  };

  // Gauges, computed at scrape time.
  gauge(P.connections, () => sources.connections());
  gauge(P.sessions, () => {
    const s = sources.store();
    const attached = sources.attachedSessions();
    if (s === undefined) return [[['attached'], attached]];
    return [
      [['attached'], attached],
      [['detached'], Math.max(0, s.sessions - attached)],
    ];
  });
  gauge(P.outboxMessages, () => sources.store()?.messages);
  gauge(P.outboxBytes, () => sources.store()?.bytes);
  gauge(P.outboxOldestAge, () => {
    const s = sources.store();
    if (s === undefined) return undefined;
    const t = s.oldestAt;
    return t === undefined ? 0 : Math.max(0, (sources.now() - t) / 1000);
  });
  gauge(P.dlq, () => sources.dlqSize());
  gauge(P.dlqBytes, () => sources.dlqBytes());
  registry.counter({ ...defOf(P.dlqEvicted), collect: () => sources.dlqEvicted() ?? [] });
  gauge(P.breakerState, () =>
    sources
      .breakers()
      .flatMap((b) => BREAKER_STATES.map((s) => [[b.name, s], b.state === s ? 1 : 0] as const)),
  );

  // Counters and histograms, bound once.
  const connections = counter(P.connectionsTotal).labels();
  const disconnects = counter(P.disconnects).labels();
  const refused = bindAll(counter(P.connectionsRefused), REFUSAL_REASONS);
  // Sends are counted by the outbox's own fields, read here at scrape time: no per-send event.
  scraped(P.sent, () => sources.sent().messages);
  scraped(P.sentBytes, () => sources.sent().bytes);
  const sendDuration = histogram(P.sendDuration).labels();
  const acked = counter(P.acked).labels();
  const ackLatency = histogram(P.ackLatency).labels();
  const replayed = counter(P.replayed).labels();
  const droppedCounter = counter(P.dropped);
  const dropped = bindAll(droppedCounter, DROP_REASONS);
  const expired = counter(P.expired).labels();
  const client = bindAll(counter(P.clientMessages), ['ok', 'nack', 'duplicate'] as const);
  const refusedClient = bindAll(counter(P.clientRefused), CLIENT_REFUSALS);
  const dedup = bindAll(counter(P.dedupHits), ['inbound', 'outbound'] as const);
  const resumesCounter = counter(P.resumes);
  const resumes = bindAll(resumesCounter, RESUME_OUTCOMES);
  const heartbeat = counter(P.heartbeatTimeouts).labels();
  const reaped = counter(P.reaped).labels();
  const ended = bindAll(counter(P.ended), ['bye', 'admin', 'user_limit'] as const);
  const transitions = counter(P.breakerTransitions);
  const upstreamCounter = counter(P.upstreamRequests);
  const upstream = bindAll(upstreamCounter, UPSTREAM_OUTCOMES);
  const upstreamAttempts = counter(P.upstreamAttempts).labels();
  const upstreamDuration = histogram(P.upstreamDuration).labels();
  const frameErrors = counter(P.frameErrors);
  const authFailures = counter(P.authFailures);
  const errors = counter(P.errors);

  const offs = [
    events.on('connection', () => connections.inc()),
    events.on('disconnect', () => disconnects.inc()),
    events.on('connectionRefused', (e) => refused[e.reason].inc()),
    events.on('sendTiming', (e) => sendDuration.observe(e.durationMs / 1000)),
    events.on('ack', (e) => {
      acked.inc(e.removed);
      if (e.latencyMs !== undefined) ackLatency.observe(e.latencyMs / 1000);
    }),
    events.on('resume', (e) => {
      if (e.replayed > 0) replayed.inc(e.replayed);
      const outcome =
        e.resumed && e.recovered ? 'recovered' : (e.reason ?? (e.resumed ? 'gap' : 'new_session'));
      (resumes[outcome] ?? resumesCounter.labels(outcome)).inc();
    }),
    events.on('drop', (e) => (dropped[e.reason] ?? droppedCounter.labels(e.reason)).inc(e.count)),
    events.on('expire', (e) => expired.inc(e.count)),
    events.on('clientMessage', (e) => {
      if (e.dup) {
        client.duplicate.inc();
        dedup.inbound.inc();
      } else (e.ok ? client.ok : client.nack).inc();
    }),
    events.on('clientMessageRefused', (e) => refusedClient[e.code].inc()),
    events.on('duplicateSend', () => dedup.outbound.inc()),
    events.on('heartbeatTimeout', () => heartbeat.inc()),
    events.on('reap', () => reaped.inc()),
    events.on('end', (e) => ended[e.by].inc()),
    events.on('breaker', (e) => transitions.labels(e.name, e.to).inc()),
    events.on('upstream', (e) => {
      // An outcome added to the core later still counts (looked up, capped).
      (
        (upstream as Partial<Record<string, CounterChild>>)[e.outcome] ??
        upstreamCounter.labels(e.outcome)
      ).inc();
      upstreamAttempts.inc(e.attempts);
      upstreamDuration.observe(e.durationMs / 1000);
    }),
    // Error paths: a label lookup (capped) is fine here, they are not per message.
    events.on('frameError', (e) => frameErrors.labels(e.code).inc()),
    events.on('authFailed', (e) => authFailures.labels(e.reason).inc()),
    events.on('error', (e) => errors.labels(e.where).inc()),
  ];
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
