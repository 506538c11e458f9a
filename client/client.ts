/**
 * One logical session over a series of WebSocket connections: reconnect with full-jitter
 * backoff, resume with the last processed seq, drop replayed duplicates by seq, batch
 * cumulative acks, and resend unanswered client messages (same id) until the server answers.
 */
import {
  CloseCode,
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeFrame,
  isRetryableClose,
  type HelloFrame,
  type NackFrame,
  type ServerFrame,
  type ServerMsgFrame,
  type WelcomeFrame,
} from '../src/protocol/index.js';
import { AckBatcher } from './ack-batcher.js';
import { Backoff, fullJitter } from './backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, ClientErrorCode } from './errors.js';
import type { ClientEvents, ClientSession, ClientState, ClientStats } from './events.js';
import { Heartbeat } from './heartbeat.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { OutboundQueue, type Pending } from './outbound-queue.js';
import {
  SocketState,
  attachSocket,
  resolveWebSocket,
  type WebSocketCtor,
  type WebSocketLike,
} from './socket.js';

/**
 * Frames batched into one WebSocket message stay under this many UTF-16 units (at most
 * 192 KiB of UTF-8), well below the server's 1 MiB default: an oversize message is a
 * terminal 1009 close.
 */
const MAX_BATCH_CHARS = 64 * 1024;
/** How long `close()` waits for the server's close after `bye` before closing by itself. */
const BYE_TIMEOUT_MS = 5_000;

type Conn =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'waiting'; timer: unknown }
  | { kind: 'connecting'; sock: WebSocketLike }
  | { kind: 'open'; sock: WebSocketLike }
  | { kind: 'closed' };

interface Closing {
  promise: Promise<void>;
  resolve: () => void;
  byeSent: boolean;
  timer: unknown;
}

export class ResilientClient {
  private readonly opts: ResolvedOptions;
  private readonly events: Emitter<ClientEvents>;
  private readonly queue: OutboundQueue;
  private readonly backoff: Backoff;
  private readonly acks: AckBatcher;
  private readonly heartbeat: Heartbeat;
  private readonly counters: ClientStats = {
    reconnects: 0,
    duplicatesDropped: 0,
    messages: 0,
    acksSent: 0,
  };
  private ctor: WebSocketCtor | undefined;
  private conn: Conn = { kind: 'idle' };
  private closing: Closing | undefined;
  private sid: string | undefined;
  private key: string | undefined;
  private lastProcessed = 0;
  /** Seqs up to this one are a resume replay whose completeness `welcome` already reported. */
  private replayUntil = 0;
  private dropped = false;
  private idCounter = 0;
  // Frames written while handling one server message (or one tick of sends) go out together.
  private out: string[] = [];
  private outChars = 0;
  private dispatching = false;
  private flushScheduled = false;

