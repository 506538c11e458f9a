/** Client options: the one place that holds their defaults and validates them. */
import { MAX_ID_LENGTH, SUBPROTOCOL } from '../src/protocol/index.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../src/resilience/backoff.js';
import { systemClock, type ClientClock } from './clock.js';
import { ClientError, ClientErrorCode } from './errors.js';
import type { ClientSession } from './events.js';
import type { WebSocketCtor } from './socket.js';

export interface ClientOptions {
  /**
   * WebSocket constructor with the browser API. Default: `globalThis.WebSocket`, else the `ws`
   * package (loaded with a dynamic import on Node 20, which has no global WebSocket).
   */
  WebSocket?: WebSocketCtor | undefined;
  /**
   * Sent as `hello.token` on every connection: a string, or a function (possibly async) that
   * returns the token, called again before every connect and reconnect so that an expiring
   * token (a JWT) is fresh each time. Returning `undefined` sends no token. A function that
   * throws, rejects, returns something else or has not settled within `heartbeatTimeoutMs`
   * counts as a failed connection attempt: an `error` event with code `token_failed`, a
   * `reconnecting` event (`lastCloseCode` 1006) and another attempt after the backoff delay.
   * Default: none.
   */
  token?: string | TokenProvider | undefined;
  /**
   * HTTP headers of the WebSocket upgrade request, e.g. `{ Authorization: 'Bearer …' }`.
   * Node only: browsers cannot set them. Without `options.WebSocket` the `ws` package is
   * used (Node's global WebSocket would drop them); a `WebSocket` passed in gets them as its
   * third constructor argument, `{ headers }`, as `ws` takes them. A token that expires
   * belongs in `token` (a function) instead. Default: none.
   */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Subprotocols offered in the handshake. Default `['rws.v1']`. */
  protocols?: string[] | undefined;
  /**
   * Reconnect and retry backoff (full jitter). Default `{ baseMs: 500, capMs: 20000 }`. The
   * reconnect delays start again from `baseMs` only once a connection has stayed open for
   * min(`welcome.hb`, 5 s) after its `welcome`.
   */
  backoff?: Partial<BackoffOptions> | undefined;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: (() => number) | undefined;
  /**
   * Ack batching, in ms: one cumulative `ack` at most this often, and at once when 64 messages
   * are unacked. Default 25.
   */
  ackDelayMs?: number | undefined;
  /**
   * Watchdog slack, in ms: with nothing received for `welcome.hb` + this, the connection is
   * dropped and resumed (the client pings after `welcome.hb` of its own silence; with
   * `hb: 0` it uses 25 000 ms). It also bounds the time from opening a socket to `welcome`.
   * Default 10 000.
   */
  heartbeatTimeoutMs?: number | undefined;
  /** A session persisted from `client.session`, resumed on the first connection. */
  resume?: ClientSession | undefined;
  /** Unanswered client messages kept; over it `send` rejects with `queue_full`. Default 1000. */
  maxQueue?: number | undefined;
  /**
   * The largest WebSocket message the server accepts, in bytes of UTF-8: its `maxFrame`
   * (default 1 MiB), or less. A `send` whose `msg` frame is larger rejects at once with
   * `message_too_large` (the server would close the connection with 1009), and batches of
   * frames stay within it. Default 1 048 576.
   */
  maxMessageBytes?: number | undefined;
  /** Time source and timers. Default: `Date.now` and the global `setTimeout`. */
  clock?: ClientClock | undefined;
  /**
   * Prefix of client message ids (id = prefix + counter). Must differ between client
   * instances that share a session, or the server's dedup would swallow messages.
   * Default: 12 random hex digits and `-`.
   */
  idPrefix?: string | undefined;
  /**
   * What to do when a resume finds the session gone (`welcome` reason `unknown_session` or
   * `epoch_changed`: the server restarted empty, the session expired or was ended). Sends that
   * may have reached the old session reject with `session_lost` either way.
   * - `'resend'` (default): go on in the new session; sends that never reached the socket
   *   are sent in it.
   * - `'stop'`: nothing is sent in the new session: every unanswered send rejects with
   *   `session_lost`, the new session is ended (`bye`) and the client stops (`sessionLost`,
   *   then `close`). For applications that must rebuild their state first (a protocol with
   *   a handshake): create a new client when ready.
   */
  onSessionLost?: 'resend' | 'stop' | undefined;
}

/** Answers the token for the next connection (`options.token` as a function). */
export type TokenProvider = () => string | undefined | PromiseLike<string | undefined>;

