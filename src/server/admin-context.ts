/** What the admin routes (admin-routes.ts, dlq-routes.ts) work with. */
import type { Clock } from '../clock.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { Hub } from '../session/hub.js';
import type { Store } from '../store/store.js';
import type { MetricsReads } from './observability.js';
import type { EventLog } from './event-log.js';
import type { StatsStream } from './stats-stream.js';

/** The most entries one list answers (top-N sessions, a page of dead letters). */
export const MAX_LIMIT = 1000;

/*
 * Time in the admin API (docs/protocol.md §12, "Times and durations"): a point in time is an
 * ISO 8601 UTC string (`isoTime`), a duration an integer of milliseconds in a field named
 * `…Ms` (`durationMs`). The library's own values (store records, breaker snapshots, dead
 * letters) stay ms since the epoch; the routes convert them where they answer.
 */

/** A point in time (ms since the epoch) as the admin API shows it: ISO 8601, UTC. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A duration (ms) as the admin API shows it: a whole number of ms, never negative. */
export function durationMs(ms: number): number {
  return Math.max(0, Math.round(ms));
}

/** A node of the deployment as the admin API shows it (GET /api/nodes, /api/stats). */
export interface NodeView {
  node: string;
  /** This node (the one answering). */
  self: boolean;
  alive: boolean;
  /** Last heartbeat (ISO 8601, `isoTime`). */
  lastSeen: string;
  /** Open WebSocket connections and sessions attached there, as of its last heartbeat. */
  connections: number;
  attached: number;
  /** Its HTTP address, when it said. */
  http?: string;
}

export interface AdminContext {
  /** This node's name. */
  node: string;
  /** Every node of the deployment (with a memory store: this one). */
  nodes: () => Promise<NodeView[]>;
  /** What the shared store says about itself (Redis mode: generation, readiness, bus counts). */
  storeInfo?: () => Record<string, unknown>;
  hub: Hub;
  store: Store;
  dlq: DeadLetterStore;
  breakers: BreakerRegistry;
  clock: Clock;
  /** The notable core events of this node (GET /api/events, the stats stream's `events`). */
  events: EventLog;
  /** The metrics figures as JSON (absent when metrics are off). */
  metricsStats?: (read?: MetricsReads) => Promise<Record<string, unknown>>;
  startedAt: number;
  maxBodyBytes: number;
  /** GET /api/stats/stream (set once the context exists: it computes `/api/stats`). */
  statsStream?: StatsStream;
  /** Where failures no caller can be told about go (the server's `error` event). */
  onError?: (where: string, error: unknown) => void;
}
