/**
 * The hub composes the session layer of one node: the registry (the one owner of session
 * state here), delivery, the send path, the handshake and the frame handler, and connects
 * them to the store (through the outbox) and to the other nodes (through the session bus).
 * It owns the connection life cycle (accept, close, shutdown) and the ways a session ends.
 * Everything durable is in the store (docs/architecture.md).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';
import { CloseCode } from '../protocol/index.js';
import type { SessionRecord, StoredMessage } from '../store/store.js';
import { LoopbackBus } from '../store/loopback-bus.js';
import type { BusEvent, SessionBus } from '../store/session-bus.js';
import { disconnectClose, endedFrame, endReason, onBusEvent } from './bus-events.js';
import type { ClientLimits } from './client-limits.js';
import { ClientMessages, type MessageHandler } from './client-messages.js';
import { closeConnections } from './close-connections.js';
import { Connection, type ConnectionOwner, type WriterLimits } from './connection.js';
import { Delivery, maxSeq } from './delivery.js';
import { Detacher } from './detacher.js';
import { FlushScheduler } from './flush-scheduler.js';
import { FrameHandler } from './frame-handler.js';
import { Handshake } from './handshake.js';
import type { AuthRequest, Authenticate } from '../auth/principal.js';
import { PositionCheck } from './position-check.js';
import { SendPath, type SendOptions, type SendResult } from './send-path.js';
import { SessionRegistry } from './session-registry.js';
import { UserLimit } from './user-limit.js';
import { sendToUser, type UserSendPorts, type UserSendResult } from './user-send.js';
import type { Transport, TransportHandlers } from './transport-port.js';

export type { SendOptions, SendResult } from './send-path.js';

/** The hub's settings; every default lives in the configuration schema (src/config/schema.ts). */
export interface HubOptions {
  sessionTtlMs: number;
  heartbeatIntervalMs: number;
  maxBadFrames: number;
  /** Largest serialized `data` accepted by send (the server passes the smaller of the outbox
   *  byte bound and the max frame). */
  maxMessageBytes: number;
  writer: WriterLimits;
  /** Most client messages queued per session before `nack overloaded`. */
  maxQueuedClientMessages: number;
  /** Most live sessions per user; a new one past it ends the user's oldest (detached first). */
  maxSessionsPerUser: number;
  /** What one client may send: the rate of its messages, how deep their JSON nests. */
  clientLimits: ClientLimits;
  /** Answers every `hello` with a principal or a refusal (4500): src/auth/principal.ts. */
  authenticate?: Authenticate;
  handler?: MessageHandler;
  /** Hashes serialized data for `dedup: 'content'` (xxHash64 hex, see `loadContentHasher`);
   *  without it such a send fails with `content_hash_unavailable`. */
  contentHash?: (json: string) => string;
  /** This node's name on the bus and its owner token in the store (default: random). */
  node?: string;
  /** The bus shared with the other nodes of a shared store (default: a loopback bus of its
   *  own, i.e. one node). */
  bus?: SessionBus;
}

export class Hub {
  /** This node's name on the bus and its owner token in the store. */
  readonly node: string;
  readonly clientMessages: ClientMessages;
  private readonly registry = new SessionRegistry();
  private readonly delivery: Delivery;
  private readonly sendPath: SendPath;
  private readonly frames: FrameHandler;
  private readonly owner: ConnectionOwner;
  private readonly bus: SessionBus;
  private readonly unsubscribe: () => void;
  /** Upgrade requests kept for the `authenticate` hook until the connection's `hello`. */
  private readonly requests = new WeakMap<Connection, AuthRequest>();
  private readonly users: UserLimit;
  private readonly userPorts: UserSendPorts = {
    userSessions: (user) => this.users.sessions(user),
    send: (sid, data, options) => this.send(sid, data, options),
  };
  /** Detaches sent to the store and not answered yet; `close()` waits for them. */
  private readonly detacher: Detacher;
  /** Runs only for a bus that may lose events (see `SessionBus.reliable`). */
  readonly positions: PositionCheck;

