/**
 * The hub: sessions attached on this node, delivery from the outbox to their connections
 * (in seq order, once per connection, stopping at the high-water mark), and the life cycle
 * of connections (hello, takeover, detach, bye). Everything durable is in the store.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { RwsError } from '../errors.js';
import type { Emitter } from '../events.js';
import { idempotencyId } from '../outbox/content-hash.js';
import type { AppendOutcome, Outbox } from '../outbox/outbox.js';
import { CloseCode, encodeMsg, ErrorCode } from '../protocol/index.js';
import type { NewMessage, StoredMessage } from '../store/store.js';
import { ClientMessages, type MessageHandler } from './client-messages.js';
import { Connection, type ConnectionOwner, type WriterLimits } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { FrameHandler } from './frame-handler.js';
import type { LocalSession } from './local-session.js';
import type { Transport, TransportHandlers } from './transport-port.js';

export interface HubOptions {
  sessionTtlMs: number;
  heartbeatIntervalMs: number;
  maxBadFrames: number;
  /** Largest serialized `data` accepted by send (default 1 MiB; the server passes the
   *  smaller of the outbox byte bound and the max frame). */
  maxMessageBytes?: number;
  writer: WriterLimits;
  /** Most client messages queued per session before `nack overloaded` (default 1000). */
  maxQueuedClientMessages?: number;
  /** Checks `hello.token`; false refuses the connection with 4500. */
  authenticate?: (token: string | undefined) => boolean | Promise<boolean>;
  handler?: MessageHandler;
  /** Hashes serialized data for `dedup: 'content'` (xxHash64 hex, see `loadContentHasher`);
   *  without it such a send fails with `content_hash_unavailable`. */
  contentHash?: (json: string) => string;
}

export interface SendOptions {
  /** Idempotency id: a repeat within the dedup window returns the original seq. */
  id?: string;
  /** Latest value wins: an unacked message with the same key is superseded. */
  key?: string;
  /** Deliver only if attached here and not congested; never stored, no seq. */
  volatile?: boolean;
  /**
   * `'content'`: the xxHash64 of the serialized data is the idempotency id (`xxh64:<hex>`), so
   * the same data again within the dedup window returns the original seq with `dup: true`.
   * Not with `id`, `key` or `volatile` (RwsError `bad_options`).
   */
  dedup?: 'content';
  /**
   * `'reject'`: when the outbox is full, refuse this message (RwsError `outbox_full`) whatever
   * the overflow policy, instead of dropping it or disconnecting (admin replays use it, so a
   * dead letter is never dropped a second time).
   */
  ifFull?: 'reject';
}

export type SendResult =
  | { seq: number; dup?: true }
  | { dropped: 'overflow'; policy: 'drop-newest' | 'disconnect' }
  | { delivered: boolean };

const READ_BATCH = 256;
/** Sessions a broadcast reads from the store at a time. store-merge: new constant */
const BROADCAST_PAGE = 1000;

export class Hub {
  readonly sessions = new Map<string, LocalSession>();
  readonly connections = new Set<Connection>();
  /** Sessions whose resume is in flight: a closing old connection must not detach them. */
  readonly resuming = new Map<string, Connection>();
  /** Sessions ended (bye, admin) while a resume of them was in flight: that resume must fail. */
  readonly endedWhileResuming = new Set<string>();
  readonly clientMessages: ClientMessages;
  private readonly frames: FrameHandler;
  /**
   * store-merge: the owner token this hub gives the store on createSession, resume and
   * detach (`Store.detach` is fenced by it). One per hub (node) for now, which fences a late
   * detach from another node; the lead wires per-connection tokens.
   */
  readonly storeOwner = `node-${randomBytes(6).toString('base64url')}`;

