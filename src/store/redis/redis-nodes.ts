/**
 * The nodes of a Redis deployment: each node writes a heartbeat every `heartbeatMs`; a node
 * silent for `deadAfterMs` is dead, and the first live node to claim it (SET NX) detaches
 * every session still attached to it, fenced by owner, so that they expire after their
 * session TTL like any other detached session. Without this, sessions held by a SIGKILLed
 * node would stay attached, and a sweep never reaps an attached session. A client of the
 * dead node resumes anywhere at once; this only matters for clients that never come back.
 *
 * A node that finds itself declared dead (a pause longer than `deadAfterMs`: GC, a frozen
 * VM, a network partition from Redis) has lost its sessions' attachment in the store: it is
 * told (`onDeclaredDead`), and the server closes its connections so that clients resume and
 * attach again.
 */
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';

export interface NodeInfo {
  node: string;
  /** Last heartbeat, ms since epoch. */
  lastSeen: number;
  alive: boolean;
  /** What the node said about itself at start (its HTTP address, version, start time). */
  info: Record<string, unknown>;
}

export interface RedisNodesOptions {
  redis: Redis;
  keys: RedisKeys;
  node: string;
  /** Shown by `GET /api/nodes`. */
  info: Record<string, unknown>;
  /** The session TTL detached sessions of a dead node get. */
  sessionTtlMs: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  /** The clock of heartbeats and of the dead-node cutoff (default: Redis's own, TIME, so
   *  that nodes' clocks never need to agree; tests pass a manual one). */
  now?: () => number;
}

/**
 * KEYS: nodes ZSET, info HASH. ARGV: node, now ('' for Redis's clock), info JSON. Returns 1
 * if it was listed.
 */
const HEARTBEAT = `
local now = ARGV[2]
if now == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if was then return 1 end
return 0
`;

/**
 * One batch of a dead node's sessions in one partition. KEYS: the node's set, due, st.
 * ARGV: node, now, sessionTtlMs, messageTtlMs. Detaches (fenced by owner) up to 200
 * sessions; returns how many remain in the set.
 */
const REAP_NODE = `
local ON, DUE, ST = KEYS[1], KEYS[2], KEYS[3]
local node, now, ttl, mttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local base = string.sub(ON, 1, #ON - #node - 4)
local sids = redis.call('SRANDMEMBER', ON, 200)
for _, sid in ipairs(sids) do
  local S = base .. ':s:' .. sid
  local v = redis.call('HMGET', S, 'own', 'at', 'n')
  if v[1] == node and v[2] == '1' then
    local x = now + ttl
    redis.call('HSET', S, 'at', '0', 'x', x)
    redis.call('HINCRBY', ST, 'attached', -1)
    local due = x
    if tonumber(v[3] or '0') > 0 then
      local h = redis.call('XRANGE', base .. ':o:' .. sid, '-', '+', 'COUNT', 1)
      if #h == 1 then
        local f = h[1][2]
        for j = 1, #f, 2 do
          if f[j] == 't' and tonumber(f[j + 1]) + mttl < due then due = tonumber(f[j + 1]) + mttl end
        end
      end
    end
    redis.call('ZADD', DUE, due, sid)
  end
  redis.call('SREM', ON, sid)
end
return redis.call('SCARD', ON)
`;

export class RedisNodes {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly node: string;
  private info: () => Record<string, unknown>;
  private readonly sessionTtlMs: number;
  private readonly messageTtlMs: number;
  private readonly clock: (() => number) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;
  private declaredDeadListeners: (() => void)[] = [];
  private reapedListeners: ((node: string, sessions: number) => void)[] = [];
  private busy = false;
  private reaping = false;

  constructor(options: RedisNodesOptions & { messageTtlMs: number }) {
    this.redis = options.redis;
    this.keys = options.keys;
    this.node = options.node;
    const info = options.info;
    this.info = () => info;
    this.sessionTtlMs = options.sessionTtlMs;
    this.messageTtlMs = options.messageTtlMs;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.deadAfterMs = options.deadAfterMs ?? 10_000;
    this.clock = options.now;
  }

  private get nodesKey(): string {
    return `${this.keys.global}:nodes`;
  }

  private get infoKey(): string {
    return `${this.keys.global}:nodeinfo`;
  }

  /**
   * What this node says about itself at each heartbeat (its address, known once listening;
   * its connection count).
   */
  setInfo(info: () => Record<string, unknown>): void {
    this.info = info;
  }

