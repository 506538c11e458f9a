/**
 * The product metrics: the reference table (name, type, labels, meaning) that the docs are
 * generated or checked from. Label values come from closed sets fixed by the code (reasons,
 * outcomes, states) or named by configuration (breakers); never a session, client or
 * message id. Every labelled metric is still capped (`metricsMaxLabelSets`).
 */
import type { MetricType, MetricUnit } from './types.js';

export interface MetricInfo {
  name: string;
  type: MetricType;
  help: string;
  labelNames: readonly string[];
  unit?: MetricUnit;
  /** Histograms: the fixed upper bounds (base unit). */
  buckets?: readonly number[];
  /** What moves it: a core event (`event:send`) or a scrape-time read (`scrape:store`). */
  source: string;
}

/** Latencies from 1 ms to 5 min: acks include the client's batching and reconnects. */
const ACK_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
/** A store append: microseconds in memory, milliseconds over Redis. */
const SEND_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 1,
];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const m = <T extends MetricInfo>(info: T): T => info;

export const PRODUCT_METRICS = {
  connections: m({
    name: 'rws_connections',
    type: 'gauge',
    labelNames: [],
    source: 'scrape:connections',
    help: 'Open WebSocket connections.',
  }),
  connectionsTotal: m({
    name: 'rws_connections_accepted_total',
    type: 'counter',
    labelNames: [],
    source: 'event:connection',
    help: 'WebSocket connections accepted.',
  }),
  connectionsRefused: m({
    name: 'rws_connections_refused_total',
    type: 'counter',
    labelNames: ['reason'],
    source: 'event:connectionRefused',
    help: 'WebSocket upgrades refused before the handshake, by reason (origin_not_allowed, too_many_connections, too_many_connections_from_ip).',
  }),
  authFailures: m({
    name: 'rws_auth_failures_total',
    type: 'counter',
    labelNames: ['reason'],
    source: 'event:authFailed',
    help: 'Hellos refused by authentication (closed 4500), by reason (missing_token, bad_token, expired, refused, error, bad_principal ...).',
  }),
  disconnects: m({
    name: 'rws_disconnects_total',
    type: 'counter',
    labelNames: [],
    source: 'event:disconnect',
    help: 'WebSocket connections ended.',
  }),
  sessions: m({
    name: 'rws_sessions',
    type: 'gauge',
    labelNames: ['state'],
    source: 'scrape:store',
    help: 'Live sessions by state (attached: has a connection on this node; detached: waiting for a resume).',
  }),
  sent: m({
    name: 'rws_messages_sent_total',
    type: 'counter',
    labelNames: [],
    source: 'event:send',
    help: 'Messages accepted into an outbox (each gets a seq).',
  }),
  sentBytes: m({
    name: 'rws_messages_sent_bytes_total',
    type: 'counter',
    unit: 'bytes',
    labelNames: [],
    source: 'event:send',
    help: 'Serialized size of the messages accepted into an outbox, in bytes.',
  }),
  acked: m({
    name: 'rws_messages_acked_total',
    type: 'counter',
    labelNames: [],
    source: 'event:ack',
    help: 'Messages removed from outboxes by client acks.',
  }),
  replayed: m({
    name: 'rws_messages_replayed_total',
    type: 'counter',
    labelNames: [],
    source: 'event:resume',
    help: 'Retained messages replayed to resuming clients.',
  }),
  dropped: m({
    name: 'rws_messages_dropped_total',
    type: 'counter',
    labelNames: ['reason'],
    source: 'event:drop',
    help: 'Messages given up on and dead-lettered, by reason (ttl, overflow, session_reaped, session_closed).',
  }),
  expired: m({
    name: 'rws_messages_expired_total',
    type: 'counter',
    labelNames: [],
    source: 'event:expire',
    help: 'Messages that reached their TTL (also counted in rws_messages_dropped_total{reason="ttl"}).',
  }),
  clientMessages: m({
    name: 'rws_client_messages_total',
    type: 'counter',
    labelNames: ['outcome'],
    source: 'event:clientMessage',
    help: 'Client messages answered, by outcome (ok, nack, duplicate).',
  }),
  clientRefused: m({
    name: 'rws_client_messages_refused_total',
    type: 'counter',
    labelNames: ['code'],
    source: 'event:clientMessageRefused',
    help: 'Client messages answered with a nack before any handler saw them, for a limit, by nack code (rate_limited: clientRate/clientBurst; overloaded: maxPendingClientMessages; too_deep: maxJsonDepth).',
  }),
  dedupHits: m({
    name: 'rws_dedup_hits_total',
    type: 'counter',
    labelNames: ['direction'],
    source: 'event:clientMessage,duplicateSend',
    help: 'Repeats recognised by a dedup window: inbound (client message ids) and outbound (send idempotency ids).',
  }),
  ackLatency: m({
    name: 'rws_ack_latency_seconds',
    type: 'histogram',
    unit: 'seconds',
    labelNames: [],
    buckets: ACK_BUCKETS,
    source: 'event:ack',
    help: 'Time from the enqueue of the newest acked message to its ack, in seconds.',
  }),
  sendDuration: m({
    name: 'rws_send_duration_seconds',
    type: 'histogram',
    unit: 'seconds',
    labelNames: [],
    buckets: SEND_BUCKETS,
    source: 'event:send',
    help: 'Time to store a sent message in the outbox (store append), in seconds; sampled, 1 send in 128.',
  }),
  outboxMessages: m({
    name: 'rws_outbox_messages',
    type: 'gauge',
    labelNames: [],
    source: 'scrape:store',
    help: 'Messages retained in all outboxes (sent, not yet acked or expired).',
  }),
  outboxBytes: m({
    name: 'rws_outbox_bytes',
    type: 'gauge',
    unit: 'bytes',
    labelNames: [],
    source: 'scrape:store',
    help: 'Bytes retained in all outboxes.',
  }),
  outboxOldestAge: m({
    name: 'rws_outbox_oldest_message_age_seconds',
    type: 'gauge',
    unit: 'seconds',
    labelNames: [],
    source: 'scrape:store',
    help: 'Age of the oldest retained message in any outbox, in seconds (0 when empty).',
  }),
  resumes: m({
    name: 'rws_resumes_total',
    type: 'counter',
    labelNames: ['outcome'],
    source: 'event:resume',
    help: 'Hello outcomes: new_session, recovered (complete resume), or why a resume was not complete (unknown_session, gap, epoch_changed).',
  }),
  heartbeatTimeouts: m({
    name: 'rws_heartbeat_timeouts_total',
    type: 'counter',
    labelNames: [],
    source: 'event:heartbeatTimeout',
    help: 'Connections closed because the peer was silent past the heartbeat timeout.',
  }),
  reaped: m({
    name: 'rws_sessions_reaped_total',
    type: 'counter',
    labelNames: [],
    source: 'event:reap',
    help: 'Detached sessions freed at the end of their session TTL.',
  }),
  ended: m({
    name: 'rws_sessions_ended_total',
    type: 'counter',
    labelNames: ['by'],
    source: 'event:end',
    help: 'Sessions ended on purpose, by who ended them (bye, admin).',
  }),
  dlq: m({
    name: 'rws_dlq_messages',
    type: 'gauge',
    labelNames: [],
    source: 'scrape:dlq',
    help: 'Dead letters held in the dead-letter queue.',
  }),
  dlqBytes: m({
    name: 'rws_dlq_bytes',
    type: 'gauge',
    labelNames: [],
    unit: 'bytes',
    source: 'scrape:dlq',
    help: 'Bytes of message data held in the dead-letter queue (at most RWS_DLQ_MAX_BYTES).',
  }),
  dlqEvicted: m({
    name: 'rws_dlq_evicted_total',
    type: 'counter',
    labelNames: [],
    source: 'scrape:dlq',
    help: 'Dead letters pushed out of the full dead-letter queue (RWS_DLQ_MAX, RWS_DLQ_MAX_BYTES), oldest first.',
  }),
  breakerState: m({
    name: 'rws_breaker_state',
    type: 'gauge',
    labelNames: ['breaker', 'state'],
    source: 'scrape:breakers',
    help: 'Circuit breaker state: 1 for the current state (closed, open, half_open, forced_open, disabled), 0 for the others.',
  }),
  breakerTransitions: m({
    name: 'rws_breaker_transitions_total',
    type: 'counter',
    labelNames: ['breaker', 'to'],
    source: 'event:breaker',
    help: 'Circuit breaker state changes, by breaker and new state.',
  }),
  upstreamRequests: m({
    name: 'rws_upstream_requests_total',
    type: 'counter',
    labelNames: ['outcome'],
    source: 'event:upstream',
    help: 'Upstream calls for client messages, by outcome (ok, rejected, failed, timeout, breaker_open, overloaded, draining).',
  }),
  upstreamAttempts: m({
    name: 'rws_upstream_attempts_total',
    type: 'counter',
    labelNames: [],
    source: 'event:upstream',
    help: 'HTTP attempts made by upstream calls (retries included).',
  }),
  upstreamDuration: m({
    name: 'rws_upstream_request_duration_seconds',
    type: 'histogram',
    unit: 'seconds',
    labelNames: [],
    buckets: UPSTREAM_BUCKETS,
    source: 'event:upstream',
    help: 'Time of an upstream call, retries included, in seconds.',
  }),
  frameErrors: m({
    name: 'rws_frame_errors_total',
    type: 'counter',
    labelNames: ['code'],
    source: 'event:frameError',
    help: 'Frames refused, by error code (bad_frame, unknown_type, bad_ack, bad_key, hello_timeout ...).',
  }),
  errors: m({
    name: 'rws_background_errors_total',
    type: 'counter',
    labelNames: ['where'],
    source: 'event:error',
    help: 'Failures no caller could be told about (store errors in background tasks, throwing listeners), by where.',
  }),
} as const;

export type ProductMetricKey = keyof typeof PRODUCT_METRICS;

/** The closed label sets bound at construction (the hot path never looks a child up). */
export const REFUSAL_REASONS = [
  'origin_not_allowed',
  'too_many_connections',
  'too_many_connections_from_ip',
] as const;
export const DROP_REASONS = ['ttl', 'overflow', 'session_reaped', 'session_closed'] as const;
export const RESUME_OUTCOMES = [
  'new_session',
  'recovered',
  'unknown_session',
  'gap',
  'epoch_changed',
] as const;
export const CLIENT_REFUSALS = ['rate_limited', 'overloaded', 'too_deep'] as const;
export const BREAKER_STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;
export const UPSTREAM_OUTCOMES = [
  'ok',
  'rejected',
  'failed',
  'timeout',
  'breaker_open',
  'overloaded',
  'draining',
] as const;
