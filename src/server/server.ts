/**
 * The composition root: resolves configuration, builds the store, outbox, hub, WebSocket
 * endpoint, heartbeat, sweeper, breakers, upstream and metrics, and serves HTTP + WebSocket
 * on one port.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { resolveConfig, type ResolvedConfig } from '../config/index.js';
import type { CoreEvents } from '../core-events.js';
import { RwsError } from '../errors.js';
import { Emitter } from '../events.js';
import { loadContentHasher, type ContentHasher } from '../outbox/content-hash.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import { MemoryDeadLetterStore } from '../outbox/dead-letters.js';
import { Outbox } from '../outbox/outbox.js';
import { CloseCode } from '../protocol/index.js';
import { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { MessageHandler } from '../session/client-messages.js';
import { Hub, type SendOptions, type SendResult } from '../session/hub.js';
import { startSweeper } from '../session/sweeper.js';
import { MemoryStore } from '../store/memory-store.js';
import type { SessionBus } from '../store/session-bus.js';
import type { SessionRecord, Store } from '../store/store.js';
import type { UserSendResult } from '../session/user-send.js';
import { WsEndpoint } from '../transport/endpoint.js';
import { startHeartbeat } from '../transport/heartbeat.js';
import type { Upstream } from '../upstream/upstream.js';
import type { NodeView } from './admin-context.js';
import { EventLog } from './event-log.js';
import { createObservability, type MetricsReads, type Observability } from './observability.js';
import { createRedisParts, isRedisStore, type RedisParts } from './redis-mode.js';
import { handleRequest } from './routes.js';
import type { StatsStream } from './stats-stream.js';
import type { CloseOptions, ListenInfo, ServerOptions } from './server-options.js';
import {
  breakerDefaults,
  createUpstream,
  hubSettings,
  outboxLimits,
  routeContext,
} from './server-parts.js';

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
  /** The gateway upstream (RWS_UPSTREAM_URL); undefined when none is set. */
  private readonly upstream: Upstream | undefined;
  private readonly endpoint: WsEndpoint;
  private readonly ownsStore: boolean;
  /** This node's name among the nodes of a shared store, and its owner token in the store. */
  readonly node: string;
  /** The Redis parts, when `store` is a Redis URL. */
  private readonly redis: RedisParts | undefined;
  private readonly bus: SessionBus | undefined;
  private readonly positionCheckIntervalMs: number;
  private readonly clock: Clock;
  private timers: TimerHandle[] = [];
  /** GET /api/stats/stream: its timer runs only while it has viewers; close() ends them. */
  private readonly statsStream: StatsStream | undefined;
  /** The notable core events of this node, in a bounded ring (GET /api/events). */
  readonly eventLog: EventLog;
  private draining = false;
  private closed: Promise<void> | undefined;
  private hasher: ContentHasher | undefined;
  private hasherLoading: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    const {
      onMessage,
      authenticate,
      storeInstance,
      bus,
      node,
      positionCheckIntervalMs,
      deadLetterInstance,
      clock,
      extraRoutes,
      config,
      file,
      ...overrides
    } = options;
    this.config = config ?? resolveConfig({ env: {}, argv: [], overrides, file }).config;
    const c = this.config;
    this.clock = clock ?? systemClock;
    const limits = outboxLimits(c);
    this.node = node ?? (c.node === '' ? `node-${randomBytes(6).toString('base64url')}` : c.node);
    // Production breakers keep their own per-turn cached clock; a test clock is used as given.
    this.breakers = new BreakerRegistry(breakerDefaults(c, clock));
    this.breakers.on('stateChange', (e) =>
      this.emit('breaker', { name: e.name, from: e.from, to: e.to, reason: e.reason }),
    );
    // A Redis URL in `store` (and no store passed in): the store, the dead letters and the
    // node list live in Redis (docs/scaling.md).
    this.redis =
      storeInstance === undefined && isRedisStore(c)
        ? createRedisParts(c, limits, this.node, this.breakers.get('store'), (where, error) =>
            this.emit('error', { where: `redis-bus:${where}`, error }),
          )
        : undefined;
    this.store = storeInstance ?? this.redis?.store ?? new MemoryStore({ limits });
    this.ownsStore = storeInstance === undefined;
    this.positionCheckIntervalMs = positionCheckIntervalMs ?? 5000;
    this.bus = bus ?? this.redis?.bus;
    this.dlq =
      deadLetterInstance ?? this.redis?.dlq ?? new MemoryDeadLetterStore(c.dlqMax, c.dlqMaxBytes);
    this.upstream = createUpstream(c, this.breakers, this, this.clock);
    const handler = this.upstream?.handler ?? onMessage;
    const outbox = new Outbox(this.store, limits, this.dlq, this, this.clock);
    this.hub = new Hub(outbox, this.clock, this, {
      ...hubSettings(c),
      ...(authenticate === undefined ? {} : { authenticate }),
      ...(handler === undefined ? {} : { handler }),
      ...(this.bus === undefined ? {} : { bus: this.bus }),
      node: this.node,
      contentHash: (json: string) => {
        if (this.hasher === undefined)
          throw new RwsError(
            'content_hash_unavailable',
            'the content hash is not loaded yet (await listen() or ready() first)',
          );
        return this.hasher.hash64hex(json);
      },
    });
    this.endpoint = new WsEndpoint(this.hub, {
      maxFrameBytes: c.maxFrame,
      highWaterMark: c.highWaterMark,
      maxConnections: c.maxConnections,
      maxConnectionsPerIp: c.maxConnectionsPerIp,
      trustProxyHops: c.trustProxyHops,
      allowedOrigins: c.allowedOrigins,
      isDraining: () => this.draining,
      onRefused: (reason) => this.emit('connectionRefused', { reason }),
    });
    this.observability = c.metrics
      ? createObservability({
          enabled: true,
          maxLabelSets: c.metricsMaxLabelSets,
          events: this,
          connections: () => this.hub.connectionCount,
          attachedSessions: () => this.hub.attachedCount,
          storeStats: () => this.store.stats(),
          dlqStats: () => this.dlq.stats(),
          breakers: () => this.breakers.list().map((b) => ({ name: b.name, state: b.state })),
          sent: () => ({ messages: outbox.totals.sent, bytes: outbox.totals.sentBytes }),
          clock: this.clock,
        })
      : undefined;
    this.eventLog = new EventLog(this, this.clock);
    const ctx = routeContext(c, {
      hub: this.hub,
      store: this.store,
      dlq: this.dlq,
      breakers: this.breakers,
      clock: this.clock,
      observability: this.observability,
      isDraining: () => this.draining,
      onError: (where, error) => this.emit('error', { where, error }),
      extra: extraRoutes,
      node: this.node,
      nodes: () => this.nodeViews(),
      sent: () => this.sentTotals,
      events: this.eventLog,
      storeInfo:
        this.redis === undefined
          ? undefined
          : () => {
              const r = this.redis!;
              return {
                kind: 'redis',
                ready: r.store.isReady,
                generation: r.store.currentGeneration,
                bus: r.bus.stats(),
              };
            },
    });
    this.statsStream = ctx.admin.statsStream;
    this.http = createHttpServer((req, res) => {
      void handleRequest(ctx, req, res);
    });
    this.endpoint.attach(this.http);
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
   * End a session at once, wherever it is attached: its connection closes with 1000, what
   * its outbox held is dead-lettered (`session_closed`). False when there is no such session.
   */
  endSession(sid: string): Promise<boolean> {
    return this.hub.endSession(sid);
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
    if (this.redis !== undefined) this.startRedis(this.redis);
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
    const others = (await this.redis.nodes.list())
      .filter((n) => n.node !== this.node)
      .map((n): NodeView => {
        const view: NodeView = {
          node: n.node,
          self: false,
          alive: n.alive,
          lastSeen: new Date(n.lastSeen).toISOString(),
          connections: Number(n.info.connections ?? 0),
          attached: Number(n.info.attached ?? 0),
        };
        if (typeof n.info.http === 'string') view.http = n.info.http;
        return view;
      });
    return [self, ...others];
  }

  /**
   * Redis mode after listen: the heartbeat, and the two events after which this node's
   * attachments in the store cannot be trusted: Redis's generation went up (it restarted or
   * failed over) or this node was declared dead (a long pause). Either way every connection
   * closes with 1012 (service restart; the SDK reconnects and resumes), so that clients
   * attach again and learn from their resume what survived (`epoch_changed`,
   * `unknown_session`).
   */
  private startRedis(redis: RedisParts): void {
    const a = this.address();
    const startedAt = new Date().toISOString();
    redis.nodes.setInfo(() => ({
      pid: process.pid,
      http: a.httpUrl,
      startedAt,
      connections: this.hub.connectionCount,
      attached: this.hub.attachedCount,
    }));
    redis.nodes.start();
    const reattach = (why: string) => {
      if (this.draining) return;
      this.emit('error', { where: 'redis', error: new RwsError('store_unavailable', why) });
      void this.hub.closeAll(CloseCode.ServiceRestart, why);
    };
    redis.store.onRestart(({ generation, previous }) => {
      redis.nodes.redisRestarted();
      reattach(
        `Redis restarted or failed over (generation ${previous} -> ${generation}): clients resume`,
      );
    });
    redis.nodes.onDeclaredDead(() =>
      reattach(
        'this node was declared dead by the others (a pause longer than the dead-node timeout)',
      ),
    );
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
    // Its viewers' responses end now (they would hold the HTTP server open) and its timer stops.
    this.statsStream?.close();
    this.endpoint.close();
    // No new TCP connections from here; the open ones stay up while upstream calls finish,
    // so that their ok/nack still reaches the clients.
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    if (this.upstream !== undefined) {
      await this.upstream.drain(timeoutMs);
      // The drained calls' answers (ok, or a retryable `draining` nack) go out before 1001.
      await this.hub.clientMessages.allIdle(500);
    }
    // Sessions detach as their connections close; the store must outlive that.
    await this.hub.closeAll(CloseCode.GoingAway, 'server going away');
    await this.hub.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.http.closeAllConnections();
    await httpClosed;
    this.observability?.close();
    if (this.redis !== undefined) await this.redis.close();
    else if (this.ownsStore) await this.store.close();
  }
}

/** Create a server; call `listen()` to serve. */
export function createServer(options: ServerOptions = {}): RwsServer {
  return new RwsServer(options);
}
