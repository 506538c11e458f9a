/**
 * The stats stream's snapshot (GET /api/stats/stream, docs/protocol.md §12.2) as the page
 * reads it, and the headline figures derived from two consecutive snapshots. Every field is
 * read defensively: an older server, metrics turned off or a store that did not answer leave
 * a figure empty ("–"), never a broken page.
 */
import { windowQuantile, type HistogramFigure } from './series.js';

export interface NodeInfo {
  node: string;
  self: boolean;
  alive: boolean;
  lastSeen: string;
  connections: number;
  attached: number;
  http?: string;
}

export interface BreakerInfo {
  name: string;
  state: string;
  /** The last state change (its `at` an ISO time), null before the first. */
  lastChange?: { at: string; from?: string; to?: string; reason?: string } | null;
  /** ISO time, null unless open. */
  openUntil?: string | null;
  [field: string]: unknown;
}

export interface LogEvent {
  id: number;
  at: string;
  type: string;
  sid?: string;
  detail?: Record<string, string | number | boolean>;
}

export interface Metrics {
  counters?: Record<string, number | Record<string, number>>;
  gauges?: Record<string, number | Record<string, number>>;
  histograms?: Record<string, HistogramFigure | Record<string, HistogramFigure>>;
}

export interface Snapshot {
  at: string;
  node: string;
  /** Durations are whole ms (`…Ms`), times ISO strings (docs/protocol.md §12). */
  uptimeMs?: number;
  connections: number;
  cluster?: { nodes: number; connections: number };
  nodes?: NodeInfo[];
  sessions?: { total: number; attached: number; detached: number; attachedHere?: number };
  outbox?: { messages: number; bytes: number; oldestAgeMs: number };
  dlq?: { size: number; evicted: number; bytes?: number; added?: Record<string, number> };
  store?: Record<string, unknown>;
  breakers?: BreakerInfo[];
  metrics?: Metrics & { enabled?: boolean };
  rates?: {
    intervalMs: number | null;
    messagesSentPerSecond: number | null;
    bytesSentPerSecond?: number | null;
    deadLettersPerSecond?: number | null;
  };
  events?: LogEvent[];
  eventsMissed?: number;
}

/** An unlabelled figure, or the sum over the label values of a labelled one. */
export function total(v: number | Record<string, number> | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  return Object.values(v).reduce((a, b) => a + b, 0);
}

/** A labelled counter as `{labelValue: n}` ({} when absent or unlabelled). */
export function byLabel(v: number | Record<string, number> | undefined): Record<string, number> {
  return v === undefined || typeof v === 'number' ? {} : v;
}

function counter(s: Snapshot | undefined, name: string): number | undefined {
  return total(s?.metrics?.counters?.[name]);
}

function gauge(s: Snapshot | undefined, name: string): number | undefined {
  return total(s?.metrics?.gauges?.[name]);
}

function histogram(s: Snapshot | undefined, name: string): HistogramFigure | undefined {
  const h = s?.metrics?.histograms?.[name];
  return h !== undefined && typeof (h as HistogramFigure).count === 'number'
    ? (h as HistogramFigure)
    : undefined;
}

/**
 * Whether `prev` and `cur` come from one run of one node. A restart (its uptime went back, or
 * it started at another time) or another node behind the same address starts its counters,
 * histograms and event-log ids over: nothing can be derived from the two together. The
 * start is read as `at - uptimeMs`, which moves by a snapshot's compute time: 5 s slack.
 */
export function sameRun(prev: Snapshot, cur: Snapshot): boolean {
  if (prev.node !== cur.node) return false;
  const a = prev.uptimeMs;
  const b = cur.uptimeMs;
  if (a === undefined || b === undefined) return true;
  if (b < a) return false;
  const started = (s: Snapshot, up: number) => Date.parse(s.at) - up;
  return Math.abs(started(cur, b) - started(prev, a)) < 5000;
}

/** `prev` when it is of `cur`'s run, else undefined (see `sameRun`). */
function ofRun(prev: Snapshot | undefined, cur: Snapshot): Snapshot | undefined {
  return prev !== undefined && sameRun(prev, cur) ? prev : undefined;
}

/**
 * Merge event-log entries into `kept` (id order, no duplicates), keeping the newest `max`.
 * The stream's entries and `GET /api/events`'s arrive in either order (a viewer joining a
 * running stream gets its last snapshot at once), so an entry older than the newest kept is
 * still added. `kept` holds one run's entries (ids start over with a restart). True when any
 * was added.
 */
export function mergeEvents(kept: LogEvent[], incoming: readonly LogEvent[], max: number): boolean {
  const have = new Set(kept.map((e) => e.id));
  let added = false;
  for (const e of incoming) {
    if (have.has(e.id)) continue;
    have.add(e.id);
    kept.push(e);
    added = true;
  }
  if (!added) return false;
  kept.sort((a, b) => a.id - b.id);
  if (kept.length > max) kept.splice(0, kept.length - max);
  return true;
}

