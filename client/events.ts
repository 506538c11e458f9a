/** Public types of the client: state, session, stats and event payloads. */
import type { ResumeReason } from '../src/protocol/index.js';

/**
 * `connecting`: the first attempt since `connect()`; `reconnecting`: waiting out a backoff or
 * connecting again after a connection was lost; `open`: `welcome` received.
 */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What to persist to resume the session after a restart (pass it back as `options.resume`). */
export interface ClientSession {
  sid: string;
  key: string;
  /** Highest seq processed. */
  ack: number;
}

export interface ClientStats {
  /** Connection attempts made after a connection (or an attempt) was lost. */
  reconnects: number;
  /** Stored messages dropped because their seq had already been processed. */
  duplicatesDropped: number;
  /** `message` events emitted (stored and volatile). */
  messages: number;
  /** `ack` frames sent. */
  acksSent: number;
}

/** Emitted on every `welcome`. */
export interface ClientOpenEvent {
  sid: string;
  /** Whether the server resumed the session named in `hello` (always false on a first connect). */
  resumed: boolean;
}

export interface ClientMessageEvent {
  data: unknown;
  /** Absent for volatile messages, which are never stored, replayed or acked. */
  seq: number | undefined;
  id?: string;
  /**
   * The key of a keyed message (latest value wins): a newer message with the same key may
   * replace it before delivery, so its seq can be skipped without a loss.
   */
  key?: string;
}

/**
 * Emitted on a `welcome` after a resume attempt. `recovered: false` with reason
 * `unknown_session` or `epoch_changed` means a new session: seqs start again at 1.
 */
export interface ClientResumedEvent {
  recovered: boolean;
  reason?: ResumeReason;
  /** With reason `gap` (and `epoch_changed` when the store counted losses): how many were lost. */
  missing?: number;
}

/**
 * Messages the application will never see, each loss reported once. `resume`: the server
 * could not replay `missing` messages (welcome reason `gap`, or any welcome with `missing` >
 * 0, e.g. `epoch_changed`). `live`: seqs `from`..`to` never arrived and the server did not
 * say why. A seq skipped because a newer message with the same key replaced it is never a
 * gap: a 1.1 server names the seq before each hole (`msg.prev`), so a `live` gap means a real
 * loss. (With a 1.0 server, which cannot say, a hole above `welcome.last` is reported as
 * `live`, superseded or not.)
 */
export type ClientGapEvent =
  { reason: 'live'; from: number; to: number } | { reason: 'resume'; missing: number };

/**
 * The client stopped for good (state `closed`), emitted once: after `close()`, a terminal
 * code (application codes 4900–4999 included), 4001 (another connection took the session
 * over), the server ending the session (also `sessionEnded`), or a lost session with
 * `onSessionLost: 'stop'` (also `sessionLost`). A connection lost on the way is not a
 * `close`: see `reconnecting`.
 */
export interface ClientCloseEvent {
  code: number;
  reason: string;
  /** Always false (kept from 1.0, which also emitted `close` before each reconnect). */
  willReconnect: false;
}

/**
 * A connection (or a connection attempt) was lost and another attempt is scheduled: state
 * `reconnecting`. `attempt` counts the attempts since the last `welcome` (1 for the first
 * reconnect); the next one starts in `delayMs` (full-jitter backoff).
 */
export interface ClientReconnectingEvent {
  attempt: number;
  delayMs: number;
  /** The close code that ended the last connection or attempt (1006 when it failed). */
  lastCloseCode: number;
  reason: string;
}

/**
 * The server ended the session (`server.endSession`, the admin API, or a session limit): it
 * is gone for good, `client.session` is undefined, and `close` follows. Start a new client
 * for a new session.
 */
export interface ClientSessionEndedEvent {
  /** The reason the server gave (`error` frame `session_ended`), or the close reason. */
  reason: string;
  code: number;
}

/**
 * A resume found the session gone (`unknown_session`, `epoch_changed`): the server started a
 * new one. With `onSessionLost: 'stop'`, `close` follows and nothing was sent in it.
 */
export interface ClientSessionLostEvent {
  reason: 'unknown_session' | 'epoch_changed';
}

/** An `error` frame from the server, an undecodable frame, or a listener that threw. */
export interface ClientErrorEvent {
  code: string;
  message: string;
  cause?: unknown;
}

export interface ClientEvents {
  open: ClientOpenEvent;
  message: ClientMessageEvent;
  resumed: ClientResumedEvent;
  gap: ClientGapEvent;
  reconnecting: ClientReconnectingEvent;
  sessionEnded: ClientSessionEndedEvent;
  sessionLost: ClientSessionLostEvent;
  close: ClientCloseEvent;
  error: ClientErrorEvent;
}
