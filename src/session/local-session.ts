/** A session attached to a connection on this node. Detached sessions live only in the store. */
import type { Connection } from './connection.js';
import type { SessionIdentity } from './identity.js';

export interface LocalSession {
  readonly sid: string;
  readonly conn: Connection;
  /** The stream's epoch when it attached: another epoch in the store means the stream was
   *  reset under this connection (docs/scaling.md), and the client must resume. */
  readonly epoch: string;
  /** Who this connection authenticated as (absent without an `authenticate` hook, or when
   *  it accepted without a user). */
  readonly identity: SessionIdentity | undefined;
  /**
   * Highest seq written to this connection; before the first, the client's resume ack (0 for
   * a new session): the `prev` of the next message written across a hole.
   */
  sentSeq: number;
  /**
   * Losses at or below this seq were counted in the welcome's `missing` (losses come off the
   * head of the outbox, so they are all below the first message retained at the resume): they
   * close nothing. A loss above it that was never written closes 4002.
   */
  readonly lossesTold: number;
  /** A pump (store read → socket) is running; deliveries meanwhile set `needsPump`. */
  pumping: boolean;
  needsPump: boolean;
}
