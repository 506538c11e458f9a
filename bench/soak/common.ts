/**
 * What the soak test's processes share: the load settings the parent hands to each client
 * process, and what a client process reports back.
 */
import { seededRandom } from '../../test/support/chaos-proxy.js';

/** The server's inbound dedup window in the soak (default 300 s): see server.ts. */
export const SOAK_DEDUP_WINDOW_MS = 10_000;

/** The load one client process generates, per second unless said otherwise. */
export interface LoadSettings {
  /** The server's WebSocket URL (`ws://…/ws`) and HTTP base (`http://…`). */
  url: string;
  httpUrl: string;
  /** This process's index (0-based) and the number of SDK clients it keeps open. */
  proc: number;
  clients: number;
  /** Seed of this process's random choices. */
  seed: number;
  /** HTTP publishes (`POST /api/sessions/{sid}/messages`), one in flight per session. */
  publishRate: number;
  /** Bytes of padding in each published message (its JSON is about this + 40 B). */
  padBytes: number;
  /** Client messages (`client.send`), answered by the server's handler. */
  messageRate: number;
  /**
   * The fraction of client messages whose handler answers with a result (the echo); the others
   * get `ok` without one. The server keeps results for duplicate answers, within each
   * session's budget and for as long as their id is in the dedup window.
   */
  resultRatio: number;
  /** Sockets terminated abruptly (the SDK reconnects and resumes). */
  dropRate: number;
  /** Clients replaced by a new SDK instance resuming the same session (a page reload). */
  reloadRate: number;
  /** Sessions ended with `bye` once everything sent to them arrived, and new ones started. */
  endRate: number;
}

/** Counts a client process keeps; summed over processes by the parent. */
export interface ClientTotals {
  /** Sessions started (the initial ones and those that replaced ended ones). */
  sessions: number;
  /** Publishes answered 202 with the next seq (the server accepted them). */
  published: number;
  /** Publishes that got anything else (status, error or timeout). */
  publishFailures: number;
  /** Publishes not made because this process had its cap of requests in flight. */
  publishSkipped: number;
  /** Messages delivered to the application (`message` events). */
  received: number;
  /** Accepted but never delivered to the application (checked when a session ends and at the end). */
  lost: number;
  /** Delivered to the application a second time (a seq at or below one already delivered). */
  duplicated: number;
  /** Delivered out of order (a seq other than the previous + 1). */
  reordered: number;
  /** Delivered to the wrong session, or with a payload that does not match its seq. */
  misdelivered: number;
  /** Replayed messages the SDK dropped as already processed (expected after a resume). */
  sdkDuplicatesDropped: number;
  /** SDK `gap` events (losses the SDK saw). */
  gaps: number;
  /** Resumes answered `recovered: false` (every session here stays within the window). */
  notRecovered: number;
  /** A resume that came back with another sid. */
  sessionChanged: number;
  /** Clients that stopped for good without being told to (a terminal close code). */
  unexpectedStops: number;
  /** SDK `error` events, by code. */
  errors: Record<string, number>;
  /** Client messages sent, answered `ok` as expected (the echo, or no result), answered otherwise. */
  messagesSent: number;
  messagesOk: number;
  badEchoes: number;
  /** `send` promises rejected, by error code. */
  messagesRejected: Record<string, number>;
  /** Churn. */
  drops: number;
  reloads: number;
  ends: number;
  /** SDK reconnect attempts (`stats.reconnects`), every instance included. */
  reconnects: number;
  /** Churn actions skipped because no eligible client was found in a few random picks. */
  churnSkipped: number;
}

export function emptyTotals(): ClientTotals {
  return {
    sessions: 0,
    published: 0,
    publishFailures: 0,
    publishSkipped: 0,
    received: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    misdelivered: 0,
    sdkDuplicatesDropped: 0,
    gaps: 0,
    notRecovered: 0,
    sessionChanged: 0,
    unexpectedStops: 0,
    errors: {},
    messagesSent: 0,
    messagesOk: 0,
    badEchoes: 0,
    messagesRejected: {},
    drops: 0,
    reloads: 0,
    ends: 0,
    reconnects: 0,
    churnSkipped: 0,
  };
}

/** What a client process answers to `drain`. */
export interface ClientReport {
  totals: ClientTotals;
  /** Clients not open at the end, publishes and sends still unanswered, churn still running. */
  notOpen: number;
  publishesPending: number;
  messagesPending: number;
  churnPending: number;
  /** Whether every session received everything accepted for it within the drain time. */
  drained: boolean;
  drainMs: number;
  /** The first problems seen, in words. */
  problems: string[];
}

/** Adds b's counts into a (records by key). */
export function addTotals(a: ClientTotals, b: ClientTotals): ClientTotals {
  const out = { ...a, errors: { ...a.errors }, messagesRejected: { ...a.messagesRejected } };
  for (const k of Object.keys(b) as (keyof ClientTotals)[]) {
    const v = b[k];
    if (typeof v === 'number') (out[k] as number) += v;
  }
  for (const [k, v] of Object.entries(b.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.messagesRejected))
    out.messagesRejected[k] = (out.messagesRejected[k] ?? 0) + v;
  return out;
}

/** Counts the server process keeps from its events (cumulative). */
export interface ServerCounters {
  /** Hellos answered: new sessions, complete resumes, resumes that were not complete. */
  newSessions: number;
  resumed: number;
  notRecovered: number;
  replayed: number;
  disconnects: number;
  ends: number;
  takeovers: number;
  heartbeatTimeouts: number;
  frameErrors: number;
  errors: number;
  /** Messages given up on (dead-lettered), by reason. */
  drops: Record<string, number>;
  /** Client messages handled by the handler, and answered from the dedup window. */
  handled: number;
  dupAnswers: number;
  /** HTTP requests answered, by status. */
  http: Record<string, number>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A seeded PRNG (mulberry32), so a run's choices can be replayed with its seed. */
export const prng = seededRandom;
