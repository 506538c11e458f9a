/**
 * `GET /api/stats/stream` (docs/protocol.md §12.2): the `/api/stats` figures as Server-Sent
 * Events, for the dashboard. One snapshot timer for every viewer, whatever their number: it
 * starts with the first viewer and stops when the last one leaves (no timer without viewers);
 * each tick computes the snapshot once and writes the same serialized `data:` line to every
 * viewer. Bounded: at most `maxViewers` viewers (the next one is answered 503
 * `too_many_viewers`), and a viewer whose socket is backed up is skipped (its socket wants a
 * drain) or dropped (more than `maxBufferedBytes` queued, or skipped `maxSkippedTicks` ticks in
 * a row): nothing is buffered without bound.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../clock.js';
import type { EventLog } from './event-log.js';
import { HttpError } from './http-util.js';

/** The event-log entries one snapshot carries at most (the rest are counted in `eventsMissed`). */
export const SNAPSHOT_EVENTS = 100;
/** The entries the first snapshot of a run carries (the latest ones). */
export const FIRST_SNAPSHOT_EVENTS = 50;

/** What a stream writes to: the part of a `ServerResponse` it uses (tests pass fakes). */
export type SseResponse = Pick<
  ServerResponse,
  'writeHead' | 'write' | 'end' | 'destroy' | 'once' | 'writableLength' | 'writableNeedDrain'
>;

export interface StatsStreamOptions {
  /** The `/api/stats` figures (called once per tick, whatever the number of viewers). */
  snapshot: () => Promise<Record<string, unknown>>;
  /** Stored sends accepted by this node since start (for the per-second rates). */
  sent: () => { messages: number; bytes: number };
  /** The event log: each snapshot carries its entries since the previous snapshot. */
  events?: Pick<EventLog, 'since' | 'list' | 'lastId'>;
  clock: Clock;
  /** Between two snapshots (default 1000 ms). */
  intervalMs?: number;
  /** Concurrent viewers at most (default 100). */
  maxViewers?: number;
  /** A viewer with more than this queued on its socket is dropped (default 256 KiB). */
  maxBufferedBytes?: number;
  /** A viewer skipped this many ticks in a row (its socket never drained) is dropped (default 10). */
  maxSkippedTicks?: number;
  /** The reconnection delay given to browsers (`retry:`, default 2000 ms). */
  retryMs?: number;
  /** A failed snapshot (the store away): reported here; viewers get a comment instead. */
  onError?: (where: string, error: unknown) => void;
}

interface Viewer {
  res: SseResponse;
  /** Ticks skipped in a row because its socket was backed up. */
  skipped: number;
}

interface Sample {
  at: number;
  messages: number;
  bytes: number;
  deadLetters: number;
}

export class StatsStream {
  private readonly viewers = new Set<Viewer>();
  private timer: TimerHandle | undefined;
  /** The last snapshot's serialized event, sent at once to a viewer who joins. */
  private latest: string | undefined;
  private previous: Sample | undefined;
  /** The id of the newest event-log entry sent (undefined: none yet in this run). */
  private lastEventId: number | undefined;
  private computing: Promise<void> | undefined;
  private closed = false;
  private readonly intervalMs: number;
  private readonly maxViewers: number;
  private readonly maxBufferedBytes: number;
  private readonly maxSkippedTicks: number;
  private readonly retryMs: number;
  /** Snapshots computed since start (one per tick, not one per viewer). */
  snapshots = 0;
  /** Viewers dropped because their socket was backed up. */
  dropped = 0;

