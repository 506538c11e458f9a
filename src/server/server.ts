/**
 * The composition root: `RwsServer` resolves configuration, builds the store, outbox, hub,
 * WebSocket endpoint, heartbeat, sweeper, breakers, upstream and metrics (server-wiring.ts
 * builds the parts), and serves HTTP + WebSocket on one port; it owns listen and graceful
 * shutdown. Redis mode's start and its admin figures are in redis-mode.ts.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import type { ResolvedConfig } from '../config/index.js';
import type { CoreEvents } from '../core-events.js';
import { RwsError } from '../errors.js';
import { Emitter } from '../events.js';
import { loadContentHasher, type ContentHasher } from '../outbox/content-hash.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { MessageHandler } from '../session/client-messages.js';
import type { Hub, SendOptions, SendResult } from '../session/hub.js';
import { lifecycleReason, type LifecycleOptions } from '../session/lifecycle.js';
import { startSweeper } from '../session/sweeper.js';
import type { SessionBus } from '../store/session-bus.js';
import type { SessionRecord, Store } from '../store/store.js';
import type { UserSendResult } from '../session/user-send.js';
import { startHeartbeat } from '../transport/heartbeat.js';
import type { NodeView } from './admin-context.js';
import type { EventLog } from './event-log.js';
import type { MetricsReads, Observability } from './observability.js';
import { otherNodeViews, startRedisMode, type RedisParts } from './redis-mode.js';
import type { CloseOptions, ListenInfo, ServerOptions } from './server-options.js';
import { shutDown, type ShutdownParts } from './server-shutdown.js';
import { wireServer } from './server-wiring.js';

export type { CloseOptions, ListenInfo, ServerOptions } from './server-options.js';

export class RwsServer extends Emitter<CoreEvents> {
  readonly config: ResolvedConfig;
  readonly store: Store;
  /** The dead letters: `deadLetterInstance`, or the memory store bounded by `dlqMax`. */
  readonly dlq: DeadLetterStore;
  private readonly hub: Hub;
  private readonly http: HttpServer;
  /** This server's circuit breakers (`upstream` when an upstream is set); no global ones. */
  readonly breakers: BreakerRegistry;
  /** Metrics and /api/stats figures; undefined when metrics are off. */
  private readonly observability: Observability | undefined;
  /** What close() stops, in order (server-shutdown.ts): also the WebSocket endpoint, the
   *  gateway upstream (RWS_UPSTREAM_URL) and the stats stream, used by nothing else here. */
  private readonly shutdownParts: ShutdownParts;
  /** This node's name among the nodes of a shared store, and its owner token in the store. */
  readonly node: string;
  /** The Redis parts, when `store` is a Redis URL. */
  private readonly redis: RedisParts | undefined;
  private readonly bus: SessionBus | undefined;
  private readonly positionCheckIntervalMs: number;
  private readonly clock: Clock;
  private timers: TimerHandle[] = [];
  /** The notable core events of this node, in a bounded ring (GET /api/events). */
  readonly eventLog: EventLog;
  private draining = false;
  private closed: Promise<void> | undefined;
  private hasher: ContentHasher | undefined;
  private hasherLoading: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    const p = wireServer(options, {
      events: this,
      isDraining: () => this.draining,
      contentHash: (json) => this.contentHash(json),
      nodeViews: () => this.nodeViews(),
      sentTotals: () => this.sentTotals,
    });
    this.config = p.config;
    this.clock = p.clock;
    this.node = p.node;
    this.breakers = p.breakers;
    this.redis = p.redis;
    this.store = p.store;
    this.positionCheckIntervalMs = p.positionCheckIntervalMs;
    this.bus = p.bus;
    this.dlq = p.dlq;
    this.hub = p.hub;
    this.observability = p.observability;
    this.eventLog = p.eventLog;
    this.http = p.http;
    this.shutdownParts = p; // the wiring's parts include every one shutdown stops
  }

  /** The content hash of `dedup: 'content'`; the hasher loads in ready(). */
  private contentHash(json: string): string {
    if (this.hasher === undefined)
      throw new RwsError(
        'content_hash_unavailable',
        'the content hash is not loaded yet (await listen() or ready() first)',
      );
    return this.hasher.hash64hex(json);
  }

  /** A throwing listener is reported as an `error` event (or, for `error` itself, on stderr). */
  protected override listenerFailed(name: keyof CoreEvents, error: unknown): void {
    if (name !== 'error' && this.has('error'))
      this.emit('error', { where: `listener:${String(name)}`, error });
    else super.listenerFailed(name, error);
  }

  /** Set or replace the client-message handler. */
  onMessage(handler: MessageHandler): void {
    this.hub.setHandler(handler);
  }

  /** The client-message handler (undefined: messages are acknowledged with no data). */
  get messageHandler(): MessageHandler | undefined {
    return this.hub.clientMessages.handler;
  }

  set messageHandler(handler: MessageHandler | undefined) {
    this.hub.setHandler(handler);
  }

  /** WebSocket connections open on this node, in any state (hello, handshake, open). */
  get connectionCount(): number {
    return this.hub.connectionCount;
  }

  /** Sessions attached to a connection on this node. */
  get attachedCount(): number {
    return this.hub.attachedCount;
  }

  /** Whether session `sid` is attached to a connection on this node. */
  isAttached(sid: string): boolean {
    return this.hub.isAttached(sid);
  }

  /** The ids of the sessions attached on this node (a snapshot). */
  attachedSessionIds(): string[] {
    return this.hub.attachedIds();
  }

  /**
   * End a session at once, wherever it is attached: the client gets error `session_ended`
   * (with `reason`) and close 1000, and stops; what its outbox held is dead-lettered
   * (`session_closed`). False when there is no such session. `reason`: at most 256
   * characters (RwsError `bad_options` otherwise).
   */
  async endSession(sid: string, options: LifecycleOptions = {}): Promise<boolean> {
    return this.hub.endSession(sid, 'admin', lifecycleReason(options));
  }

  /**
   * Close the session's connection, wherever it is attached, and keep the session: the client
   * gets error `disconnected` (with `reason`) and close 4004 (retryable), then reconnects and
   * resumes with nothing lost. True when the session exists, attached or not.
   */
  async disconnect(sid: string, options: LifecycleOptions = {}): Promise<boolean> {
    return this.hub.disconnect(sid, lifecycleReason(options));
  }

  /** Stored sends accepted by this node since start (messages, bytes of their data). */
  get sentTotals(): { messages: number; bytes: number } {
    const t = this.hub.outbox.totals;
    return { messages: t.sent, bytes: t.sentBytes };
  }

  /**
   * The metrics figures as JSON (what `/api/stats` shows); undefined when metrics are off.
   * `read`: store and dead-letter figures just read by the caller, not read again.
   */
  metricsStats(read?: MetricsReads): Promise<Record<string, unknown>> | undefined {
    return this.observability?.stats(read);
  }

  /**
   * Observe every HTTP request this server answers (after the routes; the CLI logs them at
   * debug level). The listener must not write to the response.
   */
  observeRequests(listener: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.http.on('request', listener);
  }

  /** Loads what start-up needs asynchronously (the content hasher); listen() calls it. */
  ready(): Promise<void> {
    this.hasherLoading ??= loadContentHasher().then((h) => {
      this.hasher = h;
    });
    return this.hasherLoading;
  }

  /** Start serving on the configured host and port (0: any free port). */
  async listen(): Promise<ListenInfo> {
    const closedError = () => new RwsError('server_closed', 'the server was closed');
    if (this.closed !== undefined) throw closedError();
    await this.ready();
    // A Redis store must answer before the port opens (a clear error if it cannot, e.g. an
    // evicting maxmemory-policy); afterwards outages are survived (store_unavailable).
    if (this.redis !== undefined)
      await this.redis.store.waitReady(Math.max(10_000, this.config.storeTimeout));
    // close() may have been called while the hasher loaded: never open the port then.
    if (this.closed !== undefined) throw closedError();
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    if (this.closed !== undefined) {
      this.http.close();
      throw closedError();
    }
    const c = this.config;
    this.timers.push(
      startHeartbeat(this.hub, this.clock, {
        intervalMs: c.heartbeatInterval,
        timeoutMs: c.heartbeatTimeout,
        helloTimeoutMs: c.helloTimeout,
      }),
      startSweeper(this.hub, this.clock, c.sweepInterval),
    );
    if (this.bus !== undefined && !this.bus.reliable)
      this.hub.positions.start(this.clock, this.positionCheckIntervalMs);
    if (this.redis !== undefined)
      startRedisMode(this.redis, {
        address: this.address(),
        hub: this.hub,
        isDraining: () => this.draining,
        onError: (error) => this.emit('error', { where: 'redis', error }),
      });
    return this.address();
  }

  /** Every node of the deployment for the admin API; this node's figures are live. */
  private async nodeViews(): Promise<NodeView[]> {
    const self: NodeView = {
      node: this.node,
      self: true,
      alive: true,
      lastSeen: new Date(this.clock.now()).toISOString(),
      connections: this.hub.connectionCount,
      attached: this.hub.attachedCount,
    };
    if (this.redis === undefined) return [self];
    return [self, ...(await otherNodeViews(this.redis, this.node))];
  }

  address(): ListenInfo {
    const a = this.http.address() as AddressInfo | null;
    if (a === null) throw new RwsError('not_listening', 'the server is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return {
      host: a.address,
      port: a.port,
      url: `ws://${host}:${a.port}/ws`,
      httpUrl: `http://${host}:${a.port}`,
    };
  }

  /** Send a stored message (or a volatile one) to a session. */
  send(sid: string, data: unknown, options?: SendOptions): Promise<SendResult> {
    return this.hub.send(sid, data, options);
  }

  /**
   * Send to every live session of `user` (sessions whose `authenticate` named that user), on
   * any node: each stores it with its own seq, and an `id` deduplicates it in each. Rejects
   * with `unknown_user` when the user has no live session (docs/security.md, "Identity").
   */
  sendToUser(user: string, data: unknown, options?: SendOptions): Promise<UserSendResult> {
    return this.hub.sendToUser(user, data, options);
  }

  /** The live sessions of `user`, oldest first (at most `maxSessionsPerUser` + 16). */
  userSessions(user: string): Promise<SessionRecord[]> {
    return this.hub.userSessions(user);
  }

  /** Send to every live session; resolves with how many were reached. */
  broadcast(data: unknown, options?: Omit<SendOptions, 'id'>): Promise<number> {
    return this.hub.broadcast(data, options);
  }

  /**
   * Graceful shutdown: stop accepting (new WebSocket upgrades and TCP connections refused,
   * /readyz answers 503 `draining`), let in-flight upstream calls finish within `timeoutMs`
   * (default `shutdownTimeout`; then they are aborted and their clients get a retryable
   * nack), close every client with 1001 (retryable: they resume here or elsewhere), wait for
   * the connections to end (at most ~2 s, then they are dropped), release the port and close
   * the store. With the memory store the sessions end with the process; a shared store
   * (Redis) keeps them for their TTL. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closed ??= this.doClose(options.timeoutMs ?? this.config.shutdownTimeout);
    return this.closed;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.emit('shutdown', { timeoutMs });
    for (const t of this.timers) t.cancel();
    this.timers = [];
    await shutDown(this.shutdownParts, timeoutMs);
  }
}

/** Create a server; call `listen()` to serve. */
export function createServer(options: ServerOptions = {}): RwsServer {
  return new RwsServer(options);
}
