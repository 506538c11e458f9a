/**
 * The composition root: resolves configuration, builds the store, outbox, hub, WebSocket
 * endpoint, heartbeat and sweeper, and serves HTTP + WebSocket on one port.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from '../config/index.js';
import type { CoreEvents } from '../core-events.js';
import { RwsError } from '../errors.js';
import { Emitter } from '../events.js';
import { DeadLetterQueue } from '../outbox/dead-letters.js';
import { Outbox } from '../outbox/outbox.js';
import { CloseCode } from '../protocol/index.js';
import type { MessageHandler } from '../session/client-messages.js';
import { Hub, type SendOptions, type SendResult } from '../session/hub.js';
import { startSweeper } from '../session/sweeper.js';
import { MemoryStore } from '../store/memory-store.js';
import type { OutboxLimits, Store } from '../store/store.js';
import { WsEndpoint } from '../transport/endpoint.js';
import { startHeartbeat } from '../transport/heartbeat.js';
import { handleRequest, type RouteContext } from './routes.js';

export interface ServerOptions extends ConfigOverrides {
  /** Handles client messages; its result becomes `ok.data`. Throw NackError to refuse. */
  onMessage?: MessageHandler;
  /** Checks `hello.token`; false closes the connection with 4500. */
  authenticate?: (token: string | undefined) => boolean | Promise<boolean>;
  /** A store to use instead of the one named by `store` (tests, custom backends). */
  storeInstance?: Store;
  /** Time source (tests inject a manual clock). */
  clock?: Clock;
  /** Extra HTTP routes served after the built-in ones (the demo page). */
  extraRoutes?: RouteContext['extra'];
  /** A JSON config file read under these options (options win over the file). */
  file?: string;
  /** Already-resolved configuration (the CLI); other config options are then ignored. */
  config?: ResolvedConfig;
}

export interface ListenInfo {
  host: string;
  port: number;
  /** `ws://host:port/ws` */
  url: string;
  /** `http://host:port` */
  httpUrl: string;
}

export class RwsServer extends Emitter<CoreEvents> {
  readonly config: ResolvedConfig;
  readonly store: Store;
  readonly dlq: DeadLetterQueue;
  readonly hub: Hub;
  readonly http: HttpServer;
  private readonly endpoint: WsEndpoint;
  private readonly clock: Clock;
  private timers: TimerHandle[] = [];
  private draining = false;
  private closed: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    super();
    const {
      onMessage,
      authenticate,
      storeInstance,
      clock,
      extraRoutes,
      config,
      file,
      ...overrides
    } = options;
    this.config = config ?? resolveConfig({ env: {}, argv: [], overrides, file }).config;
    const c = this.config;
    this.clock = clock ?? systemClock;
    const limits: OutboxLimits = {
      maxMessages: c.outboxMax,
      maxBytes: c.outboxMaxBytes,
      overflow: c.overflow,
      messageTtlMs: c.messageTtl,
      dedupWindowMs: c.dedupWindow,
      dedupMaxIds: c.dedupMaxIds,
      dedupResultBudget: c.dedupResultBudget,
    };
    this.store = storeInstance ?? new MemoryStore({ limits });
    this.dlq = new DeadLetterQueue(c.dlqMax);
    const outbox = new Outbox(this.store, limits, this.dlq, this, this.clock);
    this.hub = new Hub(outbox, this.clock, this, {
      sessionTtlMs: c.sessionTtl,
      heartbeatIntervalMs: c.heartbeatInterval,
      maxBadFrames: c.maxBadFrames,
      maxMessageBytes: Math.min(c.outboxMaxBytes, c.maxFrame),
      writer: {
        highWaterMark: c.highWaterMark,
        maxBatchFrames: 64,
        maxBatchChars: 256 * 1024,
        maxBuffered: 2 * c.highWaterMark + c.maxFrame,
      },
      ...(authenticate === undefined ? {} : { authenticate }),
      ...(onMessage === undefined ? {} : { handler: onMessage }),
    });
    this.endpoint = new WsEndpoint(this.hub, {
      maxFrameBytes: c.maxFrame,
      maxConnections: c.maxConnections,
      isDraining: () => this.draining,
    });
    const ctx: RouteContext = {
      hub: this.hub,
      adminToken: c.adminToken,
      maxBodyBytes: c.maxFrame,
      isDraining: () => this.draining,
      storeReady: () => this.store.ping(),
      ...(extraRoutes === undefined ? {} : { extra: extraRoutes }),
    };
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
    this.hub.clientMessages.handler = handler;
  }

  /** Start serving on the configured host and port (0: any free port). */
  async listen(): Promise<ListenInfo> {
    if (this.closed !== undefined) throw new RwsError('server_closed', 'the server was closed');
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const c = this.config;
    this.timers.push(
      startHeartbeat(this.hub, this.clock, {
        intervalMs: c.heartbeatInterval,
        timeoutMs: c.heartbeatTimeout,
        helloTimeoutMs: c.helloTimeout,
      }),
      startSweeper(this.hub, this.clock, c.sweepInterval),
    );
    return this.address();
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

  /** Send to every live session; resolves with how many were reached. */
  broadcast(data: unknown, options?: Omit<SendOptions, 'id'>): Promise<number> {
    return this.hub.broadcast(data, options);
  }

  /**
   * Stop accepting, close every client with 1001 (retryable: they resume here or elsewhere),
   * wait for the connections to end (at most ~2 s, then they are dropped), release the port
   * and close the store. With the memory store the sessions end with the process; a shared
   * store (Redis) keeps them for their TTL.
   */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.draining = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.endpoint.close();
    // Sessions detach as their connections close; the store must outlive that.
    await this.hub.closeAll(CloseCode.GoingAway, 'server going away');
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.store.close();
  }
}

/** Create a server; call `listen()` to serve. */
export function createServer(options: ServerOptions = {}): RwsServer {
  return new RwsServer(options);
}
