/** A session attached to a connection on this node. Detached sessions live only in the store. */
import type { Connection } from './connection.js';

export interface LocalSession {
  readonly sid: string;
  readonly conn: Connection;
  /** Highest seq written to this connection (replay starts after the client's ack). */
  sentSeq: number;
  /** A pump (store read → socket) is running; deliveries meanwhile set `needsPump`. */
  pumping: boolean;
  needsPump: boolean;
}
