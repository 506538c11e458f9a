/**
 * The slice of the browser WebSocket API the SDK uses, and how it finds an implementation:
 * the global WebSocket (browsers, Node >= 22), else the `ws` package (Node 20 has no global).
 */
export const SocketState = { Connecting: 0, Open: 1, Closing: 2, Closed: 3 } as const;

export type SocketEventType = 'open' | 'message' | 'close' | 'error';

/**
 * What the SDK needs from a socket. The browser WebSocket and `ws` both fit: events are typed
 * `unknown` / `never` so that implementations with richer event types are accepted, and the
 * SDK reads event fields defensively.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the connection now instead of waiting up to 30 s for a close handshake. */
  terminate?(): void;
  addEventListener?(type: SocketEventType, listener: (event: unknown) => void): void;
  onopen?: ((event: never) => unknown) | null;
  onmessage?: ((event: never) => unknown) | null;
  onclose?: ((event: never) => unknown) | null;
  onerror?: ((event: never) => unknown) | null;
}

/**
 * A constructor with the browser WebSocket signature. The SDK passes a third argument,
 * `{ headers }`, only when `options.headers` is set (the `ws` package takes it).
 */
export type WebSocketCtor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers: Readonly<Record<string, string>> },
) => WebSocketLike;

export interface SocketHandlers {
  open(): void;
  message(data: unknown): void;
  close(code: number, reason: string): void;
  error(message: string): void;
}

/**
 * Subscribe to a socket's four events. Listeners are never removed: `ws` throws an unhandled
 * 'error' when a dead socket has no error listener, so stale sockets are ignored by identity
 * in the client instead.
 */
export function attachSocket(sock: WebSocketLike, h: SocketHandlers): void {
  const onOpen = (): void => h.open();
  const onMessage = (ev: unknown): void => h.message(field(ev, 'data'));
  const onClose = (ev: unknown): void => {
    const code = field(ev, 'code');
    const reason = field(ev, 'reason');
    h.close(typeof code === 'number' ? code : 1006, typeof reason === 'string' ? reason : '');
  };
  const onError = (ev: unknown): void => {
    const message = field(ev, 'message');
    const error = field(ev, 'error');
    if (typeof message === 'string' && message !== '') h.error(message);
    else h.error(error instanceof Error ? error.message : 'socket error');
  };
  if (typeof sock.addEventListener === 'function') {
    sock.addEventListener('open', onOpen);
    sock.addEventListener('message', onMessage);
    sock.addEventListener('close', onClose);
    sock.addEventListener('error', onError);
  } else {
    sock.onopen = onOpen;
    sock.onmessage = onMessage;
    sock.onclose = onClose;
    sock.onerror = onError;
  }
}

function field(event: unknown, name: string): unknown {
  return typeof event === 'object' && event !== null
    ? (event as Record<string, unknown>)[name]
    : undefined;
}

/**
 * The global WebSocket if there is one, else `ws`, loaded lazily so browsers never fetch it.
 * With `headers` (they need `ws`: a browser cannot send them and Node's global WebSocket
 * ignores them) always `ws`.
 */
export async function resolveWebSocket(
  options: { headers?: boolean } = {},
): Promise<WebSocketCtor> {
  const global = (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
  if (typeof global === 'function' && options.headers !== true) return global;
  try {
    const mod = await import('ws');
    return mod.default;
  } catch (error) {
    if (options.headers !== true) throw error;
    throw new Error(
      'options.headers needs the ws package (Node); browsers cannot set WebSocket headers',
      { cause: error },
    );
  }
}
