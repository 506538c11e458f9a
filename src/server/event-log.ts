/**
 * The event log (`GET /api/events`, the `events` of the stats stream; docs/protocol.md §12.2):
 * the notable core events of this node in a bounded ring, for the dashboard and operators.
 * Notable means rare enough to read one by one: resumes (a `gap` when not recovered),
 * breaker changes, overflow and TTL drops, reaps, takeovers, ended sessions and heartbeat
 * timeouts. New sessions, sends and acks are not logged: the log does not listen to `send`
 * or `ack`, so it costs nothing on the send path. The ring holds `capacity` entries (default
 * 1000); older ones are pushed out and counted in `evicted`.
 */
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';

export const EVENT_TYPES = [
  'resume',
  'gap',
  'breaker',
  'overflow',
  'expired',
  'reap',
  'takeover',
  'end',
  'heartbeat_timeout',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface EventEntry {
  /** Increasing from 1, without holes, for the life of the log. */
  id: number;
  /** When it was logged (ISO 8601). */
  at: string;
  type: EventType;
  sid?: string;
  detail: Record<string, string | number | boolean>;
}

export interface EventQuery {
  /** Only entries with a greater id. */
  after?: number;
  /** Only these types (all when absent). */
  types?: readonly EventType[];
  sid?: string;
  /** At most this many: the newest that match. */
  limit: number;
}

export class EventLog {
  private readonly ring: (EventEntry | undefined)[];
  /** Where the next entry goes in `ring`. */
  private head = 0;
  private size = 0;
  /** The id of the newest entry (0: none yet). */
  private last = 0;
  /** Entries pushed out of the full ring so far. */
  evicted = 0;
  private readonly off: (() => void)[];

  constructor(
    events: Emitter<CoreEvents>,
    private readonly clock: Clock,
    readonly capacity = 1000,
  ) {
    this.ring = new Array<EventEntry | undefined>(capacity);
    this.off = [
      events.on('resume', (e) => {
        if (!e.resumed) return; // a new session: too many to log
        const detail: EventEntry['detail'] = {
          recovered: e.recovered,
          missing: e.missing,
          replayed: e.replayed,
        };
        if (e.reason !== undefined) detail.reason = e.reason;
        this.add(e.recovered ? 'resume' : 'gap', e.sid, detail);
      }),
      events.on('breaker', (e) =>
        this.add('breaker', undefined, { name: e.name, from: e.from, to: e.to, reason: e.reason }),
      ),
      events.on('drop', (e) => {
        if (e.reason === 'overflow') this.add('overflow', e.sid, { count: e.count });
        else if (e.reason === 'ttl') this.add('expired', e.sid, { count: e.count });
      }),
      events.on('reap', (e) => this.add('reap', e.sid, { leftover: e.leftover })),
      events.on('takeover', (e) =>
        this.add('takeover', e.sid, e.node === undefined ? {} : { node: e.node }),
      ),
      events.on('end', (e) => this.add('end', e.sid, { by: e.by })),
      events.on('heartbeatTimeout', (e) => this.add('heartbeat_timeout', e.sid, {})),
    ];
  }

  /** The id of the newest entry ever logged (0 when none). */
  get lastId(): number {
    return this.last;
  }

  /** Entries held now (at most `capacity`). */
  get length(): number {
    return this.size;
  }

  /** Log one entry (the core events call this; exposed for tests and applications). */
  add(type: EventType, sid: string | undefined, detail: EventEntry['detail']): EventEntry {
    const entry: EventEntry = {
      id: ++this.last,
      at: new Date(this.clock.now()).toISOString(),
      type,
      ...(sid === undefined ? {} : { sid }),
      detail,
    };
    if (this.size === this.capacity) this.evicted++;
    else this.size++;
    this.ring[this.head] = entry;
    this.head = (this.head + 1) % this.capacity;
    return entry;
  }

  /** The newest `limit` entries that match, oldest first (newest last). O(capacity). */
  list(q: EventQuery): EventEntry[] {
    const types = q.types === undefined || q.types.length === 0 ? undefined : new Set(q.types);
    const after = q.after ?? 0;
    const out: EventEntry[] = [];
    // Newest to oldest, stopping at `limit` matches or at ids not after `after`.
    for (let i = 0; i < this.size && out.length < q.limit; i++) {
      const e = this.at(i);
      if (e.id <= after) break;
      if (types !== undefined && !types.has(e.type)) continue;
      if (q.sid !== undefined && e.sid !== q.sid) continue;
      out.push(e);
    }
    return out.reverse();
  }

  /**
   * The entries after `id`, at most `max` (the newest), oldest first; `missed`: how many more
   * came after `id` than are returned (left out by `max`, or already pushed out of the ring).
   */
  since(id: number, max: number): { events: EventEntry[]; missed: number } {
    const events = this.list({ after: id, limit: max });
    return { events, missed: Math.max(0, this.last - Math.max(id, 0) - events.length) };
  }

  /** Stop listening to the core events. */
  close(): void {
    for (const off of this.off.splice(0)) off();
  }

  /** The `i`-th newest entry (0: the newest), `i` < size. */
  private at(i: number): EventEntry {
    return this.ring[(this.head - 1 - i + 2 * this.capacity) % this.capacity]!;
  }
}
