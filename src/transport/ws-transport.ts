/**
 * Adapts a `ws` WebSocket to the core's Transport port.
 *
 * The server's sockets are `RwsSocket`s, which know their transport, so every listener is a
 * function shared by all connections rather than closures per connection: an idle
 * connection's heap is a benchmarked figure (BENCHMARKS.md "memory per connection").
 */
import { WebSocket } from 'ws';
import type { Transport, TransportHandlers } from '../session/transport-port.js';

/** What `WebSocketServer` creates for each upgrade (its `WebSocket` option). */
export class RwsSocket extends WebSocket {
  transport: WsTransport | undefined = undefined;
}

function ignore(): void {}

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  // Protocol v1 is text only; a binary message is decoded as UTF-8 and validated like text.
  const text = isBinary || typeof data !== 'string' ? toText(data) : data;
  (this as RwsSocket).transport?.handlers?.onMessage(text);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as RwsSocket).transport?.handlers?.onClose(code, reason.toString());
}

export class WsTransport implements Transport {
  handlers: TransportHandlers | undefined;

  constructor(private readonly ws: RwsSocket) {
    ws.transport = this;
    // Before anything else: a socket refused after this still reads until the peer's close,
    // and an 'error' without a listener (invalid UTF-8, oversize) would crash the process.
    // 'error' precedes 'close' (e.g. 1009 on an oversize message); close handles the rest.
    ws.on('error', ignore);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Connect the socket's events to the core. Call once. */
  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
    this.ws.on('message', onMessage);
    this.ws.on('close', onClose);
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text, this.afterWrite);
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

  private readonly afterWrite = (): void => {
    this.handlers?.onDrain();
  };
}

function toText(data: unknown): string {
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return (data as Buffer).toString('utf8');
}