  constructor(private readonly o: StatsStreamOptions) {
    this.intervalMs = o.intervalMs ?? 1000;
    this.maxViewers = o.maxViewers ?? 100;
    this.maxBufferedBytes = o.maxBufferedBytes ?? 256 * 1024;
    this.maxSkippedTicks = o.maxSkippedTicks ?? 10;
    this.retryMs = o.retryMs ?? 2000;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Whether the snapshot timer runs (only while there are viewers). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Serve one viewer until it leaves; 503 `too_many_viewers` at the cap. */
  open(res: SseResponse): void {
    if (this.closed) throw new HttpError(503, 'draining', 'the server is shutting down');
    if (this.viewers.size >= this.maxViewers)
      throw new HttpError(
        503,
        'too_many_viewers',
        `the stats stream already has ${this.maxViewers} viewers`,
      );
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${this.retryMs}\n\n`);
    const viewer: Viewer = { res, skipped: 0 };
    this.viewers.add(viewer);
    res.once('close', () => this.leave(viewer));
    // The first snapshot at once: the last one computed, or (first viewer) a new one.
    if (this.latest !== undefined) this.write(viewer, this.latest);
    else void this.tick();
    this.timer ??= this.o.clock.every(this.intervalMs, () => void this.tick());
  }

  /** End every viewer and stop the timer (server.close()). */
  close(): void {
    this.closed = true;
    for (const v of [...this.viewers]) {
      this.viewers.delete(v);
      v.res.end();
    }
    this.stop();
  }

  private leave(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    if (this.viewers.size === 0) this.stop();
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    // A later first viewer gets a fresh snapshot, and rates over a fresh interval.
    this.latest = undefined;
    this.previous = undefined;
    this.lastEventId = undefined;
  }

  /** One snapshot for every viewer; a tick while the last one is still computing is skipped. */
  private tick(): Promise<void> {
    this.computing ??= this.compute().finally(() => {
      this.computing = undefined;
    });
    return this.computing;
  }

  private async compute(): Promise<void> {
    let event: string;
    try {
      this.snapshots++;
      const stats = await this.o.snapshot();
      if (this.viewers.size === 0) return;
      const sample = this.sample(stats);
      event = `data: ${JSON.stringify({
        at: new Date(sample.at).toISOString(),
        ...stats,
        rates: this.rates(sample),
        ...this.events(),
      })}\n\n`;
      this.previous = sample;
      this.latest = event;
    } catch (error) {
      this.o.onError?.('stats-stream', error);
      // Keeps the connections alive; the next tick tries again.
      event = ': snapshot failed\n\n';
    }
    for (const v of [...this.viewers]) this.write(v, event);
  }

  private sample(stats: Record<string, unknown>): Sample {
    const sent = this.o.sent();
    const added = (stats.dlq as { added?: Record<string, number> } | undefined)?.added ?? {};
    return {
      at: this.o.clock.now(),
      messages: sent.messages,
      bytes: sent.bytes,
      deadLetters: Object.values(added).reduce((a, b) => a + b, 0),
    };
  }

  /**
   * The event-log entries since the previous snapshot (at most 100, the newest; `eventsMissed`
   * counts the others), or the latest 50 in the first snapshot of a run.
   */
  private events(): { events?: unknown[]; eventsMissed?: number } {
    const log = this.o.events;
    if (log === undefined) return {};
    const last = this.lastEventId;
    this.lastEventId = log.lastId;
    if (last === undefined) return { events: log.list({ limit: FIRST_SNAPSHOT_EVENTS }) };
    const { events, missed } = log.since(last, SNAPSHOT_EVENTS);
    return missed > 0 ? { events, eventsMissed: missed } : { events };
  }

  /** Per-second rates since the previous snapshot (null on the first one). */
  private rates(s: Sample): Record<string, number | null> {
    const p = this.previous;
    const seconds = p === undefined ? 0 : (s.at - p.at) / 1000;
    const rate = (now: number, before: number | undefined) =>
      p === undefined || seconds <= 0 ? null : Math.max(0, now - before!) / seconds;
    return {
      intervalMs: p === undefined ? null : Math.round(s.at - p.at),
      messagesSentPerSecond: rate(s.messages, p?.messages),
      bytesSentPerSecond: rate(s.bytes, p?.bytes),
      deadLettersPerSecond: rate(s.deadLetters, p?.deadLetters),
    };
  }

  /** Write, skip (backed up) or drop (too far behind) one viewer. */
  private write(v: Viewer, event: string): void {
    if (v.res.writableLength > this.maxBufferedBytes || v.skipped >= this.maxSkippedTicks) {
      this.dropped++;
      this.viewers.delete(v);
      v.res.destroy();
      if (this.viewers.size === 0) this.stop();
      return;
    }
    if (v.res.writableNeedDrain) {
      v.skipped++;
      return;
    }
    v.skipped = 0;
    v.res.write(event);
  }
}
