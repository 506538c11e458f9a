/** Adapts a `ws` WebSocket to the core's Transport port. */
import type { WebSocket } from 'ws';
import type { Transport, TransportHandlers } from '../session/transport-port.js';

export class WsTransport implements Transport {
  private handlers: TransportHandlers | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string | undefined,
  ) {}

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Connect the socket's events to the core. Call once. */
  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
    this.ws.on('message', (data, isBinary) => {
      // Protocol v1 is text only; a binary message is decoded as UTF-8 and validated like text.
      const text = isBinary || typeof data !== 'string' ? toText(data) : data;
      handlers.onMessage(text);
    });
    this.ws.on('close', (code, reason) => handlers.onClose(code, reason.toString()));
    // 'error' precedes 'close' (e.g. 1009 on an oversize message); close handles the rest.
    this.ws.on('error', () => undefined);
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