  constructor(
    readonly outbox: Outbox,
    readonly clock: Clock,
    readonly events: Emitter<CoreEvents>,
    readonly options: HubOptions,
    readonly scheduler: FlushScheduler = new FlushScheduler(),
  ) {
    this.clientMessages = new ClientMessages(
      outbox.store,
      clock,
      events,
      options.maxQueuedClientMessages ?? 1000,
      options.handler,
      this.storeOwner, // store-merge: the owner of this hub's client message claims
    );
    this.frames = new FrameHandler(this);
    this.owner = {
      scheduler,
      limits: options.writer,
      now: () => clock.now(),
      writable: (conn) => this.onWritable(conn),
      message: (conn, text) => this.frames.onMessage(conn, text),
      closed: (conn, code, reason) => this.onClose(conn, code, reason),
    };
  }

  /**
   * Wire a new transport (`remote` reads the peer's address); returns the callbacks the
   * transport must call: the connection itself. Nothing here makes a closure per connection:
   * every connection calls into one shared owner (an idle connection's heap is a
   * benchmarked figure).
   */
  accept(
    transport: Transport,
    remote?: () => string | undefined,
  ): { connection: Connection; handlers: TransportHandlers } {
    const conn = new Connection(transport, this.owner);
    this.connections.add(conn);
    // Read only if a listener asks: Node caches a socket's peer address (~90 bytes) once read.
    this.events.emit('connection', {
      get remote() {
        return remote?.();
      },
    });
    return { connection: conn, handlers: conn };
  }

  private readonly owner: ConnectionOwner;

  /**
   * Send one stored (or volatile) message to a session. Serializes `data` exactly once.
   * Always returns a promise, never throws: every error is a rejection.
   */
  send(sid: string, data: unknown, options: SendOptions = {}): Promise<SendResult> {
    try {
      const json = serialize(data);
      const bytes = this.checkSize(json);
      const id = idempotencyId(json, options, this.options.contentHash);
      return this.sendSerialized(sid, json, bytes, id, options);
    } catch (error) {
      return rejection(error);
    }
  }

  /**
   * `json` was serialized, size-checked (`bytes`) and given its idempotency `id` once by the
   * caller, for every recipient. Never throws: every error is a rejection.
   *
   * Fast path: a stored send on a store that answers at once (`outbox.canAppendNow`, the
   * memory store) does all of its work now and returns one settled promise. Otherwise (a
   * volatile send, a networked store) the async path. Both append at call time, so a send's
   * seq order is its call order either way.
   */
  private sendSerialized(
    sid: string,
    json: string,
    bytes: number,
    id: string | undefined,
    options: SendOptions,
  ): Promise<SendResult> {
    if (options.volatile === true)
      return this.sendVolatile(sid, json).then((delivered) => ({ delivered }));
    try {
      const message = newMessage(json, bytes, id, options);
      const reject = options.ifFull === 'reject';
      if (!this.outbox.canAppendNow)
        return this.outbox.append(sid, message, reject).then((r) => this.sent(sid, json, id, r));
      return Promise.resolve(this.sent(sid, json, id, this.outbox.appendNow(sid, message, reject)));
    } catch (error) {
      return rejection(error);
    }
  }

  /** What a stored send does with the outbox's answer (both paths): deliver, or throw. */
  private sent(sid: string, json: string, id: string | undefined, r: AppendOutcome): SendResult {
    switch (r.status) {
      case 'stored': {
        const local = this.sessions.get(sid);
        if (local !== undefined) {
          if (r.dropped.length > 0) this.lost(sid, r.dropped);
          this.deliver(local, r.seq, json, id);
        }
        return { seq: r.seq };
      }
      case 'duplicate':
        return { seq: r.seq, dup: true };
      case 'dropped':
        if (r.policy === 'disconnect')
          this.sessions.get(sid)?.conn.closeSlowConsumer('outbox full: resume to catch up');
        return { dropped: 'overflow', policy: r.policy };
      case 'rejected':
        throw new RwsError('outbox_full', `the outbox of session ${short(sid)} is full`, {
          details: { policy: 'reject' },
        });
      case 'unknown_session':
        throw new RwsError('unknown_session', `no session ${short(sid)}`);
    }
  }

