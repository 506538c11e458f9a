/** What `RedisStore` takes (src/store/redis/redis-store.ts), and what it tells or asks. */
import type { Redis } from 'ioredis';
import type { OutboxLimits } from '../limits.js';

export interface RedisStoreOptions {
  limits: OutboxLimits;
  /** A connection to use (the caller closes it), or `url` to open one. */
  redis?: Redis;
  /** `redis://host:port/db`, when no `redis` is given. */
  url?: string;
  /** Key prefix (default `rws`): several deployments can share one Redis. */
  prefix?: string;
  /** Partitions (hash tags) the sessions are spread over (default 64, 1..4096). */
  partitions?: number;
  /** Restarts of this Redis lose nothing acknowledged (AOF `always`, no async failover). */
  durable?: boolean;
  /** Milliseconds before a command without a reply fails (default 2000). */
  commandTimeoutMs?: number;
  /**
   * Whether to refuse a Redis whose `maxmemory-policy` may evict keys (default true). An
   * evicted key loses half a session silently; with `noeviction` a full Redis fails writes,
   * which the store reports.
   */
  checkEviction?: boolean;
  /**
   * The `store` circuit breaker: every call asks it first and reports to it (an outage or a
   * timeout is a failure; any answer from Redis is a success). While it is open, calls fail
   * at once with `store_unavailable` and Redis gets no load.
   */
  breaker?: StoreBreaker;
}

/** A restart of Redis seen by the store: the generation before and after. */
export interface RedisRestart {
  generation: number;
  previous: number;
}

/** What the store needs of a circuit breaker (src/resilience/circuit-breaker.ts). */
export interface StoreBreaker {
  tryAcquire(): boolean;
  onSuccess(durationMs: number): void;
  onFailure(durationMs: number): void;
}