  constructor(
    readonly outbox: Outbox,
    readonly clock: Clock,
    readonly events: Emitter<CoreEvents>,
    readonly options: HubOptions,
    readonly scheduler: FlushScheduler = new FlushScheduler(),
  ) {
    this.node = options.node ?? `node-${randomBytes(6).toString('base64url')}`;
    this.bus = options.bus ?? new LoopbackBus();
    this.detacher = new Detacher(outbox, clock, events, options, this.node);
    const registry = this.registry;
    this.clientMessages = new ClientMessages(
      outbox.store,
      clock,
      events,
      options.maxQueuedClientMessages,
      options.handler,
      this.node,
    );
    const delivery = (this.delivery = new Delivery(registry, outbox, events));
    this.sendPath = new SendPath(
      outbox,
      registry,
      delivery,
      {
        appended: (sid, seq, dropped) => {
          const stream = { kind: 'session', sid } as const;
          if (dropped.length > 0) this.publish({ type: 'lost', stream, upTo: maxSeq(dropped) });
          this.publish({ type: 'appended', stream, seq });
        },
        refused: (sid) => this.publish({ type: 'refused', sid }),
      },
      { maxMessageBytes: options.maxMessageBytes, contentHash: options.contentHash },
    );
    const handshake = new Handshake({
      registry,
      delivery,
      outbox,
      events,
      clock,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      authenticate: options.authenticate,
      takeRequest: (conn) => {
        const request = this.requests.get(conn);
        if (request !== undefined) this.requests.delete(conn);
        return request;
      },
      userSessionCreated: (user, sid) => this.users.created(user, sid),
      node: this.node,
      detach: (sid) => this.detacher.detach(sid),
      tookOver: (sid) => this.publish({ type: 'takeover', sid, owner: this.node }),
      verifyOwner: (sid) => this.positions.verifyOwner(sid),
    });
    this.frames = new FrameHandler({
      registry,
      delivery,
      outbox,
      clientMessages: this.clientMessages,
      handshake,
      events,
      clock,
      maxBadFrames: options.maxBadFrames,
      limits: options.clientLimits,
      ended: (sid, by) => this.publish({ type: 'ended', sid, by }),
      detach: (sid) => this.detacher.detach(sid),
    });
    this.owner = {
      scheduler,
      limits: options.writer,
      now: () => clock.now(),
      writable: (conn) => delivery.onWritable(conn),
      message: (conn, text) => this.frames.onMessage(conn, text),
      closed: (conn, code, reason) => this.onClose(conn, code, reason),
    };
    this.users = new UserLimit(outbox.store, options.maxSessionsPerUser, events, (sid) =>
      this.endSession(sid, 'user_limit'),
    );
    this.positions = new PositionCheck(registry, delivery, outbox.store, events, this.node);
    const here = { node: this.node, registry, delivery, positions: this.positions };
    this.unsubscribe = this.bus.subscribe(this.node, {
      event: (e) => onBusEvent(e, here),
      resync: () => void this.positions.resync(),
    });
  }

  /**
   * Wire a new transport (`remote` reads the peer's address; `request` is the upgrade
   * request, kept only until `hello` and only when an `authenticate` hook may read it);
   * returns the callbacks the transport must call: the connection itself. Nothing here makes
   * a closure per connection: every connection calls into one shared owner (an idle
   * connection's heap is a benchmarked figure).
   */
  accept(
    transport: Transport,
    remote?: () => string | undefined,
    request?: AuthRequest,
  ): { connection: Connection; handlers: TransportHandlers } {
    const conn = new Connection(transport, this.owner);
    this.registry.add(conn);
    if (request !== undefined && this.options.authenticate !== undefined) {
      this.requests.set(conn, request);
    }
    // Read only if a listener asks: Node caches a socket's peer address (~90 bytes) once read.
    this.events.emit('connection', {
      get remote() {
        return remote?.();
      },
    });
    return { connection: conn, handlers: conn };
  }

  /** Whether an `authenticate` hook reads the upgrade request (then `accept` takes it). */
  get authenticates(): boolean {
    return this.options.authenticate !== undefined;
  }

  /** Open connections of this node, in any state (heartbeat, shutdown). */
  get connections(): ReadonlySet<Connection> {
    return this.registry.connections;
  }

  get connectionCount(): number {
    return this.registry.connectionCount;
  }

  /** Sessions attached to a connection of this node. */
  get attachedCount(): number {
    return this.registry.attachedCount;
  }

  isAttached(sid: string): boolean {
    return this.registry.current(sid) !== undefined;
  }

