/**
 * The ioredis connections of a Redis-backed node: one command connection (every Store call
 * of this node goes through it, in call order) and one subscriber connection for the bus.
 *
 * Settings that the guarantees rest on (docs/scaling.md, "Failure handling"):
 * - `enableOfflineQueue: false` and `maxRetriesPerRequest: 0`: while Redis is away a command
 *   fails at once (the caller gets a retryable `store_unavailable`) instead of waiting in a
 *   queue that would be written later, out of order with what the caller did meanwhile.
 * - `autoResendUnfulfilledCommands: false`: a command that was in flight when the connection
 *   dropped is never sent again. An append sent twice would be stored twice under two seqs;
 *   its caller gets an error instead and retries with an idempotency id.
 * - `commandTimeout`: nothing hangs (a command whose reply never comes rejects).
 * - RESP2 (`protocol: 2`): the Lua scripts' replies have one shape whatever the server.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisClientOptions {
  /** Milliseconds before a command without a reply rejects (default 2000). */
  commandTimeoutMs?: number;
  /** The connection's name in `CLIENT LIST` (e.g. `rws:node-a:cmd`). */
  connectionName?: string;
  /** Join the commands of one event-loop turn into one write (the command connection). */
  autoPipelining?: boolean;
}

/** Reconnect delay after the n-th failed attempt: 50 ms doubling, at most 1 s. */
export const reconnectDelayMs = (attempt: number): number =>
  Math.min(1000, 50 * 2 ** Math.min(attempt, 5));

export function redisOptions(options: RedisClientOptions = {}): Omit<RedisOptions, 'replyMapping'> {
  return {
    protocol: 2,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    enableAutoPipelining: options.autoPipelining ?? false,
    retryStrategy: reconnectDelayMs,
    // A READONLY error (a replica promoted away) reconnects to find the new master.
    reconnectOnError: (e) => e.message.startsWith('READONLY'),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  };
}

/** A connection to `url` (`redis://host:port/db`) with the settings above. */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  return new Redis(url, redisOptions(options));
}
