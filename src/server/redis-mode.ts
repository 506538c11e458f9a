/**
 * What a server runs on when `store` is a Redis URL (docs/scaling.md): the Redis store, the
 * shared dead-letter stream, the node list (heartbeats, dead-node cleanup) and the Redis
 * bus. One command connection carries every store, dead-letter and
 * heartbeat command of this node, in call order; the bus has its own subscriber connection.
 * Also what the server does with them: start them after listen (and react to a Redis restart
 * or this node being declared dead), and the other nodes and the store's figures for the
 * admin API.
 */
import type { Redis } from 'ioredis';
import type { ResolvedConfig } from '../config/index.js';
import { RwsError } from '../errors.js';
import { RedisDeadLetterStore } from '../outbox/redis-dead-letters.js';
import { CloseCode } from '../protocol/index.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { Hub } from '../session/hub.js';
import type { OutboxLimits } from '../store/limits.js';
import { RedisBus } from '../store/redis/redis-bus.js';
import { createRedisClient } from '../store/redis/redis-client.js';
import { RedisNodes } from '../store/redis/redis-nodes.js';
import { RedisStore } from '../store/redis/redis-store.js';
import type { NodeView } from './admin-context.js';
import type { ListenInfo } from './server-options.js';

export interface RedisParts {
  readonly store: RedisStore;
  readonly dlq: RedisDeadLetterStore;
  readonly nodes: RedisNodes;
  readonly bus: RedisBus;
  readonly connection: Redis;
  close(): Promise<void>;
}

export function isRedisStore(c: ResolvedConfig): boolean {
  return c.store !== 'memory';
}

export function createRedisParts(
  c: ResolvedConfig,
  limits: OutboxLimits,
  node: string,
  breaker: CircuitBreaker,
  onError: (where: string, error: unknown) => void,
): RedisParts {
  const connection = createRedisClient(c.store, {
    commandTimeoutMs: c.storeTimeout,
    connectionName: `${c.redisPrefix}:${node}:cmd`,
    autoPipelining: true,
  });
  const store = new RedisStore({
    redis: connection,
    prefix: c.redisPrefix,
    limits,
    durable: c.redisDurable,
    breaker,
  });
  const dlq = new RedisDeadLetterStore({
    redis: connection,
    prefix: c.redisPrefix,
    max: c.dlqMax,
    maxBytes: c.dlqMaxBytes,
  });
  const nodes = new RedisNodes({
    redis: connection,
    keys: store.keys,
    node,
    info: { pid: process.pid, startedAt: new Date().toISOString() },
    sessionTtlMs: c.sessionTtl,
    messageTtlMs: limits.messageTtlMs,
    deadAfterMs: c.nodeTimeout,
    heartbeatMs: Math.max(50, Math.floor(c.nodeTimeout / 10)),
  });
  const bus = new RedisBus({
    publisher: connection,
    subscriber: createRedisClient(c.store, {
      commandTimeoutMs: c.storeTimeout,
      connectionName: `${c.redisPrefix}:${node}:sub`,
    }),
    prefix: c.redisPrefix,
    onError,
  });
  return {
    store,
    dlq,
    nodes,
    bus,
    connection,
    async close() {
      await nodes.stop();
      await bus.close();
      await store.close();
      await dlq.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/**
 * Redis mode after listen: the heartbeat, and the two events after which this node's
 * attachments in the store cannot be trusted: Redis's generation went up (it restarted or
 * failed over) or this node was declared dead (a long pause). Either way every connection
 * closes with 1012 (service restart; the SDK reconnects and resumes), so that clients
 * attach again and learn from their resume what survived (`epoch_changed`,
 * `unknown_session`). Neither while the server drains.
 */
export function startRedisMode(
  redis: RedisParts,
  server: {
    address: ListenInfo;
    hub: Hub;
    isDraining: () => boolean;
    /** Reports why every connection is being closed (the server's `error` event). */
    onError: (error: RwsError) => void;
  },
): void {
  const { address: a, hub } = server;
  const startedAt = new Date().toISOString();
  redis.nodes.setInfo(() => ({
    pid: process.pid,
    http: a.httpUrl,
    startedAt,
    connections: hub.connectionCount,
    attached: hub.attachedCount,
  }));
  redis.nodes.start();
  const reattach = (why: string) => {
    if (server.isDraining()) return;
    server.onError(new RwsError('store_unavailable', why));
    void hub.closeAll(CloseCode.ServiceRestart, why);
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

/** The other nodes of the deployment for the admin API, as of their last heartbeat. */
export async function otherNodeViews(redis: RedisParts, self: string): Promise<NodeView[]> {
  return (await redis.nodes.list())
    .filter((n) => n.node !== self)
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
}

/** The store's figures in the admin API's stats (`storeInfo`). */
export function redisStoreInfo(redis: RedisParts): Record<string, unknown> {
  return {
    kind: 'redis',
    ready: redis.store.isReady,
    generation: redis.store.currentGeneration,
    bus: redis.bus.stats(),
  };
}
