/**
 * The transport callbacks of one connection, as prototype methods on a two-field object: an
 * object of three closures cost ~250 bytes per connection more (BENCHMARKS.md "memory per
 * connection" counts every idle connection's heap).
 */
import type { Connection } from './connection.js';
import type { TransportHandlers } from './transport-port.js';

/** What the handlers call into: the hub, through callbacks shared by every connection. */
export interface ConnectionOwner {
  message(conn: Connection, text: string): void;
  closed(conn: Connection, code: number, reason: string): void;
}

export class ConnectionHandlers implements TransportHandlers {
  constructor(
    private readonly owner: ConnectionOwner,
    private readonly conn: Connection,
  ) {}

  onMessage(text: string): void {
    this.owner.message(this.conn, text);
  }

  onClose(code: number, reason: string): void {
    this.owner.closed(this.conn, code, reason);
  }

  onDrain(): void {
    this.conn.drained();
  }
}
