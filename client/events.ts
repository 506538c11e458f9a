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
 * Messages the application will never see, each loss reported once. `live`: seqs `from`..`to`
 * were skipped in the live stream after the resume replay (a superseded keyed message, or a
 * loss). `resume`: the server could not replay `missing` messages (welcome reason `gap`, or
 * any welcome with `missing` > 0, e.g. `epoch_changed`); holes up to `welcome.last` are
 * covered by it and not reported again as `live`.
 */
export type ClientGapEvent =
  { reason: 'live'; from: number; to: number } | { reason: 'resume'; missing: number };

export interface ClientCloseEvent {
  code: number;
  reason: string;
  /**
   * False once the client has stopped for good (state `closed`): after `close()`, a terminal
   * code (application codes 4900–4999 included), and 4001 (another connection took the
   * session over).
   */
  willReconnect: boolean;
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
  close: ClientCloseEvent;
  error: ClientErrorEvent;
}
