/**
 * A scriptable WebSocket for unit tests: records what the client sends and lets the test
 * play the server (accept, send frames, close, fail). Events are dispatched synchronously.
 */
import type { WebSocketLike } from '../socket.js';

type Handler = (event: Record<string, unknown>) => void;

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  bufferedAmount = 0;
  /** Every WebSocket message the client sent, as sent. */
  readonly sent: string[] = [];
  /** Set by the client's `close(code?, reason?)`. */
  closedWith: { code?: number | undefined; reason?: string | undefined } | undefined;
  terminated = false;
  onopen: Handler | null = null;
  onmessage: Handler | null = null;
  onclose: Handler | null = null;
  onerror: Handler | null = null;
  private readonly listeners = new Map<string, Handler[]>();

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  addEventListener(type: string, listener: Handler): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    if (this.readyState < 2) this.readyState = 2;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  // --- the test plays the server ---

  accept(): void {
    this.readyState = 1;
    this.fire('open', {});
  }

  /** Delivers one WebSocket message holding these frames, joined by '\n'. */
  receive(...frames: (Record<string, unknown> | string)[]): void {
    const text = frames.map((f) => (typeof f === 'string' ? f : JSON.stringify(f))).join('\n');
    this.fire('message', { data: text });
  }

  receiveRaw(data: unknown): void {
    this.fire('message', { data });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.fire('close', { code, reason, wasClean: true });
  }

  /** A network failure: `error`, then `close` 1006, like browsers and `ws`. */
  fail(message = 'connection reset'): void {
    this.readyState = 3;
    this.fire('error', { message });
    this.fire('close', { code: 1006, reason: '', wasClean: false });
  }

  /** Every frame the client sent, parsed, in order (batched messages split on '\n'). */
  frames(): Record<string, unknown>[] {
    return this.sent
      .flatMap((m) => m.split('\n'))
      .map((f) => JSON.parse(f) as Record<string, unknown>);
  }

  framesOf(t: string): Record<string, unknown>[] {
    return this.frames().filter((f) => f.t === t);
  }

  private fire(type: string, event: Record<string, unknown>): void {
    for (const fn of this.listeners.get(type) ?? []) fn({ type, ...event });
    const prop = this[`on${type}` as 'onopen'];
    if (prop !== null) prop({ type, ...event });
  }
}

export interface FakeServer {
  /** Pass as `options.WebSocket`. */
  WebSocket: new (url: string, protocols?: string | string[]) => FakeWebSocket;
  /** Every socket the client opened, oldest first. */
  sockets: FakeWebSocket[];
  /** The socket opened last. */
  last(): FakeWebSocket;
}

/**
 * A fresh WebSocket class per test, so sockets never leak between tests. With
 * `eventTarget: false` the sockets have no addEventListener (only onopen/onmessage/...).
 */
export function fakeServer(options: { eventTarget?: boolean } = {}): FakeServer {
  const sockets: FakeWebSocket[] = [];
  class Socket extends FakeWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      if (options.eventTarget === false)
        (this as { addEventListener?: unknown }).addEventListener = undefined;
      sockets.push(this);
    }
  }
  return {
    WebSocket: Socket,
    sockets,
    last() {
      const s = sockets.at(-1);
      if (s === undefined) throw new Error('no socket was opened');
      return s;
    },
  };
}