  private async sendVolatile(sid: string, json: string): Promise<boolean> {
    const local = this.sessions.get(sid);
    if (local === undefined) {
      if ((await this.outbox.store.getSession(sid)) === undefined)
        throw new RwsError('unknown_session', `no session ${short(sid)}`);
      return false;
    }
    if (!local.conn.writable) return false;
    local.conn.write(encodeMsg(undefined, json));
    return true;
  }

  /** Send to every live session (attached or detached). Returns how many were reached. */
  async broadcast(data: unknown, options: Omit<SendOptions, 'id'> = {}): Promise<number> {
    // Serialized and size-checked once for every session (never per recipient).
    const json = serialize(data);
    const bytes = this.checkSize(json);
    // Hashed once too; each session dedups against its own window (the same data again
    // reaches the sessions that did not get it the first time, e.g. ones created since).
    const id = idempotencyId(json, options, this.options.contentHash);
    // store-merge: the store lists sessions a page at a time (Store.sessionIdPages), so a
    // broadcast never holds every id at once; each page is sent before the next is read.
    const pages: AsyncIterable<string[]> | string[][] =
      options.volatile === true
        ? [[...this.sessions.keys()]]
        : this.outbox.store.sessionIdPages(BROADCAST_PAGE);
    let n = 0;
    for await (const sids of pages) {
      const results = await Promise.allSettled(
        sids.map((sid) => this.sendSerialized(sid, json, bytes, id, options)),
      );
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        const v = r.value;
        if ('seq' in v || ('delivered' in v && v.delivered)) n++;
      }
    }
    return n;
  }

  /** Refuse data larger than one message may be (typed error, HTTP 413); returns its bytes. */
  private checkSize(json: string): number {
    const bytes = Buffer.byteLength(json);
    const limit = this.options.maxMessageBytes ?? 1024 * 1024;
    if (bytes > limit)
      throw new RwsError(
        'message_too_large',
        `the serialized data is ${bytes} bytes; the limit is ${limit} (the outbox byte bound and the max frame)`,
      );
    return bytes;
  }

  /** End a session at once (admin kick). */
  async endSession(sid: string): Promise<boolean> {
    if (this.resuming.has(sid)) this.endedWhileResuming.add(sid);
    const local = this.sessions.get(sid);
    if (local !== undefined) {
      local.ended = true;
      this.sessions.delete(sid);
      local.conn.close(CloseCode.Normal, 'session ended');
    }
    const existed = await this.outbox.forget(sid);
    if (existed) this.events.emit('end', { sid, by: 'admin' });
    return existed;
  }

  /**
   * Close every connection (shutdown) with a retryable code so clients resume elsewhere;
   * resolves when all have closed, forcing those still open after `graceMs`.
   */
  async closeAll(code: number, reason: string, graceMs = 2000): Promise<void> {
    // Real time on purpose: shutdown must end even when a test has frozen the injected clock.
    for (const c of this.connections) c.close(code, reason);
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await delay(10);
    for (const c of this.connections) c.transport.terminate();
    while (this.connections.size > 0 && Date.now() < deadline + 1000) await delay(10);
  }

  /**
   * Messages of `sid` were lost (evicted or expired). If some were never written to the
   * attached connection, the client cannot know: close it as a slow consumer (4002, retryable)
   * so that its resume reports the gap with the missing count — never a silent hole.
   */
  lost(sid: string, messages: readonly StoredMessage[]): void {
    const local = this.sessions.get(sid);
    if (local === undefined || local.conn.state !== 'open') return;
    if (!messages.some((m) => m.seq > local.sentSeq)) return;
    local.conn.closeSlowConsumer('messages were dropped before delivery; resume to learn how many');
  }

  /** Write a stored message to an attached session, or leave it for the pump. */
  deliver(local: LocalSession, seq: number, json: string, id: string | undefined): void {
    if (seq <= local.sentSeq) return;
    if (local.pumping) {
      local.needsPump = true;
      return;
    }
    if (!local.conn.writable) {
      local.conn.deferred = true;
      return;
    }
    if (seq !== local.sentSeq + 1) {
      // Something between was not written (a failed read, a deferral): only the pump, which
      // reads the store in order, may write past a hole, so a client never skips a message.
      void this.pump(local);
      return;
    }
    local.conn.write(encodeMsg(seq, json, id));
    local.sentSeq = seq;
  }

  /** Write retained messages in order until caught up or congested. */
  writeStored(local: LocalSession, messages: readonly StoredMessage[]): boolean {
    for (const m of messages) {
      if (m.seq <= local.sentSeq) continue;
      if (!local.conn.writable) {
        local.conn.deferred = true;
        return false;
      }
      local.conn.write(encodeMsg(m.seq, m.data, m.id));
      local.sentSeq = m.seq;
    }
    return true;
  }

  /** Read from the store after what was sent and write, until caught up or congested. */
  async pump(local: LocalSession): Promise<void> {
    if (local.pumping) {
      local.needsPump = true;
      return;
    }
    local.pumping = true;
    try {
      do {
        local.needsPump = false;
        for (;;) {
          if (this.sessions.get(local.sid) !== local) return;
          if (!local.conn.writable) {
            local.conn.deferred = true;
            return;
          }
          const r = await this.outbox.read(local.sid, local.sentSeq, READ_BATCH);
          if (r.status !== 'ok' || this.sessions.get(local.sid) !== local) return;
          if (r.expired.length > 0) this.lost(local.sid, r.expired);
          const complete = this.writeStored(local, r.messages);
          if (!complete || r.messages.length < READ_BATCH) break;
        }
      } while (local.needsPump && local.conn.writable);
    } catch (error) {
      this.events.emit('error', { where: 'pump', error });
      // The store failed mid-delivery: let the client resume (and learn of any gap) rather
      // than leave it waiting for messages that this connection will not get.
      local.conn.close(CloseCode.Overloaded, 'store unavailable', {
        code: ErrorCode.Unavailable,
        message: 'the session store failed during delivery; resume',
      });
    } finally {
      local.pumping = false;
      if (local.needsPump && this.sessions.get(local.sid) === local) local.conn.deferred = true;
    }
  }

  /** Answer a client message on whichever connection the session has now. */
  replyTo(sid: string): ((text: string) => void) | undefined {
    const local = this.sessions.get(sid);
    if (local === undefined) return undefined;
    return (text) => local.conn.write(text);
  }

  private onWritable(conn: Connection): void {
    if (conn.sid === undefined) return;
    const local = this.sessions.get(conn.sid);
    if (local !== undefined && local.conn === conn) void this.pump(local);
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    conn.state = 'closed';
    this.connections.delete(conn);
    const sid = conn.sid;
    if (sid !== undefined) {
      const local = this.sessions.get(sid);
      if (local !== undefined && local.conn === conn && !this.resuming.has(sid)) {
        this.sessions.delete(sid);
        if (!local.ended) this.detach(sid);
      }
    }
    this.events.emit('disconnect', { sid, code, reason });
  }

  detach(sid: string): void {
    this.outbox.store
      .detach(sid, this.clock.now(), this.options.sessionTtlMs, this.storeOwner) // store-merge: owner
      .catch((error: unknown) => this.events.emit('error', { where: 'detach', error }));
  }
}

/** What an async function returns when its body throws `error`: a promise rejected with it. */
function rejection(error: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrown as is
  return Promise.reject(error);
}

/** The store's view of one send (an object per send: `id` and `key` only when given). */
function newMessage(
  data: string,
  bytes: number,
  id: string | undefined,
  options: SendOptions,
): NewMessage {
  const message: NewMessage = { data, bytes };
  if (id !== undefined) message.id = id;
  if (options.key !== undefined) message.key = options.key;
  return message;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function serialize(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new RwsError('bad_data', 'data must be JSON-serializable', { cause });
  }
  if (json === undefined)
    throw new RwsError('bad_data', 'data must be a JSON value (got undefined or a function)');
  return json;
}

/** A session id as shown in an error message: ids come from clients, so keep messages short. */
function short(sid: string): string {
  return sid.length > 64 ? `${sid.slice(0, 61)}...` : sid;
}
