import { describe, expect, it } from 'vitest';
import * as f from './format.js';
import {
  eventsMissed,
  headline,
  labelled,
  mergeEvents,
  perSecond,
  sameRun,
  type LogEvent,
  type Snapshot,
} from './model.js';
import { SeriesRing, windowQuantile } from './series.js';
import { compact } from './tryit.js';

const BOUNDS = [0.01, 0.1, 1];
const ack = (counts: number[]) => ({
  count: counts.reduce((a, b) => a + b, 0),
  sum: 0,
  p50: null,
  p99: null,
  bounds: BOUNDS,
  counts,
});

function snap(at: number, o: Partial<Snapshot> = {}): Snapshot {
  return {
    at: new Date(at).toISOString(),
    node: 'a',
    connections: 3,
    cluster: { nodes: 2, connections: 7 },
    nodes: [
      { node: 'a', self: true, alive: true, lastSeen: '', connections: 3, attached: 2 },
      { node: 'b', self: false, alive: true, lastSeen: '', connections: 4, attached: 4 },
    ],
    sessions: { total: 10, attached: 6, detached: 4, attachedHere: 2 },
    outbox: { messages: 5, bytes: 500, oldestAgeMs: 2000 },
    ...o,
  };
}

describe('windowQuantile', () => {
  it('reads the quantile of the observations between two snapshots only', () => {
    // Before: 100 fast acks (< 10 ms). In the window: 10 acks, all between 100 ms and 1 s.
    const before = ack([100, 0, 0, 0]);
    const after = ack([100, 0, 10, 0]);
    const p50 = windowQuantile(before, after, 0.5)!;
    expect(p50).toBeGreaterThan(0.1);
    expect(p50).toBeLessThanOrEqual(1);
    // Cumulatively the median would be under 10 ms: the window is what counts.
    expect(windowQuantile(undefined, after, 0.5)!).toBeLessThan(0.01);
  });

  it('interpolates inside the bucket and caps +Inf at the highest bound', () => {
    expect(windowQuantile(undefined, ack([0, 4, 0, 0]), 0.5)).toBeCloseTo(0.055, 5);
    expect(windowQuantile(undefined, ack([0, 0, 0, 3]), 0.99)).toBe(1);
  });

  it('is null without observations in the window or without buckets', () => {
    expect(windowQuantile(ack([5, 1, 0, 0]), ack([5, 1, 0, 0]), 0.99)).toBeNull();
    expect(windowQuantile(undefined, { count: 3, sum: 1, p50: 0.1, p99: 0.2 }, 0.5)).toBeNull();
  });
});

describe('headline', () => {
  it('derives rates from counters over the interval between snapshots', () => {
    const a = snap(0, {
      metrics: {
        counters: {
          rws_client_messages_total: { ok: 10, nack: 0 },
          rws_messages_dropped_total: { overflow: 1 },
          process_cpu_seconds_total: 1,
        },
      },
    });
    const b = snap(2000, {
      metrics: {
        counters: {
          rws_client_messages_total: { ok: 30, nack: 2 },
          rws_messages_dropped_total: { overflow: 5, ttl: 2 },
          process_cpu_seconds_total: 1.5,
        },
        gauges: { process_resident_memory_bytes: 1e8, rws_eventloop_delay_p99_seconds: 0.004 },
        histograms: { rws_ack_latency_seconds: ack([0, 10, 0, 0]) },
      },
      rates: { intervalMs: 2000, messagesSentPerSecond: 50 },
    });
    const x = headline(a, b, 'cluster');
    expect(x.messagesInPerSecond).toBe(11);
    expect(x.dropsPerSecond).toBe(3);
    expect(x.cpu).toBeCloseTo(0.25);
    expect(x.messagesOutPerSecond).toBe(50);
    expect(x.rssBytes).toBe(1e8);
    expect(x.loopDelayP99).toBe(0.004);
    expect(x.ackP50).toBeCloseTo(0.055, 5);
    expect(x.connections).toBe(7);
    expect(x.attached).toBe(6);
  });

  it('shows another node from its heartbeat, and leaves what only that node knows empty', () => {
    const b = snap(1000, { rates: { intervalMs: 1000, messagesSentPerSecond: 50 } });
    const self = headline(snap(0), b, 'a');
    expect(self.connections).toBe(3);
    expect(self.attached).toBe(2);
    expect(self.messagesOutPerSecond).toBe(50);
    const other = headline(snap(0), b, 'b');
    expect(other.connections).toBe(4);
    expect(other.attached).toBe(4);
    expect(other.messagesOutPerSecond).toBeNull();
    expect(other.cpu).toBeNull();
  });

  it('has no rate on the first snapshot or when a counter is absent (metrics off)', () => {
    expect(perSecond(undefined, snap(0), 'rws_client_messages_total')).toBeNull();
    expect(headline(snap(0), snap(1000), 'cluster').messagesInPerSecond).toBeNull();
  });

  it('lists labelled counters by total with their rates', () => {
    const a = snap(0, { metrics: { counters: { rws_resumes_total: { recovered: 1, gap: 1 } } } });
    const b = snap(1000, {
      metrics: { counters: { rws_resumes_total: { recovered: 4, gap: 1, new_session: 9 } } },
    });
    expect(labelled(a, b, 'rws_resumes_total')).toEqual([
      { label: 'new_session', total: 9, perSecond: 9 },
      { label: 'recovered', total: 4, perSecond: 3 },
      { label: 'gap', total: 1, perSecond: 0 },
    ]);
  });
});

