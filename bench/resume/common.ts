/**
 * Settings and helpers shared by the parts of the resume benchmark (bench/resume.bench.ts).
 */
import WebSocket from 'ws';
import { io as sioConnect, type Socket as SioClientSocket } from 'socket.io-client';
import type { WebSocketCtor } from '../../client/index.js';
import { QUICK } from '../lib/harness.js';
import { SIO_CLIENT } from '../lib/systems.js';

export { until } from './peers.js';

export const CUTS = QUICK ? 100 : 1000;
export const TRIALS = QUICK ? 20 : 100;
/** Concurrent outside-window trials (each lane: its own proxy, client and session). */
export const LANES = 10;
/** Messages per second streamed to the chaos client. */
export const RATE = 1000;
/** Each cut waits for 1..MAX_AFTER messages delivered after the reconnect, then a pause. */
export const MAX_AFTER = 10;
/**
 * The pause: 0–3 ms, so the cut lands before the SDK's batched ack (25 ms) went out and the
 * resume's ack trims the outbox; for 1 cut in LATE_EVERY, 26–40 ms, after a live ack did.
 */
export const LATE_EVERY = 5;
/** No delivery for this long after a cut counts as a stall. */
export const STALL_MS = 5000;
/** The product's default session TTL (docs/configuration.md): the resume window of the chaos run. */
export const DEFAULT_SESSION_TTL_MS = 300_000;
/** Reconnect backoff: SDK full jitter in [0, 10) ms; Socket.IO 5 ms ± 50 %, capped at 10 ms. */
export const RWS_BACKOFF = { baseMs: 10, capMs: 10 };
export const SIO_RECONNECT = { reconnectionDelay: 5, reconnectionDelayMax: 10 };
export const TIME_LIMIT_MS = QUICK ? 120_000 : 360_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));
export const now = (): number => performance.now();

export function pct(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function round(values: readonly number[]): number[] {
  return values.map((v) => Math.round(v * 100) / 100);
}

export function ms3(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const f = (v: number): string => v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${f(pct(values, 0.5))} / ${f(pct(values, 0.99))} / ${f(Math.max(...values))}`;
}

export function target(port: number): { host: string; port: number } {
  return { host: '127.0.0.1', port };
}

export interface WireWelcome {
  sid: string;
  resumed: boolean;
  recovered: boolean;
  reason?: string;
  missing?: number;
  last: number;
}

/**
 * The `ws` package as the SDK's WebSocket, reporting each new socket (a connection attempt)
 * and the raw `welcome` frame (so the checks read the wire, not only the SDK's events).
 */
export function trackedWebSocket(hooks: {
  attempt?: () => void;
  welcome?: (w: WireWelcome) => void;
}): WebSocketCtor {
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      hooks.attempt?.();
      const onWelcome = hooks.welcome;
      if (onWelcome !== undefined)
        this.once('message', (data: unknown) => {
          const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
          const first = text.split('\n', 1)[0]!;
          if (first.startsWith('{"t":"welcome"')) onWelcome(JSON.parse(first) as WireWelcome);
        });
    }
  }
  return Tracked;
}

export function sioClient(port: number): SioClientSocket {
  return sioConnect(`http://127.0.0.1:${port}`, { ...SIO_CLIENT, ...SIO_RECONNECT });
}
