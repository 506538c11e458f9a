/**
 * From the resolved configuration to the settings of the parts the server composes: the
 * outbox limits, the hub's settings, the breakers' defaults and the gateway upstream. Every
 * default lives in the configuration schema (src/config/schema.ts); these are mappings only.
 */
import type { Clock } from '../clock.js';
import type { NodeView } from './admin-context.js';
import type { ResolvedConfig } from '../config/index.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { BreakerOptions } from '../resilience/circuit-breaker.js';
import type { Hub, HubOptions } from '../session/hub.js';
import type { OutboxLimits } from '../store/store.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import type { Store } from '../store/store.js';
import { Upstream } from '../upstream/upstream.js';
import { stats } from './admin-routes.js';
import type { AdminContext } from './admin-context.js';
import type { EventLog } from './event-log.js';
import type { Observability } from './observability.js';
import type { RouteContext } from './routes.js';
import { StatsStream } from './stats-stream.js';

export function outboxLimits(c: ResolvedConfig): OutboxLimits {
  return {
    maxMessages: c.outboxMax,
    maxBytes: c.outboxMaxBytes,
    overflow: c.overflow,
    messageTtlMs: c.messageTtl,
    dedupWindowMs: c.dedupWindow,
    dedupMaxIds: c.dedupMaxIds,
    dedupResultBudget: c.dedupResultBudget,
  };
}

/** The hub's settings that come from the configuration (the rest are the server's parts). */
export function hubSettings(
  c: ResolvedConfig,
): Omit<HubOptions, 'authenticate' | 'handler' | 'contentHash' | 'node' | 'bus'> {
  return {
    sessionTtlMs: c.sessionTtl,
    heartbeatIntervalMs: c.heartbeatInterval,
    maxBadFrames: c.maxBadFrames,
    // One message must fit both the outbox's byte bound and one WebSocket frame.
    maxMessageBytes: Math.min(c.outboxMaxBytes, c.maxFrame),
    maxQueuedClientMessages: c.maxPendingClientMessages,
    maxSessionsPerUser: c.maxSessionsPerUser,
    clientLimits: {
      rate: c.clientRate,
      burst: c.clientBurst,
      maxWaitMs: c.clientRateMaxWait,
      maxDepth: c.maxJsonDepth,
    },
    writer: {
      highWaterMark: c.highWaterMark,
      maxBatchFrames: 64,
      maxBatchChars: 256 * 1024,
      // Stored messages stop at the mark; replies and pongs may add up to one frame more
      // than twice the mark before the peer is a slow consumer (docs/operations.md).
      maxBuffered: 2 * c.highWaterMark + c.maxFrame,
    },
  };
}

/** Breaker settings from the configuration (the `breaker*` settings, docs/configuration.md),
 *  shared by every breaker. Without a test clock each breaker keeps its own per-turn cache. */
export function breakerDefaults(c: ResolvedConfig, clock: Clock | undefined): BreakerOptions {
  return {
    failureThreshold: c.breakerFailureThreshold,
    failureRate: c.breakerFailureRate,
    minCalls: c.breakerMinCalls,
    window: { kind: 'time', ms: c.breakerWindow },
    slowCallMs: c.breakerSlowCallThreshold,
    slowCallRate: c.breakerSlowCallRate,
    openMs: c.breakerOpenDuration,
    halfOpenProbes: c.breakerHalfOpenProbes,
    successThreshold: c.breakerSuccessThreshold,
    ...(clock === undefined ? {} : { clock }),
  };
}

/** The gateway upstream (`upstreamUrl`), behind the `upstream` breaker; none without a URL. */
export function createUpstream(
  c: ResolvedConfig,
  breakers: BreakerRegistry,
  events: Emitter<CoreEvents>,
  clock: Clock,
): Upstream | undefined {
  if (c.upstreamUrl === '') return undefined;
  return new Upstream({
    url: c.upstreamUrl,
    timeoutMs: c.upstreamTimeout,
    retries: c.upstreamRetries,
    backoff: { baseMs: c.upstreamBackoffBase, capMs: c.upstreamBackoffCap },
    maxInFlight: c.upstreamMaxInFlight,
    maxResponseBytes: c.maxFrame,
    breaker: breakers.get('upstream'),
    events,
    clock,
  });
}

/** What the HTTP routes work with: the server's parts and the settings they read. */
export function routeContext(
  c: ResolvedConfig,
  parts: {
    hub: Hub;
    store: Store;
    dlq: DeadLetterStore;
    breakers: BreakerRegistry;
    clock: Clock;
    observability: Observability | undefined;
    isDraining: () => boolean;
    onError: (where: string, error: unknown) => void;
    extra: RouteContext['extra'] | undefined;
    node: string;
    nodes: () => Promise<NodeView[]>;
    storeInfo: (() => Record<string, unknown>) | undefined;
    /** Stored sends accepted by this node (the stats stream's rates). */
    sent: () => { messages: number; bytes: number };
    /** The notable core events (GET /api/events, the stats stream's `events`). */
    events: EventLog;
  },
): RouteContext {
  const obs = parts.observability;
  const admin: AdminContext = {
    node: parts.node,
    nodes: parts.nodes,
    ...(parts.storeInfo === undefined ? {} : { storeInfo: parts.storeInfo }),
    hub: parts.hub,
    store: parts.store,
    dlq: parts.dlq,
    breakers: parts.breakers,
    clock: parts.clock,
    events: parts.events,
    startedAt: parts.clock.now(),
    maxBodyBytes: c.maxFrame,
    onError: parts.onError,
    ...(obs === undefined ? {} : { metricsStats: (read) => obs.stats(read) }),
  };
  admin.statsStream = new StatsStream({
    snapshot: () => stats(admin),
    sent: parts.sent,
    events: parts.events,
    clock: parts.clock,
    onError: parts.onError,
  });
  return {
    hub: parts.hub,
    admin,
    ...(obs === undefined ? {} : { serveMetrics: (req, res) => obs.serveMetrics(req, res) }),
    adminToken: c.adminToken,
    dashboard: c.dashboard,
    maxBodyBytes: c.maxFrame,
    isDraining: parts.isDraining,
    storeReady: () => parts.store.ping(),
    ...(parts.extra === undefined ? {} : { extra: parts.extra }),
  };
}