export interface ResolvedOptions {
  WebSocket: WebSocketCtor | undefined;
  token: string | TokenProvider | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  protocols: string[];
  backoff: BackoffOptions;
  random: () => number;
  ackDelayMs: number;
  heartbeatTimeoutMs: number;
  resume: ClientSession | undefined;
  maxQueue: number;
  maxMessageBytes: number;
  clock: ClientClock;
  idPrefix: string;
  onSessionLost: 'resend' | 'stop';
}

/** The server's default `maxFrame` (1 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/** Room left in an id for the counter (up to 2^53 is 16 digits). */
const MAX_PREFIX_LENGTH = MAX_ID_LENGTH - 16;

function invalid(key: string, value: unknown, expected: string): ClientError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new ClientError(
    ClientErrorCode.InvalidOption,
    `options.${key} must be ${expected}, got ${shown}`,
    { details: { key, value } },
  );
}

function num(key: string, value: unknown, fallback: number, min: number, integer = false): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    (!integer || Number.isInteger(value));
  if (!ok) throw invalid(key, value, `${integer ? 'an integer' : 'a number'} >= ${min}`);
  return value;
}

function randomPrefix(): string {
  const bytes = new Uint8Array(6);
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } })
    .crypto;
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return `${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}-`;
}

function resolveResume(value: ClientSession | undefined): ClientSession | undefined {
  if (value === undefined) return undefined;
  const { sid, key, ack } = value as Partial<ClientSession>;
  if (typeof sid !== 'string' || sid === '') throw invalid('resume.sid', sid, 'a non-empty string');
  if (typeof key !== 'string' || key === '') throw invalid('resume.key', key, 'a non-empty string');
  return { sid, key, ack: num('resume.ack', ack, 0, 0, true) };
}

export function resolveOptions(o: ClientOptions): ResolvedOptions {
  if (o.WebSocket !== undefined && typeof o.WebSocket !== 'function')
    throw invalid('WebSocket', o.WebSocket, 'a WebSocket constructor');
  if (o.token !== undefined && typeof o.token !== 'string' && typeof o.token !== 'function')
    throw invalid('token', o.token, 'a string or a function returning one');
  if (
    o.headers !== undefined &&
    (typeof o.headers !== 'object' ||
      o.headers === null ||
      !Object.values(o.headers).every((v) => typeof v === 'string'))
  )
    throw invalid('headers', o.headers, 'an object of header names to string values');
  if (o.protocols !== undefined && !o.protocols.every((p) => typeof p === 'string'))
    throw invalid('protocols', o.protocols, 'an array of strings');
  if (o.random !== undefined && typeof o.random !== 'function')
    throw invalid('random', o.random, 'a function returning a number in [0, 1)');
  const baseMs = num('backoff.baseMs', o.backoff?.baseMs, DEFAULT_BACKOFF.baseMs, 1);
  const capMs = num('backoff.capMs', o.backoff?.capMs, Math.max(baseMs, DEFAULT_BACKOFF.capMs), 1);
  if (capMs < baseMs) throw invalid('backoff.capMs', capMs, `>= backoff.baseMs (${baseMs})`);
  const onSessionLost = o.onSessionLost ?? 'resend';
  if (onSessionLost !== 'resend' && onSessionLost !== 'stop')
    throw invalid('onSessionLost', onSessionLost, `'resend' or 'stop'`);
  const idPrefix = o.idPrefix ?? randomPrefix();
  if (typeof idPrefix !== 'string' || idPrefix.length > MAX_PREFIX_LENGTH)
    throw invalid('idPrefix', idPrefix, `a string of at most ${MAX_PREFIX_LENGTH} characters`);
  return {
    WebSocket: o.WebSocket,
    token: o.token,
    headers: o.headers,
    protocols: o.protocols ?? [SUBPROTOCOL],
    backoff: { baseMs, capMs },
    random: o.random ?? Math.random,
    ackDelayMs: num('ackDelayMs', o.ackDelayMs, 25, 0),
    heartbeatTimeoutMs: num('heartbeatTimeoutMs', o.heartbeatTimeoutMs, 10_000, 1),
    resume: resolveResume(o.resume),
    maxQueue: num('maxQueue', o.maxQueue, 1000, 1, true),
    maxMessageBytes: num('maxMessageBytes', o.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1, true),
    clock: o.clock ?? systemClock,
    idPrefix,
    onSessionLost,
  };
}