  /** The ids of the sessions attached here (a snapshot). */
  attachedIds(): string[] {
    return this.registry.localSessions().map((l) => l.sid);
  }

  /** Set or replace the client-message handler. */
  setHandler(handler: MessageHandler | undefined): void {
    this.clientMessages.handler = handler;
  }

  /** Send one stored (or volatile) message to a session. Never throws: errors reject. */
  send(sid: string, data: unknown, options: SendOptions = {}): Promise<SendResult> {
    return this.sendPath.send(sid, data, options);
  }

  /** Send to every live session of `user`, each with its own seq (src/session/user-send.ts). */
  sendToUser(user: string, data: unknown, options: SendOptions = {}): Promise<UserSendResult> {
    return sendToUser(this.userPorts, user, data, options);
  }

  /** Send to every live session. Returns how many were reached. */
  broadcast(data: unknown, options: Omit<SendOptions, 'id'> = {}): Promise<number> {
    return this.sendPath.broadcast(data, options);
  }

  /** Messages of `sid` were lost (the sweeper's expiries): 4002 if some were never written. */
  lost(sid: string, messages: readonly StoredMessage[]): void {
    if (messages.length === 0) return;
    if (this.registry.current(sid) !== undefined) this.delivery.lost(sid, messages);
    else this.publish({ type: 'lost', stream: { kind: 'session', sid }, upTo: maxSeq(messages) });
  }

  /**
   * End a session at once, wherever it is attached (admin, `server.endSession`): the client
   * gets error `session_ended` (with `reason`) and close 1000. False if there is none.
   */
  async endSession(
    sid: string,
    by: 'admin' | 'user_limit' = 'admin',
    reason?: string,
  ): Promise<boolean> {
    const local = this.registry.end(sid);
    local?.conn.close(CloseCode.Normal, endReason(by), endedFrame(by, reason));
    let existed: boolean;
    try {
      existed = await this.outbox.forget(sid);
    } catch (error) {
      // The store may still hold it, attached to the connection just closed, whose close does
      // not detach it (it was ended): leave it to the session TTL rather than attached forever.
      if (local !== undefined) this.detacher.detach(sid);
      throw error;
    }
    if (existed) {
      this.publish(
        reason === undefined ? { type: 'ended', sid, by } : { type: 'ended', sid, by, reason },
      );
      this.events.emit('end', { sid, by });
    }
    return existed;
  }

  /**
   * Close the session's connection, wherever it is attached, and keep the session: the client
   * gets error `disconnected` (with `reason`) and close 4004, then resumes. True when the
   * session exists (attached or not); false if there is none.
   */
  async disconnect(sid: string, reason?: string): Promise<boolean> {
    const local = this.registry.disconnect(sid, reason);
    if (local !== undefined) {
      local.conn.close(...disconnectClose(reason));
      return true;
    }
    if ((await this.outbox.store.getSession(sid)) === undefined) return false;
    // A resume of it may have started here while the store answered.
    this.registry.disconnect(sid, reason)?.conn.close(...disconnectClose(reason));
    this.publish(
      reason === undefined ? { type: 'disconnect', sid } : { type: 'disconnect', sid, reason },
    );
    return true;
  }

  /** The live sessions of `user`, oldest first (at most `maxSessionsPerUser` + a margin). */
  userSessions(user: string): Promise<SessionRecord[]> {
    return this.users.sessions(user);
  }

  /**
   * Close every connection (shutdown) with a retryable code so clients resume elsewhere;
   * resolves when all have closed, forcing those still open after `graceMs`.
   */
  closeAll(code: number, reason: string, graceMs = 2000): Promise<void> {
    return closeConnections(this.registry.connections, code, reason, graceMs);
  }

  /**
   * Leave the bus (after `closeAll`) and wait, at most `timeoutMs`, for the detaches the
   * closes started: a shared store must record them before its user closes it, or the
   * sessions would stay attached with no node to serve them.
   */
  async close(timeoutMs = 2000): Promise<void> {
    this.positions.stop();
    this.unsubscribe();
    await this.detacher.settled(timeoutMs);
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    conn.state = 'closed';
    const release = this.registry.remove(conn);
    if (release !== undefined) this.detacher.detach(release.detach.sid);
    this.events.emit('disconnect', { sid: conn.sid, code, reason });
  }

  private publish(event: BusEvent): void {
    this.bus.publish(this.node, event);
  }
}
