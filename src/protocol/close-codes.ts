/**
 * WebSocket close codes used by protocol v1, as data. Ranges (docs/protocol.md §11):
 * 4000–4499 are retryable (the SDK reconnects and resumes — except after 4001: another
 * connection took the session, and fighting over it would be a takeover storm), 4500–4999
 * are terminal. Inside them, 4400–4499 and 4900–4999 are reserved for applications: the
 * library never sends a code from either, and they follow the rule of the range they sit in.
 */
export const CloseCode = {
  /** After `bye`: the session is over. */
  Normal: 1000,
  /** Server going away (shutdown, redeploy): reconnect, possibly to another node. */
  GoingAway: 1001,
  /** Abnormal closure (no close frame; set by the WebSocket implementation, never sent). */
  Abnormal: 1006,
  /** Policy violation. */
  Policy: 1008,
  /** A message larger than the configured maximum. */
  TooBig: 1009,
  /**
   * Service restart: the shared store restarted or failed over, or this node lost its
   * attachments in it (declared dead after a pause). Reconnect and resume: the welcome says
   * what survived (`epoch_changed`, `unknown_session`, or a complete resume).
   */
  ServiceRestart: 1012,
  HeartbeatTimeout: 4000,
  Replaced: 4001,
  SlowConsumer: 4002,
  Overloaded: 4003,
  /**
   * 1.1: the server (an operator, `server.disconnect`) closed this connection on purpose and
   * kept the session: reconnect and resume.
   */
  Disconnected: 4004,
  Unauthorized: 4500,
  ProtocolError: 4501,
  BadKey: 4502,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Private-use close codes (4000–4999, RFC 6455 §7.4.2) and how a client treats them. */
export const CloseRange = {
  /** The client reconnects and resumes. */
  Retryable: { first: 4000, last: 4499 },
  /** The client stops. */
  Terminal: { first: 4500, last: 4999 },
  /**
   * Reserved for applications, never sent by the library: a close the application decided
   * (a gateway or proxy in front of the server, another implementation of the protocol)
   * after which the client reconnects and resumes. Part of `Retryable`.
   */
  ApplicationRetryable: { first: 4400, last: 4499 },
  /** Reserved for applications, never sent by the library: the client stops. Part of `Terminal`. */
  ApplicationTerminal: { first: 4900, last: 4999 },
} as const;

function within(code: number, range: { first: number; last: number }): boolean {
  return code >= range.first && code <= range.last;
}

/** Whether the code is one of those reserved for applications (4400–4499, 4900–4999). */
export function isApplicationCloseCode(code: number): boolean {
  return (
    within(code, CloseRange.ApplicationRetryable) || within(code, CloseRange.ApplicationTerminal)
  );
}

/**
 * Whether a client should reconnect after this close code.
 * 1000 (bye) and 1007/1008/1009 (the same input would fail again) and 4500–4999 are terminal;
 * everything else, including 1001, 1006 and 4000–4499, is retryable. Application codes follow
 * the range they sit in: 4400–4499 retryable, 4900–4999 terminal.
 */
export function isRetryableClose(code: number): boolean {
  if (within(code, CloseRange.Retryable)) return true;
  if (within(code, CloseRange.Terminal)) return false;
  // 1007 (invalid payload data): the same bytes would fail again.
  return (
    code !== CloseCode.Normal &&
    code !== 1007 &&
    code !== CloseCode.Policy &&
    code !== CloseCode.TooBig
  );
}

/** Stable error codes carried by `error` frames and `nack`s. */
export const ErrorCode = {
  BadFrame: 'bad_frame',
  UnknownType: 'unknown_type',
  BadAck: 'bad_ack',
  BadKey: 'bad_key',
  HelloRequired: 'hello_required',
  HelloTimeout: 'hello_timeout',
  UnsupportedVersion: 'unsupported_version',
  TooManyErrors: 'too_many_errors',
  TooManyFrames: 'too_many_frames',
  Unauthorized: 'unauthorized',
  /** The session fell behind: the outbox overflowed or messages expired before delivery. */
  SlowConsumer: 'slow_consumer',
  /** The session store did not answer in time; retry. */
  Unavailable: 'unavailable',
  /** The peer kept sending client messages past its rate limit (close 4003). */
  RateLimited: 'rate_limited',
  /** 1.1: the server ended the session (`server.endSession`, admin); close 1000 follows. */
  SessionEnded: 'session_ended',
  /** 1.1: the server closed the connection and kept the session (close 4004); resume. */
  Disconnected: 'disconnected',
} as const;

/** Codes of `nack` frames the server itself sends (applications add their own). */
export const NackCode = {
  /** Too many client messages queued for the session (retryable). */
  Overloaded: 'overloaded',
  /** The handler threw something other than a NackError, or returned non-JSON data. */
  HandlerError: 'handler_error',
  /** The session ended while the message waited. */
  UnknownSession: 'unknown_session',
  /** The same id is claimed and its handler has not finished (maybe on another node): retry. */
  InProgress: 'in_progress',
  /** The session store failed (Redis away) before the message was handled: retry as is. */
  Unavailable: 'unavailable',
  /** Over the session's rate limit (`clientRate`, `clientBurst`): retry after `retryAfterMs`. */
  RateLimited: 'rate_limited',
  /** `data` nests deeper than `maxJsonDepth`: the same message would be refused again. */
  TooDeep: 'too_deep',
} as const;
