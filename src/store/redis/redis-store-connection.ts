/**
 * The Redis store's connection (src/store/redis/redis-store.ts): readiness, the loaded
 * scripts, Redis's generation, the `store` circuit breaker, and what a failure becomes.
 *
 * Failure handling: while Redis is away every call rejects at once with `store_unavailable`
 * (retryable); nothing is queued or re-sent (src/store/redis/redis-client.ts). When the
 * connection comes back the store checks Redis's identity (the generation, below) and is
 * ready again by itself.
 *
 * Generation: a Redis whose `run_id` changed (a restart, a failover) may hold data older than
 * what the nodes last wrote. The first node to see the new `run_id` bumps a generation kept
 * in Redis; every session record carries the generation of its last write, and a session
 * touched under a newer one starts its stream over under a new epoch, so that its next resume
 * says `epoch_changed` instead of silently reusing seqs (SignalR/SignalR#3091). An empty
 * Redis has no records: resumes get `unknown_session`. `durable: true` (AOF `always`, no
 * async failover) declares restarts lossless and skips the bump.
 */
import type { Redis } from 'ioredis';
import { isRwsError, RwsError } from '../../errors.js';
import { createRedisClient } from './redis-client.js';
import { GENERATION, SESSION_SCRIPTS, type SessionScript } from './redis-scripts.js';
import type { RedisRestart, StoreBreaker } from './redis-store-options.js';

/** The connection settings of `RedisStoreOptions`, resolved by the store. */
export interface StoreConnectionOptions {
  /** A connection to use (the caller closes it), or `url` to open one. */
  redis: Redis | undefined;
  url: string | undefined;
  commandTimeoutMs: number;
  connectionName: string;
  /** The HASH of the generation check (`<prefix>:<global tag>:gen`). */
  generationKey: string;
  durable: boolean;
  checkEviction: boolean;
  breaker: StoreBreaker | undefined;
}

/** Policies that never evict keys (volatile-* evict only keys with a TTL: ours have none). */
const SAFE_POLICIES = new Set([
  'noeviction',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
]);

export class StoreConnection {
  readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly generationKey: string;
  private readonly durable: boolean;
  private readonly checkEviction: boolean;
  private readonly breaker: StoreBreaker | undefined;
  private readonly shas = new Map<string, string>();
  private generation = 0;
  private ready = false;
  private closed = false;
  private initializing: Promise<void> | undefined;
  /** Why the store cannot serve (an eviction policy that would lose data), if it cannot. */
  private fatal: RwsError | undefined;
  private readonly restartListeners: ((e: RedisRestart) => void)[] = [];
  /** The `run_id` of the Redis this store last initialized against. */
  private runId: string | undefined;

  constructor(options: StoreConnectionOptions) {
    this.generationKey = options.generationKey;
    this.durable = options.durable;
    this.checkEviction = options.checkEviction;
    this.breaker = options.breaker;
    if (options.redis !== undefined) {
      this.redis = options.redis;
      this.ownsConnection = false;
    } else {
      if (options.url === undefined)
        throw new RwsError('bad_options', 'a Redis store needs `redis` or `url`');
      this.redis = createRedisClient(options.url, {
        commandTimeoutMs: options.commandTimeoutMs,
        connectionName: options.connectionName,
        autoPipelining: true,
      });
      this.ownsConnection = true;
    }
    this.redis.on('ready', () => void this.initialize());
    this.redis.on('close', () => {
      this.ready = false;
    });
    // Errors are reported by the calls that fail; an unhandled 'error' event would throw.
    this.redis.on('error', () => {});
    if (this.redis.status === 'ready') void this.initialize();
  }

  /** The generation this store last read from Redis (0 before the first connection). */
  get currentGeneration(): number {
    return this.generation;
  }

