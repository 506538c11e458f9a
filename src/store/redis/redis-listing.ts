/**
 * The Redis store's reads across partitions (src/store/redis/redis-store.ts): the session id
 * pages, the stats, the top-N ranking and the due sessions of a sweep. Each asks every
 * partition's indexes (PARTITION_KEYS in redis-scripts.ts) in one round trip of commands
 * issued one by one (StoreConnection.exec), so they keep call order with the session scripts.
 */
import { RwsError } from '../../errors.js';
import type { SessionSort, StoreStats } from '../store.js';
import type { RedisKeys } from './redis-keys.js';
import type { StoreConnection } from './redis-store-connection.js';

/** Partitions one round trip of `sessionIdPages` asks at once. */
const ID_PAGE_PARTITIONS = 8;

/** Due sessions a sweep takes from each partition at a time. */
const SWEEP_BATCH = 512;

/** `Store.sessionIdPages` over every partition's `all` index. */
export async function* sessionIdPages(
  conn: StoreConnection,
  keys: RedisKeys,
  pageSize: number,
): AsyncGenerator<string[]> {
  conn.assertOpen();
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new RwsError('bad_page_size', `a page size is an integer >= 1, got ${pageSize}`);
  const partitions = keys.partitions;
  // A cursor over the partitions in order, and within one an exclusive lexicographic
  // cursor over its sids ('-': from its start), which a deletion never shifts. Each page
  // asks a batch of partitions at once (one round trip) for the ids it still needs.
  let part = 0;
  let cursor = '-';
  for (;;) {
    const page: string[] = [];
    while (page.length < pageSize && part < partitions) {
      conn.assertOpen();
      conn.assertReady();
      const want = pageSize - page.length;
      const pipe: Promise<unknown>[] = [];
      const first = part;
      const end = Math.min(partitions, part + ID_PAGE_PARTITIONS);
      for (let p = first; p < end; p++)
        pipe.push(
          conn.redis.zrangebylex(
            `${keys.part(p)}:all`,
            p === first ? cursor : '-',
            '+',
            'LIMIT',
            0,
            want,
          ),
        );
      const replies = await conn.exec(pipe);
      for (let p = first; p < end; p++) {
        const room = pageSize - page.length;
        if (room === 0) break;
        const ids = replies[p - first] as string[];
        const take = ids.length > room ? ids.slice(0, room) : ids;
        page.push(...take);
        if (take.length < ids.length || ids.length === want) {
          // The page is full and this partition may hold more: continue after the last.
          part = p;
          cursor = `(${take[take.length - 1]!}`;
          break;
        }
        part = p + 1;
        cursor = '-';
      }
    }
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
  }
}

/** The sessions whose next deadline is `now` or earlier (at most SWEEP_BATCH a partition). */
export async function dueSessions(
  conn: StoreConnection,
  keys: RedisKeys,
  now: number,
): Promise<string[]> {
  const pipe: Promise<unknown>[] = [];
  for (let p = 0; p < keys.partitions; p++)
    pipe.push(
      conn.redis.zrangebyscore(`${keys.part(p)}:due`, '-inf', now, 'LIMIT', 0, SWEEP_BATCH),
    );
  return (await conn.exec(pipe)).flatMap((ids) => ids as string[]);
}

/** `Store.stats` from every partition's counters and `age` index. */
export async function partitionStats(conn: StoreConnection, keys: RedisKeys): Promise<StoreStats> {
  const pipe: Promise<unknown>[] = [];
  for (let p = 0; p < keys.partitions; p++) {
    const base = keys.part(p);
    pipe.push(conn.redis.zcard(`${base}:all`));
    pipe.push(conn.redis.hmget(`${base}:st`, 'attached', 'messages', 'bytes'));
    pipe.push(conn.redis.zrange(`${base}:age`, 0, 0, 'WITHSCORES'));
  }
  const replies = await conn.exec(pipe);
  const stats: StoreStats = { sessions: 0, attached: 0, detached: 0, messages: 0, bytes: 0 };
  let oldest = Infinity;
  for (let i = 0; i < replies.length; i += 3) {
    stats.sessions += Number(replies[i]);
    const [attached, messages, bytes] = replies[i + 1] as (string | null)[];
    stats.attached += Number(attached ?? 0);
    stats.messages += Number(messages ?? 0);
    stats.bytes += Number(bytes ?? 0);
    const age = replies[i + 2] as string[];
    if (age.length === 2) oldest = Math.min(oldest, Number(age[1]));
  }
  stats.detached = stats.sessions - stats.attached;
  if (oldest !== Infinity && stats.messages > 0) stats.oldestAt = oldest;
  return stats;
}

/** The ids of the `limit` (>= 1) top sessions by `sort`, best first, from every partition. */
export async function topSessionIds(
  conn: StoreConnection,
  keys: RedisKeys,
  limit: number,
  sort: SessionSort,
): Promise<string[]> {
  const pipe: Promise<unknown>[] = [];
  for (let p = 0; p < keys.partitions; p++) {
    const base = keys.part(p);
    if (sort === 'depth')
      pipe.push(conn.redis.zrevrange(`${base}:dep`, 0, limit - 1, 'WITHSCORES'));
    else pipe.push(conn.redis.zrange(`${base}:age`, 0, limit - 1, 'WITHSCORES'));
  }
  const ranked: { sid: string; score: number }[] = [];
  for (const reply of await conn.exec(pipe)) {
    const flat = reply as string[];
    for (let i = 0; i < flat.length; i += 2)
      ranked.push({ sid: flat[i]!, score: Number(flat[i + 1]) });
  }
  ranked.sort((a, b) => (sort === 'depth' ? b.score - a.score : a.score - b.score));
  return ranked.slice(0, limit).map((w) => w.sid);
}

/**
 * The `limit` oldest sessions of `user`: each partition keeps its share of the user's
 * sessions (`<part>:u:<user>`, sid -> createdAt), read in one pipelined round trip.
 */
export async function userSessionIds(
  conn: StoreConnection,
  keys: RedisKeys,
  user: string,
  limit: number,
): Promise<string[]> {
  const pipe: Promise<unknown>[] = [];
  for (let p = 0; p < keys.partitions; p++)
    pipe.push(conn.redis.zrange(`${keys.part(p)}:u:${user}`, 0, limit - 1, 'WITHSCORES'));
  const found: { sid: string; at: number }[] = [];
  for (const reply of await conn.exec(pipe)) {
    const flat = reply as string[];
    for (let i = 0; i < flat.length; i += 2) found.push({ sid: flat[i]!, at: Number(flat[i + 1]) });
  }
  found.sort((a, b) => a.at - b.at || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  return found.slice(0, limit).map((f) => f.sid);
}
