/**
 * One logical session over a series of WebSocket connections: reconnect with full-jitter
 * backoff, resume with the last processed seq, drop replayed duplicates by seq, batch
 * cumulative acks, and resend unanswered client messages (same id) until the server answers.
 * Close 4001 (another connection resumed the session, e.g. a second tab) stops the client
 * instead of reconnecting: two instances would otherwise take the session from each other.
 */
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  encodeFrame,
  isRetryableClose,
  type HelloFrame,
  type ServerFrame,
  type ServerMsgFrame,
  type WelcomeFrame,
} from '../src/protocol/index.js';
import { AckBatcher } from './ack-batcher.js';
import { Backoff } from '../src/resilience/backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import type { ClientEvents, ClientSession, ClientState, ClientStats } from './events.js';
import { Connection } from './connection.js';
import { InboundStream } from './inbound-stream.js';
import {
  resolveOptions,
  type ClientOptions,
  type ResolvedOptions,
  type TokenProvider,
} from './options.js';
import { OutboundQueue } from './outbound-queue.js';
import { resolveWebSocket, type WebSocketCtor, type WebSocketLike } from './socket.js';

const SESSION_ENDED: string = ErrorCode.SessionEnded;
const DISCONNECTED: string = ErrorCode.Disconnected;

/** How long `close()` waits for the server's close after `bye` before closing by itself. */
const BYE_TIMEOUT_MS = 5_000;

/**
 * A connection must stay open this long after `welcome` (or one heartbeat interval, if that
 * is shorter) before the reconnect backoff starts again from its base delay, so a server
 * that welcomes and then closes at once is not hammered.
 */
const STABLE_AFTER_MS = 5_000;

interface Utf8Encoder {
  encode(text: string): { length: number };
}
let encoder: Utf8Encoder | undefined;

/** The UTF-8 length of `text` (TextEncoder: browsers and Node have it as a global). */
function utf8Bytes(text: string): number {
  encoder ??= new (globalThis as unknown as { TextEncoder: new () => Utf8Encoder }).TextEncoder();
  return encoder.encode(text).length;
}

type Conn =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'token'; timer: unknown }
  | { kind: 'waiting'; timer: unknown }
  | { kind: 'connecting'; c: Connection }
  | { kind: 'open'; c: Connection }
  | { kind: 'closed' };

interface Closing {
  promise: Promise<void>;
  resolve: () => void;
  byeSent: boolean;
  timer: unknown;
}