describe('across a server restart', () => {
  const before = snap(0, {
    uptimeMs: 600_000,
    metrics: {
      counters: { rws_client_messages_total: { ok: 1000 } },
      histograms: { rws_ack_latency_seconds: ack([0, 100, 0, 0]) },
    },
  });
  // The same node name (configured), restarted: its counters and buckets start over.
  const after = snap(5000, {
    uptimeMs: 2000,
    metrics: {
      counters: { rws_client_messages_total: { ok: 40 } },
      histograms: { rws_ack_latency_seconds: ack([3, 2, 0, 0]) },
    },
  });

  it('tells a restart or another node from the next snapshot of one run', () => {
    expect(sameRun(before, snap(1000, { uptimeMs: 601_000 }))).toBe(true);
    expect(sameRun(before, after)).toBe(false);
    expect(sameRun(before, snap(1000, { uptimeMs: 601_000, node: 'b' }))).toBe(false);
    // A short-lived first run: the uptime did not go back, but the process started later.
    expect(sameRun(snap(0, { uptimeMs: 1000 }), snap(60_000, { uptimeMs: 30_000 }))).toBe(false);
  });

  it('derives no rate and no window from the snapshot of the run before', () => {
    const x = headline(before, after, 'cluster');
    // Not 0 (40 - 1000 clamped): there is no interval to divide by.
    expect(x.messagesInPerSecond).toBeNull();
    // The new run's buckets as they are (all since its start), not a difference with the old
    // run's: 5 acks, the 99th percentile in the 10–100 ms bucket.
    expect(x.ackP99).toBeGreaterThan(0.01);
    expect(x.ackP99).toBeLessThanOrEqual(0.1);
    expect(labelled(before, after, 'rws_client_messages_total')).toEqual([
      { label: 'ok', total: 40, perSecond: null },
    ]);
  });
});

describe('mergeEvents', () => {
  const ev = (id: number): LogEvent => ({ id, at: '', type: 'end' });
  const ids = (list: LogEvent[]) => list.map((e) => e.id);

  it('keeps entries that arrive after newer ones (the stream before GET /api/events)', () => {
    const kept: LogEvent[] = [];
    // A viewer joining a running stream gets its last snapshot at once: entry 100 only.
    expect(mergeEvents(kept, [ev(100)], 500)).toBe(true);
    expect(mergeEvents(kept, [97, 98, 99, 100].map(ev), 500)).toBe(true);
    expect(ids(kept)).toEqual([97, 98, 99, 100]);
    expect(mergeEvents(kept, [ev(99), ev(100)], 500)).toBe(false);
    expect(ids(kept)).toEqual([97, 98, 99, 100]);
  });

  it('keeps the newest `max`', () => {
    const kept: LogEvent[] = [];
    mergeEvents(kept, [1, 2, 3, 4, 5].map(ev), 3);
    expect(ids(kept)).toEqual([3, 4, 5]);
  });
});

describe('SeriesRing', () => {
  it('keeps the newest points up to its capacity, gaps as null', () => {
    const r = new SeriesRing(['a', 'b'], 3);
    for (let t = 1; t <= 5; t++) r.push(t, t % 2 === 0 ? { a: t } : { a: t, b: -t });
    expect(r.columns()).toEqual([
      [3, 4, 5],
      [3, 4, 5],
      [-3, null, -5],
    ]);
  });
});

describe('format', () => {
  it('never prints NaN and keeps units readable', () => {
    expect(f.count(undefined)).toBe('–');
    expect(f.count(Number.NaN)).toBe('–');
    expect(f.count(1234)).toBe('1,234');
    expect(f.count(12345)).toBe('12.3 k');
    expect(f.bytes(1536)).toBe('1.5 KiB');
    expect(f.duration(0.0123)).toBe('12.3 ms');
    expect(f.duration(0.0004)).toBe('400 µs');
    expect(f.duration(125)).toBe('2 min 5 s');
    expect(f.percent(0.123)).toBe('12.3 %');
    expect(f.rate(2.25)).toBe('2.3');
  });

  it('compacts replayed seqs into ranges', () => {
    expect(compact([9, 3, 4, 5, 6, 4])).toBe('3–6, 9');
    expect(compact([])).toBe('');
  });
});

describe('eventsMissed', () => {
  const ev = (id: number) => ({ id, at: '', type: 'end' });
  it('is false when the snapshot continues the ids the page holds', () => {
    expect(eventsMissed(4, snap(0, { events: [ev(5), ev(6)] }))).toBe(false);
    expect(eventsMissed(4, snap(0, { events: [] }))).toBe(false);
    expect(eventsMissed(0, snap(0, { events: [ev(9)] }))).toBe(false);
  });
  it('is true after a hole in the ids or when the server says it left entries out', () => {
    expect(eventsMissed(4, snap(0, { events: [ev(7)] }))).toBe(true);
    expect(eventsMissed(4, snap(0, { events: [ev(5)], eventsMissed: 3 }))).toBe(true);
  });
});
