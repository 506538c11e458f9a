/**
 * The port through which the core touches a socket. `src/transport` adapts `ws` to it; unit
 * tests use a fake. Nothing else in the core sees a socket.
 */
export interface Transport {
  /**
   * Queue one WebSocket text message. Never throws; a closed transport ignores it. `watch`:
   * the connection is congested, so this write must report its completion (`onDrain`).
   */
  send(text: string, watch?: boolean): void;
  /** Close with a code and reason (reason ≤ 123 bytes). Idempotent. */
  close(code: number, reason: string): void;
  /** Drop the connection at once, without a close handshake (shutdown of stragglers). */
  terminate(): void;
  /** Bytes queued but not yet handed to the network. */
  readonly bufferedAmount: number;
}

/** What the transport calls into; set once by whoever accepts the connection. */
export interface TransportHandlers {
  onMessage(text: string): void;
  onClose(code: number, reason: string): void;
  /** A write completed; the connection resumes writing if it had stopped for backpressure. */
  onDrain(): void;
}