/** The change per second of a counter between two snapshots; null without both (of one run). */
export function perSecond(
  before: Snapshot | undefined,
  cur: Snapshot,
  name: string,
): number | null {
  const prev = ofRun(before, cur);
  const a = counter(prev, name);
  const b = counter(cur, name);
  if (prev === undefined || a === undefined || b === undefined) return null;
  const seconds = (Date.parse(cur.at) - Date.parse(prev.at)) / 1000;
  if (!(seconds > 0)) return null;
  return Math.max(0, b - a) / seconds;
}

/** What the headline cards and the charts show, for the whole cluster or one node. */
export interface Headline {
  connections: number | null;
  attached: number | null;
  detached: number | null;
  messagesOutPerSecond: number | null;
  messagesInPerSecond: number | null;
  /** Seconds, over the last interval (null: no ack in it). */
  ackP50: number | null;
  ackP99: number | null;
  dropsPerSecond: number | null;
  /** Share of one core (1 = 100 %). */
  cpu: number | null;
  rssBytes: number | null;
  /** Seconds, p99 over the server's last 5 s window. */
  loopDelayP99: number | null;
  outboxMessages: number | null;
  outboxOldestSeconds: number | null;
}

/**
 * The headline figures. `view` is "cluster" (the deployment: connections summed over live
 * nodes, sessions and outbox from the shared store) or a node name. Rates, latency, CPU and
 * memory are the serving node's own: they are shown for "cluster" and for this node, and
 * left empty for another node (its own dashboard has them).
 */
export function headline(before: Snapshot | undefined, cur: Snapshot, view: string): Headline {
  const prev = ofRun(before, cur);
  const self = view === 'cluster' || view === cur.node;
  const node = cur.nodes?.find((n) => n.node === view);
  const local = <T>(v: T): T | null => (self ? v : null);
  const ack = histogram(cur, 'rws_ack_latency_seconds');
  const ackBefore = histogram(prev, 'rws_ack_latency_seconds');
  const cpuSeconds = perSecond(prev, cur, 'process_cpu_seconds_total');
  const attached = cur.sessions?.attached ?? null;
  return {
    connections:
      view === 'cluster'
        ? (cur.cluster?.connections ?? cur.connections)
        : self
          ? cur.connections
          : (node?.connections ?? null),
    attached:
      view === 'cluster'
        ? attached
        : self
          ? (cur.sessions?.attachedHere ?? attached)
          : (node?.attached ?? null),
    detached: view === 'cluster' || self ? (cur.sessions?.detached ?? null) : null,
    messagesOutPerSecond: local(cur.rates?.messagesSentPerSecond ?? null),
    messagesInPerSecond: local(perSecond(prev, cur, 'rws_client_messages_total')),
    ackP50: local(windowQuantile(ackBefore, ack, 0.5)),
    ackP99: local(windowQuantile(ackBefore, ack, 0.99)),
    dropsPerSecond: local(perSecond(prev, cur, 'rws_messages_dropped_total')),
    cpu: local(cpuSeconds),
    rssBytes: local(gauge(cur, 'process_resident_memory_bytes') ?? null),
    loopDelayP99: local(gauge(cur, 'rws_eventloop_delay_p99_seconds') ?? null),
    outboxMessages: cur.outbox?.messages ?? null,
    outboxOldestSeconds: ms(cur.outbox?.oldestAgeMs),
  };
}

/** A duration of the API (whole ms) in seconds, as the charts and cards take them. */
function ms(v: number | undefined): number | null {
  return v === undefined ? null : v / 1000;
}

/** Labelled counters shown as tables: totals and per-second rates per label value. */
export function labelled(
  last: Snapshot | undefined,
  cur: Snapshot,
  name: string,
): Array<{ label: string; total: number; perSecond: number | null }> {
  const prev = ofRun(last, cur);
  const now = byLabel(cur.metrics?.counters?.[name]);
  const before = prev === undefined ? undefined : byLabel(prev.metrics?.counters?.[name]);
  const seconds = prev === undefined ? 0 : (Date.parse(cur.at) - Date.parse(prev.at)) / 1000;
  return Object.entries(now)
    .map(([label, n]) => ({
      label,
      total: n,
      perSecond:
        before === undefined || !(seconds > 0)
          ? null
          : Math.max(0, n - (before[label] ?? 0)) / seconds,
    }))
    .sort((a, b) => b.total - a.total || a.label.localeCompare(b.label));
}

/**
 * Whether the page missed entries of the event log with this snapshot: more arrived than a
 * snapshot carries (`eventsMissed`), or ids jump past the newest the page holds (`newest`):
 * a tick skipped while this viewer's socket was backed up. The page then fetches the latest.
 */
export function eventsMissed(newest: number, s: Snapshot): boolean {
  if ((s.eventsMissed ?? 0) > 0) return true;
  const first = s.events?.[0]?.id;
  return newest > 0 && first !== undefined && first > newest + 1;
}
