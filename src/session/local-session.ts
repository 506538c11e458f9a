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
  /** Highest seq written to this connection (replay starts after the client's ack). */
  sentSeq: number;
  /** A pump (store read → socket) is running; deliveries meanwhile set `needsPump`. */
  pumping: boolean;
  needsPump: boolean;
}