  /** This node was found missing from the list: it had been declared dead. */
  onDeclaredDead(listener: () => void): void {
    this.declaredDeadListeners.push(listener);
  }

  /** This node detached `sessions` sessions of dead node `node`. */
  onReaped(listener: (node: string, sessions: number) => void): void {
    this.reapedListeners.push(listener);
  }

  /**
   * Redis restarted (its data may be gone, this node's entry with it): the next heartbeat
   * that finds this node missing is a first one, not a sign that it was declared dead.
   */
  redisRestarted(): void {
    this.beats = 0;
  }

  /** Heartbeat now and every `heartbeatMs`; each tick also looks for dead nodes. */
  start(): void {
    if (this.timer !== undefined) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Stop the heartbeat and leave the list (a clean shutdown is not a death). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis
      .multi()
      .zrem(this.nodesKey, this.node)
      .hdel(this.infoKey, this.node)
      .exec()
      .catch(() => undefined);
  }

  /** One heartbeat and one look for dead nodes (errors: Redis away; the next tick retries). */
  async tick(): Promise<void> {
    // The heartbeat never waits for a reap: a long reap (a big dead node) that held it back
    // got the reaper declared dead too.
    if (this.busy) return;
    this.busy = true;
    try {
      const was = await this.redis.eval(
        HEARTBEAT,
        2,
        this.nodesKey,
        this.infoKey,
        this.node,
        this.clock === undefined ? '' : this.clock(),
        JSON.stringify(this.info()),
      );
      if (Number(was) === 0 && this.beats > 0) for (const l of this.declaredDeadListeners) l();
      this.beats++;
    } catch {
      // Redis away: the store reports it; the next tick tries again.
      return;
    } finally {
      this.busy = false;
    }
    if (this.reaping) return;
    this.reaping = true;
    try {
      await this.reapDead();
    } catch {
      // Redis away: the next tick tries again.
    } finally {
      this.reaping = false;
    }
  }

  /** Every node in the list, alive or not yet reaped. */
  async list(): Promise<NodeInfo[]> {
    const [scores, infos] = await Promise.all([
      this.redis.zrange(this.nodesKey, 0, -1, 'WITHSCORES'),
      this.redis.hgetall(this.infoKey),
    ]);
    const now = await this.now();
    const out: NodeInfo[] = [];
    for (let i = 0; i < scores.length; i += 2) {
      const node = scores[i]!;
      const lastSeen = Number(scores[i + 1]);
      let info: Record<string, unknown> = {};
      try {
        info = JSON.parse(infos[node] ?? '{}') as Record<string, unknown>;
      } catch {
        info = {};
      }
      out.push({ node, lastSeen, alive: now - lastSeen < this.deadAfterMs, info });
    }
    return out;
  }

  /** Milliseconds since the epoch by the injected clock, or by Redis's (TIME). */
  private async now(): Promise<number> {
    if (this.clock !== undefined) return this.clock();
    const [sec, usec] = await this.redis.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }

  private async reapDead(): Promise<void> {
    const now = await this.now();
    const cutoff = now - this.deadAfterMs;
    const dead = await this.redis.zrangebyscore(this.nodesKey, '-inf', cutoff);
    for (const node of dead) {
      if (node === this.node) continue;
      // One live node reaps a dead one; the claim outlives a reaper that dies halfway (the
      // work is idempotent: another node takes over once the claim expires).
      const claim = await this.redis.set(
        `${this.keys.global}:reap:${node}`,
        this.node,
        'PX',
        30_000,
        'NX',
      );
      if (claim !== 'OK') continue;
      let detached = 0;
      for (let p = 0; p < this.keys.partitions; p++) {
        const base = this.keys.part(p);
        for (;;) {
          const before = await this.redis.scard(`${base}:on:${node}`);
          if (before === 0) break;
          const left = Number(
            await this.redis.eval(
              REAP_NODE,
              3,
              `${base}:on:${node}`,
              `${base}:due`,
              `${base}:st`,
              node,
              now,
              this.sessionTtlMs,
              this.messageTtlMs,
            ),
          );
          detached += before - left;
          if (left === 0) break;
        }
      }
      await this.redis
        .multi()
        .zrem(this.nodesKey, node)
        .hdel(this.infoKey, node)
        .del(`${this.keys.global}:reap:${node}`)
        .exec();
      for (const l of this.reapedListeners) l(node, detached);
    }
  }
}
