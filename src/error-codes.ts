/**
 * The catalog of the server's error codes: every `code` of an `RwsError` the library throws
 * (its subclasses `HttpError`, `ConfigError` and `BrokenCircuitError` included) and of every
 * error body the HTTP API answers with (`{"error": {"code": …}}`, docs/protocol.md "HTTP
 * API"). One entry per code, with what it means. The HTTP status of each is in
 * src/server/routes.ts (`ERROR_STATUS`, a `Record<RwsErrorCode, number>`: a code added here
 * without a status does not compile).
 *
 * Not here: the codes of WebSocket `error` frames and of the server's own `nack` frames
 * (`ErrorCode`, `NackCode` in src/protocol/close-codes.ts), and the codes of `NackError`s
 * that applications throw, which are theirs to choose.
 */
export const RWS_ERROR_CODES = {
  // Sessions and sends (library API and HTTP publish)
  unknown_session: 'no session with this id: never created, ended, or reaped after its TTL',
  unknown_user: 'this user has no live session, so a message to the user is stored nowhere',
  session_exists: 'a session with this id already exists in the store',
  outbox_full: "the session's outbox is full and its overflow policy is reject",
  bad_data: 'the message data is not a JSON value (undefined, a function, a cycle, a BigInt)',
  bad_options: 'send options that do not go together (id, key, volatile, dedup) or a reserved id',
  message_too_large: 'the message is larger than the outbox or frame bound allows',
  content_hash_unavailable: "dedup: 'content' was asked but no content hasher is loaded",
  // Store and server life cycle
  store_closed: 'the session store was closed (the server is shutting down)',
  store_not_synchronous: 'a synchronous append was asked of a store that has no appendNow',
  server_closed: 'the server was closed; it cannot listen again',
  not_listening: 'the server is not listening (address() before listen() or after close())',
  config_invalid: 'the configuration is invalid; the error lists every problem',
  // Circuit breakers
  breaker_open: 'a circuit breaker is open and refused the call',
  breaker_limit: 'the breaker registry already holds its maximum number of breakers',
  invalid_breaker_option: 'a circuit breaker option is out of range',
  // Metrics registry (programming errors in a metric definition or use)
  metric_bad_name: 'a metric name is not a valid Prometheus name or breaks the _total rule',
  metric_bad_label: 'a label name or label values do not match the metric definition',
  metric_bad_buckets: 'histogram buckets are empty, not finite, or not strictly increasing',
  metric_bad_cap: 'a metric label-set cap (maxLabelSets) is not an integer >= 1',
  metric_bad_value: 'a counter increment is negative or NaN (a counter never goes down)',
  metric_exists: 'a metric with this name is already registered',
  metric_read_only: 'a counter computed at scrape time cannot be incremented',
  // HTTP API
  bad_request: 'the request body or query is not what the route takes',
  bad_page_size:
    'a store was asked for pages of session ids with a page size that is not a positive integer',
  bad_cursor: 'a dead-letter paging cursor (`after`) that the dead-letter store cannot read',
  bad_json: 'the request body is not valid JSON',
  unsupported_media_type: 'the request content-type is not application/json',
  body_too_large: 'the request body is larger than the limit (the maximum frame size)',
  method_not_allowed: 'the route does not take this method (see the allow header)',
  not_found: 'no route for this method and path',
  unauthorized: 'the route needs Authorization: Bearer <admin token>',
  cross_origin:
    'a browser request to /api/* or /metrics whose Origin is not the server (its Host header)',
  // WebSocket upgrades on /ws refused before the handshake (the answer is HTTP, not a close code)
  origin_not_allowed: 'a browser upgrade to /ws whose Origin is not in allowedOrigins',
  too_many_connections: 'the node has maxConnections WebSocket connections open; retry later',
  too_many_connections_from_ip:
    'this client IP has maxConnectionsPerIp WebSocket connections open; retry later',
  too_many_viewers: 'GET /api/stats/stream already has its maximum number of viewers',
  metrics_disabled: 'metrics are off (RWS_METRICS=false), so /metrics is not served',
  draining: 'the server is shutting down (GET /readyz)',
  store_unavailable: 'the session store does not answer (GET /readyz)',
  replay_in_progress: 'this dead letter is being replayed by another request, or went away',
  unknown_breaker: 'no circuit breaker with this name',
  unknown_dead_letter: 'no dead letter with this id',
  internal: 'an unexpected error; the server log has the details',
} as const satisfies Record<string, string>;

/** A code of an error the server throws or answers with (see RWS_ERROR_CODES). */
export type RwsErrorCode = keyof typeof RWS_ERROR_CODES;

/** Whether `code` is one of the server's error codes (and not, say, an application nack code). */
export function isRwsErrorCode(code: unknown): code is RwsErrorCode {
  return typeof code === 'string' && Object.hasOwn(RWS_ERROR_CODES, code);
}