export class ResilientClient {
  private readonly opts: ResolvedOptions;
  private readonly events = new Emitter<ClientEvents>((e, name) => this.listenerError(e, name));
  private readonly queue: OutboundQueue;
  private readonly backoff: Backoff;
  private readonly inbound: InboundStream;
  private readonly counters: ClientStats = {
    reconnects: 0,
    duplicatesDropped: 0,
    messages: 0,
    acksSent: 0,
  };
  private conn: Conn = { kind: 'idle' };
  private closing: Closing | undefined;
  private sid: string | undefined;
  private key: string | undefined;
  private dropped = false;
  private idCounter = 0;
  /** Reconnect attempts since the last `welcome`. */
  private attempt = 0;
  /** What the server said before closing (`error` frame `session_ended` or `disconnected`). */
  private serverReason: string | undefined;
  /** @param url the server's WebSocket endpoint, e.g. `ws://127.0.0.1:8080/ws`. */
  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    const o = (this.opts = resolveOptions(options));
    this.queue = new OutboundQueue({
      max: o.maxQueue,
      clock: o.clock,
      backoff: o.backoff,
      random: o.random,
      transmit: (frame, sent) => {
        if (this.conn.kind === 'open') this.conn.c.write(frame, sent);
      },
    });
    this.backoff = new Backoff(o.backoff, o.random, o.clock);
    const acks = new AckBatcher(o.clock, o.ackDelayMs, (seq) => {
      if (this.conn.kind !== 'open') return;
      this.counters.acksSent++;
      this.conn.c.writeNow(encodeFrame({ t: 'ack', seq }));
    });
    this.inbound = new InboundStream(o.resume?.ack ?? 0, acks);
    if (o.resume !== undefined) {
      this.sid = o.resume.sid;
      this.key = o.resume.key;
    }
  }

  get state(): ClientState {
    const kind = this.conn.kind;
    if (kind === 'idle' || kind === 'open' || kind === 'closed') return kind;
    return this.dropped ? 'reconnecting' : 'connecting';
  }

  /**
   * The session to persist for a resume after a restart. Undefined before the first welcome,
   * and once the server has ended the session (`close()` with `bye`, an unsolicited close
   * 1000) or refused its key (4502). Kept after 4001: the instance that took the session
   * over owns it now.
   */
  get session(): ClientSession | undefined {
    if (this.sid === undefined || this.key === undefined) return undefined;
    return { sid: this.sid, key: this.key, ack: this.inbound.last };
  }

  /** Highest seq processed (0 if none). */
  get lastSeq(): number {
    return this.inbound.last;
  }

  get stats(): ClientStats {
    return { ...this.counters };
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): () => void {
    return this.events.on(event, fn);
  }

  once<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): () => void {
    return this.events.once(event, fn);
  }

  off<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): void {
    this.events.off(event, fn);
  }

  /** Starts connecting. Idempotent; does nothing once closed. */
  connect(): void {
    if (this.conn.kind === 'idle') this.openSocket();
  }

  /**
   * Sends a client message; resolves with the server's `ok.data` (also for a `dup` ok).
   * Queued while disconnected and resent with the same id after every reconnect until
   * answered; a retryable `nack` is retried after a backoff delay. Rejects with a
   * `ClientError`: the `nack` code, `queue_full`, `bad_data`, `message_too_large` (its frame
   * is over `maxMessageBytes`; nothing is sent), `session_lost` (it reached the socket, then
   * the session was lost: it may or may not have been handled), `closed` or `closed_<code>`.
   */
  send(data: unknown): Promise<unknown> {
    if (this.closing !== undefined || this.conn.kind === 'closed')
      return Promise.reject(new ClientError(ClientErrorCode.Closed, 'the client is closed'));
    const id = `${this.opts.idPrefix}${++this.idCounter}`;
    let frame: string;
    try {
      if (data === undefined || typeof data === 'function' || typeof data === 'symbol')
        throw new TypeError(`${typeof data} has no JSON form`);
      frame = encodeFrame({ t: 'msg', id, data });
    } catch (cause) {
      const message = `send data must be JSON-serializable: ${describe(cause)}`;
      return Promise.reject(new ClientError(ClientErrorCode.BadData, message, { cause }));
    }
    const max = this.opts.maxMessageBytes;
    // A UTF-16 unit is at most 3 bytes of UTF-8: short frames need no encoding to check.
    const bytes = frame.length * 3 <= max ? 0 : utf8Bytes(frame);
    if (bytes > max) {
      const message = `message ${id} is ${bytes} bytes of UTF-8, more than options.maxMessageBytes (${max})`;
      const details = { id, bytes, max };
      return Promise.reject(new ClientError(ClientErrorCode.MessageTooLarge, message, { details }));
    }
    return this.queue.add(id, frame);
  }

  /**
   * Stops for good; unanswered sends reject with `closed`. When open (welcomed), it ends the
   * session: sends `bye` and waits for the server's close (at most 5 s); `session` is then
   * undefined. In any other state (idle, connecting or waiting for `welcome`, waiting to
   * reconnect) it stops at once: no `bye`, a socket being opened is closed, the server-side
   * session expires by itself, and `session` (if any) stays valid for a later resume.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing.promise;
    if (this.conn.kind === 'closed') return Promise.resolve();
    let resolve = (): void => {};
    const promise = new Promise<void>((r) => (resolve = r));
    const closing = (this.closing = { promise, resolve, byeSent: false, timer: undefined });
    if (this.conn.kind === 'open') this.sendBye(this.conn.c, closing);
    else this.finish(CloseCode.Normal, 'closed by the client', ClientErrorCode.Closed);
    return promise;
  }

  private openSocket(): void {
    const Ctor = this.opts.WebSocket;
    if (Ctor === undefined) {
      this.conn = { kind: 'loading' };
      resolveWebSocket({ headers: this.opts.headers !== undefined }).then(
        (ctor) => {
          this.opts.WebSocket = ctor;
          if (this.conn.kind === 'loading') this.openSocket();
        },
        (error: unknown) => this.fail(ClientErrorCode.NoWebSocket, error),
      );
      return;
    }
    const token = this.opts.token;
    if (typeof token === 'function') this.fetchToken(token, Ctor);
    else this.dial(Ctor, token);
  }

  /**
   * Asks `options.token` for this attempt's token, then dials. Its failure (a throw, a
   * rejection, a value that is not a string or undefined, no answer within
   * `heartbeatTimeoutMs`) is a failed attempt: `error` (token_failed), then reconnect.
   */
  private fetchToken(provider: TokenProvider, Ctor: WebSocketCtor): void {
    const pending: Conn = { kind: 'token', timer: undefined };
    this.conn = pending;
    const fail = (error: unknown): void => {
      if (this.conn !== pending) return;
      this.opts.clock.clearTimeout(pending.timer);
      this.tokenFailed(pending, error);
    };
    const use = (value: unknown): void => {
      if (this.conn !== pending) return;
      this.opts.clock.clearTimeout(pending.timer);
      if (value !== undefined && typeof value !== 'string') {
        const what = value === null ? 'null' : typeof value;
        fail(new TypeError(`options.token() must return a string or undefined, got ${what}`));
        return;
      }
      this.dial(Ctor, value);
    };
    let result: ReturnType<TokenProvider>;
    try {
      result = provider();
    } catch (error) {
      this.tokenFailed(pending, error);
      return;
    }
    if (!isThenable(result)) {
      use(result);
      return;
    }
    const ms = this.opts.heartbeatTimeoutMs;
    pending.timer = this.opts.clock.setTimeout(
      () => fail(new Error(`options.token() did not settle within ${ms} ms`)),
      ms,
    );
    result.then(use, fail);
  }

  private tokenFailed(pending: Conn, error: unknown): void {
    const message = `options.token() failed: ${describe(error)}`;
    this.events.emit('error', { code: ClientErrorCode.TokenFailed, message, cause: error });
    // An `error` listener may have closed the client.
    if (this.conn === pending) this.lost(CloseCode.Abnormal, message);
  }

  private dial(Ctor: WebSocketCtor, token: string | undefined): void {
    let sock: WebSocketLike;
    try {
      const headers = this.opts.headers;
      sock =
        headers === undefined
          ? new Ctor(this.url, this.opts.protocols)
          : new Ctor(this.url, this.opts.protocols, { headers });
    } catch (error) {
      this.fail(ClientErrorCode.ConnectFailed, error);
      return;
    }
    const limits = {
      heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
      maxMessageBytes: this.opts.maxMessageBytes,
    };
    const c: Connection = new Connection(sock, this.opts.clock, limits, {
      hello: () => this.hello(token),
      frame: (f) => this.onFrame(c, f),
      error: (code, message, cause) =>
        this.events.emit(
          'error',
          cause === undefined ? { code, message } : { code, message, cause },
        ),
      lost: (code, reason) => this.lost(code, reason),
    });
    this.conn = { kind: 'connecting', c };
  }

  private hello(token: string | undefined): HelloFrame {
    const hello: HelloFrame = { t: 'hello', v: PROTOCOL_VERSION };
    if (token !== undefined) hello.token = token;
    if (this.sid !== undefined && this.key !== undefined)
      hello.resume = { sid: this.sid, key: this.key, ack: this.inbound.last };
    return hello;
  }

  private onFrame(c: Connection, f: ServerFrame): void {
    const open = this.conn.kind === 'open';
    if (f.t === 'error' && (f.code === SESSION_ENDED || f.code === DISCONNECTED))
      // Not a failure: the reason of the close that follows (sessionEnded, reconnecting).
      this.serverReason = f.message;
    else if (f.t === 'error') this.events.emit('error', { code: f.code, message: f.message });
    else if (f.t === 'welcome' && !open) this.onWelcome(c, f);
    else if (f.t === 'msg' && open) this.onServerMsg(f);
    else if (f.t === 'ok' && open) this.queue.ok(f.id, f.data);
    else if (f.t === 'nack' && open)
      this.queue.nack(f.id, f.code, f.message, f.retryable, f.retryAfterMs);
    else {
      const message = `unexpected "${f.t}" frame ${open ? 'after' : 'before'} welcome`;
      this.events.emit('error', { code: ClientErrorCode.UnexpectedFrame, message });
    }
  }

  private onWelcome(c: Connection, w: WelcomeFrame): void {
    const outcome = this.inbound.welcome(w, this.sid !== undefined);
    this.sid = w.sid;
    this.key = w.key;
    this.conn = { kind: 'open', c };
    this.attempt = 0;
    this.serverReason = undefined;
    const hb = c.welcomed(w.hb);
    this.backoff.resetAfter(Math.min(hb, STABLE_AFTER_MS));
    const reason = outcome.resumed?.reason;
    const lost = reason === 'unknown_session' || reason === 'epoch_changed';
    const stop = lost && this.opts.onSessionLost === 'stop';
    if (lost) {
      // Effectively-once needs the old session's dedup window, which is gone: never resend
      // a message the old session may have handled. With 'stop', send nothing at all.
      const error = (id: string): Error =>
        new ClientError(
          ClientErrorCode.SessionLost,
          `the session was lost (${reason}) before message ${id} was answered; it may or may not have been handled`,
          { details: { id, reason } },
        );
      if (stop) this.queue.rejectAll(error);
      else this.queue.rejectTransmitted(error);
    }
    if (stop) {
      // The new session is never used: end it (bye) and stop; `close` follows. Before the
      // events below, so that a send from one of their listeners rejects (`closed`) instead
      // of going out in the new session ahead of the bye.
      void this.close();
    } else this.queue.resendAll();
    if (outcome.resumed !== undefined) this.events.emit('resumed', outcome.resumed);
    if (outcome.gap !== undefined) this.events.emit('gap', outcome.gap);
    if (lost) this.events.emit('sessionLost', { reason });
    if (stop) return;
    // A listener above may have closed the client.
    if (this.conn.kind === 'open' && this.conn.c === c && this.closing === undefined)
      this.events.emit('open', { sid: w.sid, resumed: w.resumed });
  }

  private onServerMsg(f: ServerMsgFrame): void {
    if (f.seq !== undefined) {
      const verdict = this.inbound.accept(f.seq, f.prev);
      if (verdict === 'dup') {
        this.counters.duplicatesDropped++;
        return;
      }
      if (verdict !== undefined) this.events.emit('gap', verdict);
    }
    this.counters.messages++;
    const ev: ClientEvents['message'] = { data: f.data, seq: f.seq };
    if (f.id !== undefined) ev.id = f.id;
    if (f.key !== undefined) ev.key = f.key;
    this.events.emit('message', ev);
  }

  /**
   * The connection is gone (closed, failed or silent): reconnect, or stop on a terminal code.
   * 4001 is terminal here although the protocol calls it retryable: another connection
   * resumed this session (another client instance, e.g. a second tab restoring a persisted
   * session), and taking it back would start a takeover storm. The session is kept (it is
   * the other instance's now). 1000 without `bye` (the server ended the session) and 4502
   * (the key was refused) make the session useless: it is forgotten. Every other code goes by
   * `isRetryableClose`, the codes reserved for applications included (4400–4499 reconnect,
   * 4900–4999 stop), so the SDK and the protocol's ranges cannot disagree.
   */
  private lost(code: number, reason: string): void {
    if (this.closing !== undefined) return this.finish(code, reason, ClientErrorCode.Closed);
    const said = this.serverReason;
    this.serverReason = undefined;
    if (code === CloseCode.Normal || code === CloseCode.BadKey) this.sid = this.key = undefined;
    if (code === CloseCode.Normal) {
      // The server ended the session (bye was not sent by this client).
      this.release();
      this.events.emit('sessionEnded', { reason: said ?? reason, code });
      return this.finish(code, reason, `closed_${code}`);
    }
    if (code === CloseCode.Replaced || !isRetryableClose(code))
      return this.finish(code, reason, `closed_${code}`);
    this.release();
    this.dropped = true;
    const delayMs = this.backoff.next();
    const timer = this.opts.clock.setTimeout(() => {
      if (this.conn.kind !== 'waiting') return;
      this.counters.reconnects++;
      this.openSocket();
    }, delayMs);
    this.conn = { kind: 'waiting', timer };
    const attempt = ++this.attempt;
    this.events.emit('reconnecting', {
      attempt,
      delayMs,
      lastCloseCode: code,
      reason: said ?? reason,
    });
  }

  /** Stops for good. */
  private finish(code: number, reason: string, errorCode: string): void {
    if (this.conn.kind === 'closed') return;
    this.release();
    this.conn = { kind: 'closed' };
    const closing = this.closing;
    if (closing !== undefined) this.opts.clock.clearTimeout(closing.timer);
    // The server forgets the session on `bye`: there is nothing left to resume.
    if (closing?.byeSent === true) this.sid = this.key = undefined;
    const why = `the client stopped (close ${code}${reason === '' ? '' : `: ${reason}`})`;
    this.queue.rejectAll((id) => new ClientError(errorCode, why, { details: { id, code } }));
    closing?.resolve();
    this.events.emit('close', { code, reason, willReconnect: false });
  }

  private fail(errorCode: string, error: unknown): void {
    this.events.emit('error', { code: errorCode, message: describe(error), cause: error });
    this.finish(CloseCode.Abnormal, describe(error), errorCode);
  }

  /** Forgets the current connection (or pending reconnect) and everything tied to it. */
  private release(): void {
    const conn = this.conn;
    this.inbound.detach();
    this.backoff.cancelReset();
    if (conn.kind === 'waiting' || conn.kind === 'token') this.opts.clock.clearTimeout(conn.timer);
    if (conn.kind === 'connecting' || conn.kind === 'open') conn.c.release();
  }

  private sendBye(c: Connection, closing: Closing): void {
    c.bye();
    closing.byeSent = true;
    closing.timer = this.opts.clock.setTimeout(() => {
      this.finish(CloseCode.Normal, 'no close from the server after bye', ClientErrorCode.Closed);
    }, BYE_TIMEOUT_MS);
  }

  private listenerError(error: unknown, event: keyof ClientEvents): void {
    // A throwing `error` listener would recurse; its exception has nowhere left to go.
    if (event === 'error') return;
    const message = `a "${event}" listener threw: ${describe(error)}`;
    this.events.emit('error', { code: ClientErrorCode.ListenerError, message, cause: error });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
