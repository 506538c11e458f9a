/**
 * What a server runs on when `store` is a Redis URL (docs/scaling.md): the Redis store, the
 * shared dead-letter stream, the node list (heartbeats, dead-node cleanup) and the Redis
 * bus. One command connection carries every store, dead-letter and
 * heartbeat command of this node, in call order; the bus has its own subscriber connection.
 */
import type { Redis } from 'ioredis';
import type { ResolvedConfig } from '../config/index.js';
import { RedisDeadLetterStore } from '../outbox/redis-dead-letters.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { OutboxLimits } from '../store/limits.js';
import { RedisBus } from '../store/redis/redis-bus.js';
import { createRedisClient } from '../store/redis/redis-client.js';
import { RedisNodes } from '../store/redis/redis-nodes.js';
import { RedisStore } from '../store/redis/redis-store.js';

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