  /** Whether the store can serve calls now (connected, scripts loaded, generation known). */
  get isReady(): boolean {
    return this.ready;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** See `RedisStore.onRestart`. */
  onRestart(listener: (e: RedisRestart) => void): void {
    this.restartListeners.push(listener);
  }

  /** See `RedisStore.waitReady`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertOpen();
      if (this.fatal !== undefined) throw this.fatal;
      if (this.ready) return;
      if (this.initializing !== undefined) await this.initializing.catch(() => undefined);
      if (this.ready) return;
      this.assertUsable();
      if (Date.now() >= deadline)
        throw new RwsError('store_unavailable', `Redis is not ready (${this.redis.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private initialize(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.checkEviction) {
        const policy = await this.configGet('maxmemory-policy');
        if (policy !== undefined && !SAFE_POLICIES.has(policy)) {
          this.fatal = new RwsError(
            'store_unavailable',
            `Redis maxmemory-policy is ${policy}: it may evict session keys and lose messages silently. Set it to noeviction (CONFIG SET maxmemory-policy noeviction), or pass checkEviction: false if you accept that.`,
          );
          return;
        }
      }
      for (const [name, lua] of Object.entries(SESSION_SCRIPTS)) {
        const sha = (await this.redis.script('LOAD', lua)) as string;
        this.shas.set(name, sha);
      }
      this.shas.set('generation', (await this.redis.script('LOAD', GENERATION)) as string);
      const info = await this.redis.info('server');
      const runId = /run_id:(\w+)/.exec(info)?.[1] ?? 'unknown';
      const generation = Number(
        await this.redis.evalsha(
          this.shas.get('generation')!,
          1,
          this.generationKey,
          runId,
          this.durable ? '1' : '0',
        ),
      );
      const previous = this.generation;
      const restarted = this.runId !== undefined && this.runId !== runId;
      this.generation = generation;
      this.runId = runId;
      this.ready = true;
      if (restarted) for (const l of this.restartListeners) l({ generation, previous });
    };
    const p = run().catch(() => {
      // Not ready: the next 'ready' event (after a reconnect) tries again, and so does a
      // timer while the connection stays up (a timed-out SCRIPT LOAD brings no new 'ready').
      if (this.closed || this.redis.status !== 'ready') return;
      setTimeout(() => {
        if (!this.closed && !this.ready && this.redis.status === 'ready') void this.initialize();
      }, 250).unref();
    });
    this.initializing = p;
    return p;
  }

  private async configGet(name: string): Promise<string | undefined> {
    try {
      const r = await this.redis.config('GET', name);
      return r[1];
    } catch {
      // CONFIG is barred on some managed Redis: nothing to check there.
      return undefined;
    }
  }

  /** The SHA under which session script `name` was loaded. */
  sha(name: SessionScript): string {
    return this.shas.get(name)!;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    if (this.fatal !== undefined) throw this.fatal;
    this.assertReady();
    await this.guarded(() => this.redis.ping());
  }

  /** Stops every call (`store_closed`) and quits the connection if the store opened it. */
  async close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    if (this.ownsConnection) {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  assertOpen(): void {
    if (this.closed) throw new RwsError('store_closed', 'the store is closed');
  }

  /** Throws the reason this Redis cannot be used (an eviction policy), if there is one. */
  private assertUsable(): void {
    if (this.fatal !== undefined) throw this.fatal;
  }

  assertReady(): void {
    this.assertUsable();
    if (!this.ready)
      throw new RwsError('store_unavailable', `Redis is not reachable (${this.redis.status})`);
  }

  /**
   * `call` behind the breaker: refused at once while it is open; an outage (the retryable
   * `store_unavailable`) counts as a failure, any answer as a success.
   */
  guarded<T>(call: () => Promise<T>): Promise<T> {
    const b = this.breaker;
    if (b === undefined) return this.guard(call());
    if (!b.tryAcquire())
      return Promise.reject(
        new RwsError('store_unavailable', 'the store circuit breaker is open (Redis failing)'),
      );
    const started = performance.now();
    return this.guard(call()).then(
      (value) => {
        b.onSuccess(performance.now() - started);
        return value;
      },
      (error: unknown) => {
        const elapsed = performance.now() - started;
        if (isRwsError(error) && error.code === 'store_unavailable') b.onFailure(elapsed);
        else b.onSuccess(elapsed);
        throw error;
      },
    );
  }

  /** Connection failures become the retryable `store_unavailable`; a closed store says so. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (error) {
      if (this.closed) throw new RwsError('store_closed', 'the store is closed');
      const message = error instanceof Error ? error.message : String(error);
      if (message.startsWith('NOSCRIPT')) {
        // Scripts were flushed under us: load them again; this call is not re-sent.
        this.ready = false;
        void this.initialize();
      }
      if (isRedisReplyError(error) && !message.startsWith('NOSCRIPT') && !isOutage(message))
        throw error;
      throw new RwsError('store_unavailable', `Redis: ${message}`);
    }
  }

  /**
   * Replies of commands issued one by one on the connection, not as a `pipeline()`: an
   * explicit pipeline is written at once, ahead of the auto-pipelined commands of calls
   * made before it, which broke call order (a `stats` right after an `append` missed it).
   */
  async exec(pipe: Promise<unknown>[]): Promise<unknown[]> {
    return this.guard(Promise.all(pipe));
  }
}

function isRedisReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** Reply errors that mean "Redis cannot serve now", not "this call is wrong". */
function isOutage(message: string): boolean {
  return /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN)/.test(message);
}
