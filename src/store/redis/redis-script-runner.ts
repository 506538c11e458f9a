/**
 * How the Redis store calls a session script (src/store/redis/redis-scripts.ts): the KEYS of
 * the session and its partition, the shared ARGV (sid, now, generation, a fresh epoch, the
 * TTL and the count bound), then the script's own arguments, behind the store's breaker.
 */
import { randomBytes } from 'node:crypto';
import type { OutboxLimits } from '../limits.js';
import type { RedisKeys } from './redis-keys.js';
import type { Reply } from './redis-replies.js';
import { PARTITION_KEYS, SESSION_KEYS, type SessionScript } from './redis-scripts.js';
import type { StoreConnection } from './redis-store-connection.js';

export class ScriptRunner {
  private readonly epochPrefix = randomBytes(6).toString('hex');
  private epochCounter = 0;

  /**
   * `beforeCall(sid)` runs before every script call that does not say otherwise: it sends the
   * session's waiting appends, so that they take effect before the call.
   */
  constructor(
    private readonly conn: StoreConnection,
    private readonly keys: RedisKeys,
    private readonly limits: OutboxLimits,
    private readonly beforeCall: (sid: string) => void,
  ) {}

  /** A fresh epoch for a script that may need one: unique per store and call, no syscall. */
  private nextEpoch(): string {
    return `${this.epochPrefix}${(this.epochCounter++).toString(36)}`;
  }

  /** KEYS of a session script: the session's keys, then its partition's indexes. */
  private sessionKeys(sid: string): string[] {
    const base = this.keys.partOf(sid);
    const keys: string[] = [];
    for (const k of SESSION_KEYS) keys.push(`${base}:${k}:${sid}`);
    for (const k of PARTITION_KEYS) keys.push(`${base}:${k}`);
    return keys;
  }

  /**
   * Run a session script. The command is handed to the connection before this returns (no
   * await before it), which keeps one session's calls in call order.
   */
  runRaw(
    name: SessionScript,
    sid: string,
    now: number,
    args: (string | number)[],
    flush = true,
  ): Promise<unknown> {
    try {
      const conn = this.conn;
      conn.assertOpen();
      conn.assertReady();
      if (flush) this.beforeCall(sid);
      const keys = this.sessionKeys(sid);
      const l = this.limits;
      return conn.guarded(() =>
        conn.redis.evalsha(
          conn.sha(name),
          keys.length,
          ...keys,
          sid,
          // Whole milliseconds: the scripts parse times as integers ("<t>:<seq>", "<t>|d"),
          // and Lua's tostring of a fraction failed the script, half-applying a batch.
          Math.floor(now),
          conn.currentGeneration,
          this.nextEpoch(),
          l.messageTtlMs,
          l.maxMessages,
          ...args,
        ),
      );
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async run(
    name: SessionScript,
    sid: string,
    now: number,
    args: (string | number)[],
  ): Promise<Reply> {
    return (await this.runRaw(name, sid, now, args)) as Reply;
  }
}
