/**
 * The server's parts, built from its options (src/server/server.ts holds them and runs their
 * lifecycle): the configuration, the breakers, the store (memory, Redis, or the one passed
 * in), the dead letters, the bus, the upstream, the outbox and hub, the WebSocket endpoint,
 * the metrics, the event log and the HTTP server with its routes. This is the only code that
 * picks implementations.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { authenticatorFromConfig } from '../auth/configured.js';
import { systemClock, type Clock } from '../clock.js';
import { resolveConfig, type ResolvedConfig } from '../config/index.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import { MemoryDeadLetterStore } from '../outbox/dead-letters.js';
import { Outbox } from '../outbox/outbox.js';
import { BreakerRegistry } from '../resilience/breaker-registry.js';
import { Hub } from '../session/hub.js';
import { MemoryStore } from '../store/memory-store.js';
import type { SessionBus } from '../store/session-bus.js';
import type { Store } from '../store/store.js';
import { WsEndpoint } from '../transport/endpoint.js';
import type { Upstream } from '../upstream/upstream.js';
import type { NodeView } from './admin-context.js';
import { EventLog } from './event-log.js';
import { createObservability, type Observability } from './observability.js';
import { createRedisParts, isRedisStore, redisStoreInfo, type RedisParts } from './redis-mode.js';
import { handleRequest } from './routes.js';
import type { ServerOptions } from './server-options.js';
import {
  breakerDefaults,
  createUpstream,
  hubSettings,
  outboxLimits,
  routeContext,
} from './server-parts.js';
import type { StatsStream } from './stats-stream.js';

/** What the parts ask of the server that holds them (called after construction). */
export interface WiringHost {
  /** The server: the core events go through it. */
  events: Emitter<CoreEvents>;
  /** Whether the server is shutting down (refuse upgrades, /readyz 503). */
  isDraining(): boolean;
  /** The content hash of `dedup: 'content'` (throws until the hasher is loaded). */
  contentHash(json: string): string;
  /** Every node of the deployment for the admin API. */
  nodeViews(): Promise<NodeView[]>;
  /** Stored sends accepted by this node since start. */
  sentTotals(): { messages: number; bytes: number };
}

export interface ServerParts {
  config: ResolvedConfig;
  clock: Clock;
  node: string;
  breakers: BreakerRegistry;
  /** The Redis parts, when `store` is a Redis URL. */
  redis: RedisParts | undefined;
  store: Store;
  ownsStore: boolean;
  bus: SessionBus | undefined;
  positionCheckIntervalMs: number;
  dlq: DeadLetterStore;
  upstream: Upstream | undefined;
  hub: Hub;
  endpoint: WsEndpoint;
  observability: Observability | undefined;
  eventLog: EventLog;
  statsStream: StatsStream | undefined;
  http: HttpServer;
}

export function wireServer(options: ServerOptions, host: WiringHost): ServerParts {
  const {
    onMessage,
    authenticate,
    storeInstance,
    bus: busOption,
    node: nodeOption,
    positionCheckIntervalMs,
    deadLetterInstance,
    clock: clockOption,
    extraRoutes,
    config: configOption,
    file,
    ...overrides
  } = options;
  const events = host.events;
  const config = configOption ?? resolveConfig({ env: {}, argv: [], overrides, file }).config;
  const c = config;
  const clock = clockOption ?? systemClock;
  const limits = outboxLimits(c);
  const node =
    nodeOption ?? (c.node === '' ? `node-${randomBytes(6).toString('base64url')}` : c.node);
  // Production breakers keep their own per-turn cached clock; a test clock is used as given.
  const breakers = new BreakerRegistry(breakerDefaults(c, clockOption));
  breakers.on('stateChange', (e) =>
    events.emit('breaker', { name: e.name, from: e.from, to: e.to, reason: e.reason }),
  );
  // A Redis URL in `store` (and no store passed in): the store, the dead letters and the
  // node list live in Redis (docs/scaling.md).
  const redis =
    storeInstance === undefined && isRedisStore(c)
      ? createRedisParts(c, limits, node, breakers.get('store'), (where, error) =>
          events.emit('error', { where: `redis-bus:${where}`, error }),
        )
      : undefined;
  const store = storeInstance ?? redis?.store ?? new MemoryStore({ limits });
  const bus = busOption ?? redis?.bus;
  const dlq =
    deadLetterInstance ?? redis?.dlq ?? new MemoryDeadLetterStore(c.dlqMax, c.dlqMaxBytes);
  const upstream = createUpstream(c, breakers, events, clock);
  const handler = upstream?.handler ?? onMessage;
  const outbox = new Outbox(store, limits, dlq, events, clock);
  // The option wins; else the `tokens` / `jwt*` settings (src/auth/), if any are set.
  const auth = authenticate ?? authenticatorFromConfig(c);
  const hub = new Hub(outbox, clock, events, {
    ...hubSettings(c),
    ...(auth === undefined ? {} : { authenticate: auth }),
    ...(handler === undefined ? {} : { handler }),
    ...(bus === undefined ? {} : { bus }),
    node,
    contentHash: (json: string) => host.contentHash(json),
  });
  const endpoint = new WsEndpoint(hub, {
    maxFrameBytes: c.maxFrame,
    highWaterMark: c.highWaterMark,
    maxConnections: c.maxConnections,
    maxConnectionsPerIp: c.maxConnectionsPerIp,
    trustProxyHops: c.trustProxyHops,
    allowedOrigins: c.allowedOrigins,
    isDraining: () => host.isDraining(),
    onRefused: (reason) => events.emit('connectionRefused', { reason }),
  });
  const observability = c.metrics
    ? createObservability({
        enabled: true,
        maxLabelSets: c.metricsMaxLabelSets,
        events,
        connections: () => hub.connectionCount,
        attachedSessions: () => hub.attachedCount,
        storeStats: () => store.stats(),
        dlqStats: () => dlq.stats(),
        breakers: () => breakers.list().map((b) => ({ name: b.name, state: b.state })),
        sent: () => ({ messages: outbox.totals.sent, bytes: outbox.totals.sentBytes }),
        clock,
      })
    : undefined;
  const eventLog = new EventLog(events, clock);
  const ctx = routeContext(c, {
    hub,
    store,
    dlq,
    breakers,
    clock,
    observability,
    isDraining: () => host.isDraining(),
    onError: (where, error) => events.emit('error', { where, error }),
    extra: extraRoutes,
    node,
    nodes: () => host.nodeViews(),
    sent: () => host.sentTotals(),
    events: eventLog,
    storeInfo: redis === undefined ? undefined : () => redisStoreInfo(redis),
  });
  const http = createHttpServer((req, res) => {
    void handleRequest(ctx, req, res);
  });
  endpoint.attach(http);
  return {
    config,
    clock,
    node,
    breakers,
    redis,
    store,
    ownsStore: storeInstance === undefined,
    bus,
    positionCheckIntervalMs: positionCheckIntervalMs ?? 5000,
    dlq,
    upstream,
    hub,
    endpoint,
    observability,
    eventLog,
    statsStream: ctx.admin.statsStream,
    http,
  };
}
