/**
 * Adapts a `ws` WebSocket to the core's Transport port.
 *
 * The server's sockets are `RwsSocket`s, which know their transport, so every listener is a
 * function shared by all connections rather than closures per connection: an idle
 * connection's heap is a benchmarked figure (docs/performance.md, "memory per connection").
 */
import { WebSocket } from 'ws';
import type { Transport, TransportHandlers } from '../session/transport-port.js';

/** What `WebSocketServer` creates for each upgrade (its `WebSocket` option). */
export class RwsSocket extends WebSocket {
  transport: WsTransport | undefined = undefined;
  /** The client IP that holds an admission slot for this socket until it closes. */
  clientIp: string | undefined = undefined;
  /**
   * Gives the admission slot back (src/transport/admission.ts). Set on the prototype of each
   * endpoint's subclass, not per socket: a per-socket listener or closure costs heap on every
   * idle connection (docs/performance.md, "memory per connection").
   */
  declare releaseSlot: ((ip: string) => void) | undefined;
}

function ignore(): void {}

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  // Protocol v1 is text only; a binary message is decoded as UTF-8 and validated like text.
  const text = isBinary || typeof data !== 'string' ? toText(data) : data;
  (this as RwsSocket).transport?.handlers?.onMessage(text);
}

/** The socket's one 'close' listener: the admission slot back, then the core (once bound). */
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const ws = this as RwsSocket;
  if (ws.clientIp !== undefined) {
    ws.releaseSlot?.(ws.clientIp);
    ws.clientIp = undefined;
  }
  ws.transport?.handlers?.onClose(code, reason.toString());
}

export class WsTransport implements Transport {
  handlers: TransportHandlers | undefined;

  /**
   * @param watchFrom buffered bytes from which a write carries a completion callback: half
   *   the connection's high-water mark, where `Connection.drained()` lets a congested
   *   connection write again.
   */
  constructor(
    private readonly ws: RwsSocket,
    private readonly watchFrom: number,
  ) {
    ws.transport = this;
    // Before anything else: a socket refused after this still reads until the peer's close,
    // and an 'error' without a listener (invalid UTF-8, oversize) would crash the process.
    // 'error' precedes 'close' (e.g. 1009 on an oversize message); close handles the rest.
    ws.on('error', ignore);
    ws.on('close', onClose);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Connect the socket's events to the core. Call once. */
  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
    this.ws.on('message', onMessage);
  }

  /**
   * A write carries a completion callback if the connection is congested (`watch`) or if it
   * may leave the socket at or above `watchFrom` (3 bytes per UTF-16 unit at most), so a
   * congested connection hears when it drains: the last write before congestion is always
   * one of them, and so is every write while congestion lasts — the heartbeat's ping at the
   * latest, so bytes `ws` writes on its own (pongs) cannot leave it stuck. Other writes carry
   * none, and the callback is made on first need, so an idle connection holds no closure
   * (~100 bytes each; docs/performance.md, "memory per connection").
   */
  send(text: string, watch = false): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (watch || this.ws.bufferedAmount + 3 * text.length >= this.watchFrom)
      this.ws.send(text, (this.afterWrite ??= () => this.handlers?.onDrain()));
    else this.ws.send(text);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.CLOSED || this.ws.readyState === this.ws.CLOSING) return;
    this.ws.close(code, reason);
    // A peer that never answers the close handshake must not hold the socket forever.
    const timer = setTimeout(() => this.ws.terminate(), 5000);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  terminate(): void {
    this.ws.terminate();
  }

  private afterWrite: (() => void) | undefined = undefined;
}

function toText(data: unknown): string {
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return (data as Buffer).toString('utf8');
}