  /** @param url the server's WebSocket endpoint, e.g. `ws://localhost:8080/ws`. */
  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    this.opts = resolveOptions(options);
    this.ctor = this.opts.WebSocket;
    const { clock } = this.opts;
    this.events = new Emitter<ClientEvents>((error, event) => this.onListenerError(error, event));
    this.queue = new OutboundQueue(this.opts.maxQueue);
    this.backoff = new Backoff(this.opts.backoff, this.opts.random);
    this.acks = new AckBatcher(clock, this.opts.ackDelayMs, (seq) => {
      this.counters.acksSent++;
      this.writeNow(encodeFrame({ t: 'ack', seq }));
    });
    this.heartbeat = new Heartbeat(clock, this.opts.heartbeatTimeoutMs, {
      dead: () => this.lost(CloseCode.HeartbeatTimeout, 'heartbeat timeout (client watchdog)'),
      ping: () => this.writeNow(encodeFrame({ t: 'ping' })),
    });
    const resume = this.opts.resume;
    if (resume !== undefined) {
      this.sid = resume.sid;
      this.key = resume.key;
      this.lastProcessed = resume.ack;
    }
  }

  get state(): ClientState {
    switch (this.conn.kind) {
      case 'idle':
      case 'open':
      case 'closed':
        return this.conn.kind;
      default:
        return this.dropped ? 'reconnecting' : 'connecting';
    }
  }

  /** The session to persist for a resume after a restart; undefined before the first welcome. */
  get session(): ClientSession | undefined {
    if (this.sid === undefined || this.key === undefined) return undefined;
    return { sid: this.sid, key: this.key, ack: this.lastProcessed };
  }

  /** Highest seq processed (0 if none). */
  get lastSeq(): number {
    return this.lastProcessed;
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
   * Sends a client message and resolves with the server's `ok.data` (also for a `dup` ok).
   * Queued while disconnected and resent with the same id after every reconnect until
   * answered; a retryable `nack` is retried after a backoff delay. Rejects with a
   * `ClientError`: the `nack` code, `queue_full`, `bad_data`, `closed` or `closed_<code>`.
   */
  send(data: unknown): Promise<unknown> {
    if (this.closing !== undefined || this.conn.kind === 'closed')
      return Promise.reject(new ClientError(ClientErrorCode.Closed, 'the client is closed'));
    if (data === undefined || typeof data === 'function' || typeof data === 'symbol')
      return Promise.reject(badData(new TypeError(`${typeof data} is not JSON`)));
    const id = `${this.opts.idPrefix}${++this.idCounter}`;
    let frame: string;
    try {
      frame = encodeFrame({ t: 'msg', id, data });
    } catch (error) {
      return Promise.reject(badData(error));
    }
    // add() rejects with queue_full when options.maxQueue messages are unanswered.
    const full = this.queue.full;
    const result = this.queue.add(id, frame);
    if (!full && this.conn.kind === 'open') this.write(frame);
    return result;
  }

  /**
   * Ends the session: sends `bye`, waits for the server's close (at most 5 s) and stops for
   * good; unanswered sends reject with `closed`. If no connection is up, it stops at once and
   * the server-side session is left to expire (and `session` stays valid for a resume).
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing.promise;
    if (this.conn.kind === 'closed') return Promise.resolve();
    let resolve: () => void = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.closing = { promise, resolve, byeSent: false, timer: undefined };
    if (this.conn.kind === 'open') this.sendBye(this.conn.sock, this.closing);
    // While connecting, `bye` goes out once `welcome` arrives (onWelcome).
    else if (this.conn.kind !== 'connecting')
      this.finish(CloseCode.Normal, 'closed by the client', ClientErrorCode.Closed);
    return promise;
  }

  private openSocket(): void {
    const Ctor = this.ctor;
    if (Ctor === undefined) {
      this.conn = { kind: 'loading' };
      resolveWebSocket().then(
        (ctor) => {
          this.ctor = ctor;
          if (this.conn.kind === 'loading') this.openSocket();
        },
        (error: unknown) => this.fail(ClientErrorCode.NoWebSocket, error),
      );
      return;
    }
    let sock: WebSocketLike;
    try {
      sock = new Ctor(this.url, this.opts.protocols);
    } catch (error) {
      this.fail(ClientErrorCode.ConnectFailed, error);
      return;
    }
    this.conn = { kind: 'connecting', sock };
    this.heartbeat.start();
    attachSocket(sock, {
      open: () => this.guard(sock, () => this.sendHello(sock)),
      message: (data) => this.guard(sock, () => this.onMessage(sock, data)),
      close: (code, reason) => this.guard(sock, () => this.lost(code, reason)),
      error: (message) =>
        this.guard(sock, () => this.lost(CloseCode.Abnormal, message || 'socket error')),
    });
  }

  /** Runs a socket callback for the current socket only; never lets an exception escape. */
  private guard(sock: WebSocketLike, fn: () => void): void {
    const c = this.conn;
    if ((c.kind !== 'connecting' && c.kind !== 'open') || c.sock !== sock) return;
    try {
      fn();
    } catch (error) {
      this.emitError('internal_error', error);
    }
  }

  private isCurrent(sock: WebSocketLike): boolean {
    const c = this.conn;
    return (c.kind === 'connecting' || c.kind === 'open') && c.sock === sock;
  }

  private sendHello(sock: WebSocketLike): void {
    const hello: HelloFrame = { t: 'hello', v: PROTOCOL_VERSION };
    if (this.opts.token !== undefined) hello.token = this.opts.token;
    if (this.sid !== undefined && this.key !== undefined)
      hello.resume = { sid: this.sid, key: this.key, ack: this.lastProcessed };
    sock.send(encodeFrame(hello));
    this.heartbeat.sent();
  }

  private onMessage(sock: WebSocketLike, data: unknown): void {
    this.heartbeat.received();
    if (typeof data !== 'string') {
      this.events.emit('error', { code: 'bad_frame', message: 'binary messages are not in v1' });
      return;
    }
    this.dispatching = true;
    try {
      for (const decoded of decodeServerMessage(data)) {
        if (!this.isCurrent(sock)) return;
        if (decoded.ok) this.onFrame(sock, decoded.frame);
        else this.events.emit('error', { code: decoded.code, message: decoded.message });
      }
    } finally {
      this.dispatching = false;
    }
    this.flushOut();
  }

  private onFrame(sock: WebSocketLike, f: ServerFrame): void {
    switch (f.t) {
      case 'welcome':
        if (this.conn.kind === 'connecting') this.onWelcome(sock, f);
        else this.unexpected(f.t);
        return;
      case 'ping':
        this.write(encodeFrame({ t: 'pong' }));
        return;
      case 'pong':
        return;
      case 'error':
        this.events.emit('error', { code: f.code, message: f.message });
        return;
      case 'msg':
        if (this.conn.kind === 'open') this.onServerMsg(f);
        else this.unexpected(f.t);
        return;
      case 'ok':
        if (this.conn.kind === 'open') this.settle(this.queue.take(f.id), f.data);
        else this.unexpected(f.t);
        return;
      case 'nack':
        if (this.conn.kind === 'open') this.onNack(f);
        else this.unexpected(f.t);
        return;
    }
  }

  private onWelcome(sock: WebSocketLike, w: WelcomeFrame): void {
    const hadSession = this.sid !== undefined;
    // A new session (or a stream rebuilt after data loss) numbers its messages from 1 again.
    if (hadSession && (!w.resumed || w.reason === 'epoch_changed')) this.lastProcessed = 0;
    this.sid = w.sid;
    this.key = w.key;
    this.replayUntil = w.resumed ? w.last : 0;
    this.backoff.reset();
    this.acks.reset(this.lastProcessed);
    this.conn = { kind: 'open', sock };
    this.heartbeat.start(w.hb);
    if (this.closing !== undefined) {
      this.sendBye(sock, this.closing);
      return;
    }
    for (const p of this.queue) if (!p.waiting) this.write(p.frame);
    if (hadSession) {
      if (!w.resumed) {
        this.events.emit('resumed', { recovered: false, reason: w.reason ?? 'unknown_session' });
      } else {
        const ev: ClientEvents['resumed'] = { recovered: w.recovered };
        if (w.reason !== undefined) ev.reason = w.reason;
        if (w.missing !== undefined) ev.missing = w.missing;
        this.events.emit('resumed', ev);
        if (w.reason === 'gap')
          this.events.emit('gap', { reason: 'resume', missing: w.missing ?? 0 });
      }
    }
    if (this.isCurrent(sock) && this.closing === undefined)
      this.events.emit('open', { sid: w.sid, resumed: w.resumed });
  }

  private onServerMsg(f: ServerMsgFrame): void {
    const seq = f.seq;
    if (seq !== undefined) {
      if (seq <= this.lastProcessed) {
        this.counters.duplicatesDropped++;
        // Make sure the server learns we have it, or it would keep replaying it.
        this.acks.processed(this.lastProcessed);
        return;
      }
      const expected = this.lastProcessed + 1;
      this.lastProcessed = seq;
      if (seq > expected && seq > this.replayUntil)
        this.events.emit('gap', { reason: 'live', from: expected, to: seq - 1 });
    }
    this.counters.messages++;
    this.events.emit(
      'message',
      f.id === undefined ? { data: f.data, seq } : { data: f.data, seq, id: f.id },
    );
    if (seq !== undefined) this.acks.processed(seq);
  }

  private onNack(f: NackFrame): void {
    const p = this.queue.get(f.id);
    if (p === undefined) return;
    if (!f.retryable) {
      this.queue.take(f.id);
      p.reject(new ClientError(f.code, f.message, { details: { id: f.id, retryable: false } }));
      return;
    }
    const { clock } = this.opts;
    if (p.waiting) clock.clearTimeout(p.retryTimer);
    p.waiting = true;
    const delay = fullJitter(p.retries++, this.opts.backoff, this.opts.random);
    p.retryTimer = clock.setTimeout(() => {
      p.waiting = false;
      if (this.conn.kind === 'open' && this.queue.get(p.id) === p) this.writeNow(p.frame);
      // Otherwise the flush after the next welcome resends it.
    }, delay);
  }

  private settle(p: Pending | undefined, data: unknown): void {
    if (p === undefined) return;
    if (p.waiting) this.opts.clock.clearTimeout(p.retryTimer);
    p.resolve(data);
  }

  /** The connection is gone (closed, failed or silent): reconnect, or stop on a terminal code. */
  private lost(code: number, reason: string): void {
    if (this.closing !== undefined) {
      this.finish(code, reason, ClientErrorCode.Closed);
      return;
    }
    if (!isRetryableClose(code)) {
      this.finish(code, reason, `closed_${code}`);
      return;
    }
    this.release();
    this.dropped = true;
    const timer = this.opts.clock.setTimeout(() => this.reconnect(), this.backoff.next());
    this.conn = { kind: 'waiting', timer };
    this.events.emit('close', { code, reason, willReconnect: true });
  }

  private reconnect(): void {
    if (this.conn.kind !== 'waiting') return;
    this.counters.reconnects++;
    this.openSocket();
  }

  /** Stops for good. */
  private finish(code: number, reason: string, errorCode: string): void {
    if (this.conn.kind === 'closed') return;
    this.release();
    this.conn = { kind: 'closed' };
    const closing = this.closing;
    if (closing !== undefined) {
      this.opts.clock.clearTimeout(closing.timer);
      // The server forgets the session on `bye`: there is nothing left to resume.
      if (closing.byeSent) this.sid = this.key = undefined;
    }
    for (const p of this.queue.drain()) {
      if (p.waiting) this.opts.clock.clearTimeout(p.retryTimer);
      const message = `the client closed (${code}${reason === '' ? '' : ` ${reason}`}) before an answer`;
      p.reject(new ClientError(errorCode, message, { details: { id: p.id, code, reason } }));
    }
    closing?.resolve();
    this.events.emit('close', { code, reason, willReconnect: false });
  }

  private fail(errorCode: string, error: unknown): void {
    this.emitError(errorCode, error);
    this.finish(CloseCode.Abnormal, describe(error), errorCode);
  }

  /** Forgets the current connection (or pending reconnect) and everything tied to it. */
  private release(): void {
    const c = this.conn;
    this.heartbeat.stop();
    this.acks.reset(this.lastProcessed);
    this.out = [];
    this.outChars = 0;
    if (c.kind === 'waiting') this.opts.clock.clearTimeout(c.timer);
    if (c.kind !== 'connecting' && c.kind !== 'open') return;
    if (c.sock.readyState === SocketState.Closed) return;
    try {
      if (typeof c.sock.terminate === 'function') c.sock.terminate();
      else c.sock.close();
    } catch {
      // Already closing: nothing left to release.
    }
  }

  private sendBye(sock: WebSocketLike, closing: Closing): void {
    this.flushOut();
    try {
      sock.send(encodeFrame({ t: 'bye' }));
      closing.byeSent = true;
    } catch (error) {
      this.emitError(ClientErrorCode.SendFailed, error);
    }
    closing.timer = this.opts.clock.setTimeout(
      () =>
        this.finish(CloseCode.Normal, 'no close from the server after bye', ClientErrorCode.Closed),
      BYE_TIMEOUT_MS,
    );
  }

  /** Queues a frame for the current connection; a burst of sends goes out as one message. */
  private write(frame: string): void {
    if (this.closing?.byeSent === true) return;
    if (this.outChars + frame.length > MAX_BATCH_CHARS) this.flushOut();
    this.out.push(frame);
    this.outChars += frame.length;
    if (this.dispatching || this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flushOut();
    });
  }

  /** Writes a frame and sends it at once (timer callbacks), or with the current dispatch. */
  private writeNow(frame: string): void {
    this.write(frame);
    if (!this.dispatching) this.flushOut();
  }

  private flushOut(): void {
    if (this.out.length === 0) return;
    const text = this.out.length === 1 ? this.out[0]! : this.out.join('\n');
    this.out = [];
    this.outChars = 0;
    const c = this.conn;
    if ((c.kind !== 'open' && c.kind !== 'connecting') || c.sock.readyState !== SocketState.Open)
      return;
    try {
      c.sock.send(text);
      this.heartbeat.sent();
    } catch (error) {
      this.emitError(ClientErrorCode.SendFailed, error);
    }
  }

  private unexpected(t: string): void {
    const message = `"${t}" frame not allowed before welcome or twice`;
    this.events.emit('error', { code: ClientErrorCode.UnexpectedFrame, message });
  }

  private emitError(code: string, cause: unknown): void {
    this.events.emit('error', { code, message: describe(cause), cause });
  }

  private onListenerError(error: unknown, event: keyof ClientEvents): void {
    // A throwing error listener would recurse forever; its exception has nowhere to go.
    if (event === 'error') return;
    const message = `a "${event}" listener threw: ${describe(error)}`;
    this.events.emit('error', { code: ClientErrorCode.ListenerError, message, cause: error });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function badData(cause: unknown): ClientError {
  return new ClientError(ClientErrorCode.BadData, 'send data must be JSON-serializable', { cause });
}
