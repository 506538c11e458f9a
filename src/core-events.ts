/**
 * The typed events of the core. Metrics, logs and applications observe these; nothing in
 * the core depends on who listens (no listener = no cost beyond a property read).
 */
import type { ResumeReason } from './protocol/frames.js';

export type DropReason = 'ttl' | 'overflow' | 'session_reaped' | 'session_closed';

/** Why a client message was refused before it was handled (`clientMessageRefused`). */
export type ClientRefusal = 'rate_limited' | 'overloaded' | 'too_deep';

export interface CoreEvents {
  /**
   * A WebSocket connection was accepted (before hello). `remote`: the client IP the
   * admission counted it under (the peer address, or with trustProxyHops the trusted
   * X-Forwarded-For entry).
   */
  connection: { remote: string | undefined };
  /**
   * A WebSocket upgrade on /ws was refused before the handshake (answered with an HTTP error
   * of this code): an Origin not in allowedOrigins, or a connection limit (global, per IP).
   */
  connectionRefused: {
    reason: 'origin_not_allowed' | 'too_many_connections' | 'too_many_connections_from_ip';
  };
  /**
   * A `hello` was refused by authentication (closed with 4500): the `authenticate` hook's
   * `AuthError` reason, or `refused` (it answered false), `error` (it threw something else),
   * `bad_principal` (its principal was invalid).
   */
  authFailed: { reason: string };
  /** A session was created or resumed on a connection. */
  session: { sid: string; resumed: boolean };
  /** Outcome of every hello: new session, full recovery, or why not. */
  resume: {
    sid: string;
    resumed: boolean;
    recovered: boolean;
    reason: ResumeReason | undefined;
    missing: number;
    replayed: number;
  };
  /** A connection ended; `sid` is absent if it never completed hello. */
  disconnect: { sid: string | undefined; code: number; reason: string };
  /** A stored message was accepted for a session (emitted only when someone listens; the
   *  metrics count sends from `Outbox.totals` instead, a per-send event costs 3-8 % of the
   *  send path: bench/metrics-send-path.bench.ts). */
  send: { sid: string; seq: number; bytes: number };
  /**
   * The store append's time, sampled: 1 stored send in `SEND_TIMING_EVERY` (128, in
   * outbox/outbox.ts), because a clock read is not free.
   */
  sendTiming: { durationMs: number };
  /** A client acknowledged messages (cumulative). `latencyMs`: from the enqueue of the newest
   *  message this ack removed to the ack (absent when the store cannot tell). */
  ack: { sid: string; seq: number; removed: number; latencyMs: number | undefined };
  /** Messages were given up on; they went to the dead-letter queue. */
  drop: { sid: string; reason: DropReason; count: number };
  /** A client message is about to be handled (not emitted for duplicates). */
  message: { sid: string; id: string; data: unknown };
  /** Stored messages reached their TTL (also counted as a `drop` with reason `ttl`). */
  expire: { sid: string; count: number };
  /** A client message was handled (`dup`: answered from the dedup window). */
  clientMessage: { sid: string; id: string; dup: boolean; ok: boolean };
  /** An outbound send repeated an idempotency id within the window. */
  duplicateSend: { sid: string; id: string; seq: number };
  /** A detached session reached its TTL and was freed. */
  reap: { sid: string; leftover: number };
  /**
   * A connection of this node lost its session to a newer connection, which took the session
   * over (the old one is closed with 4001): a resume on this node (`node`: this node's name)
   * or, found by the position check, on another node (`node`: the store's owner of the
   * session, the node that took it). `undefined` when the owner is not known.
   */
  takeover: { sid: string; node: string | undefined };
  /** A session ended on purpose (`bye` or admin). */
  /** `user_limit`: the oldest session of a user past `maxSessionsPerUser`. */
  end: { sid: string; by: 'bye' | 'admin' | 'user_limit' };
  /** A peer was silent past the heartbeat timeout. */
  heartbeatTimeout: { sid: string | undefined };
  /** A frame was refused (`bad_frame`, `unknown_type`, `bad_ack` …). */
  frameError: { sid: string | undefined; code: string };
  /**
   * A client message was answered with a nack before anything handled it, for a limit: over
   * the rate (`rate_limited`), too many queued for the session (`overloaded`), `data` nested
   * too deep (`too_deep`).
   */
  clientMessageRefused: { sid: string; id: string; code: ClientRefusal };
  /** An upstream call (gateway mode) finished: its outcome, HTTP status, attempts and time. */
  upstream: {
    outcome: 'ok' | 'rejected' | 'failed' | 'timeout' | 'breaker_open' | 'overloaded' | 'draining';
    status: number | undefined;
    attempts: number;
    durationMs: number;
  };
  /** A circuit breaker changed state (`from`/`to`: closed, open, half_open, forced_open, disabled). */
  breaker: { name: string; from: string; to: string; reason: string };
  /** The server began shutting down (stop accepting, drain upstream calls within `timeoutMs`, close clients with 1001). */
  shutdown: { timeoutMs: number };
  /** Something failed that no caller could be told about (a store error in a background task). */
  error: { where: string; error: unknown };
}
