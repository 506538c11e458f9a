/** What `RedisDeadLetterStore` takes (src/outbox/redis-dead-letters.ts), and its checks. */
import type { Redis } from 'ioredis';
import { RwsError } from '../errors.js';
import { DEFAULT_DEAD_LETTER_MAX_BYTES } from './dead-letter-store.js';

/** Default life of a replay claim: a node that dies mid-replay pins the entry this long. */
export const DEFAULT_CLAIM_TTL_MS = 60_000;

export interface RedisDeadLetterStoreOptions {
  /** The connection to use (shared with the rest of the node): the store never closes it. */
  redis: Redis;
  /** The key prefix of this deployment (every node sharing it shares the dead letters). */
  prefix: string;
  /** The most entries kept (`dlqMax`); 0 keeps none (each add counts as evicted). */
  max: number;
  /**
   * The most bytes of data kept (`dlqMaxBytes`, default 64 MiB); an entry bigger than this by
   * itself is not kept (counted as evicted).
   */
  maxBytes?: number;
  /** How long a replay claim lives unless released (default 60 s). */
  claimTtlMs?: number;
}

/** The options with their defaults, checked: a bad bound throws `bad_options`. */
export function checkedOptions(
  options: RedisDeadLetterStoreOptions,
): Required<RedisDeadLetterStoreOptions> {
  const {
    redis,
    prefix,
    max,
    maxBytes = DEFAULT_DEAD_LETTER_MAX_BYTES,
    claimTtlMs = DEFAULT_CLAIM_TTL_MS,
  } = options;
  if (!Number.isSafeInteger(max) || max < 0)
    throw new RwsError('bad_options', `the dead-letter bound must be an integer >= 0, got ${max}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RwsError(
      'bad_options',
      `the dead-letter byte bound must be an integer >= 0, got ${maxBytes}`,
    );
  if (!Number.isSafeInteger(claimTtlMs) || claimTtlMs < 1)
    throw new RwsError(
      'bad_options',
      `the dead-letter claim TTL must be an integer >= 1 ms, got ${claimTtlMs}`,
    );
  return { redis, prefix, max, maxBytes, claimTtlMs };
}
