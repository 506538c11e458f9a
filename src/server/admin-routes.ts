/**
 * The admin API (docs/protocol.md "HTTP API"): stats, top-N sessions, one session, disconnect
 * and end,
 * dead letters (dlq-routes.ts: list, replay, purge), breakers (list, reset, force open) and
 * the event log (event-log.ts).
 * Everything here answers in bounded time and size whatever the number of sessions: lists
 * are top-N or paged.
 */
import { MAX_USER_LENGTH } from '../auth/principal.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { SessionRecord, SessionSort } from '../store/store.js';
import { durationMs, isoTime, MAX_LIMIT, type AdminContext } from './admin-context.js';
import { dlqRoute } from './dlq-routes.js';
import { EVENT_TYPES, type EventType } from './event-log.js';
import {
  allow,
  decodeSegment,
  enumParam,
  HttpError,
  idParam,
  intParam,
  optionalString,
  readOptionalJson,
  sendJson,
} from './http-util.js';
import { MAX_REASON_LENGTH } from '../session/lifecycle.js';

export type { AdminContext } from './admin-context.js';

const SESSION = /^\/api\/sessions\/([^/]+)$/;
const SESSION_ACTION = /^\/api\/sessions\/([^/]+)\/(disconnect|end)$/;
const USER_SESSIONS = /^\/api\/users\/([^/]+)\/sessions$/;
/** The most nodes a stats snapshot lists (the `cluster` figures count them all). */
export const MAX_STATS_NODES = 64;
const BREAKER_ACTION = /^\/api\/breakers\/([^/]+)\/(reset|force-open)$/;

/** Handles an admin route; false when the path is not one. */
export async function adminRoute(
  ctx: AdminContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  query: URLSearchParams,
): Promise<boolean> {
  if (path === '/api/stats') {
    allow(method, 'GET');
    sendJson(res, 200, await stats(ctx));
    return true;
  }
  if (path === '/api/stats/stream' && ctx.statsStream !== undefined) {
    allow(method, 'GET');
    ctx.statsStream.open(res);
    return true;
  }
  if (path === '/api/sessions') {
    allow(method, 'GET');
    const limit = intParam(query, 'limit', 20, 1, MAX_LIMIT);
    const sort = enumParam(query, 'sort', ['depth', 'age'] as const, 'depth');
    const top = await ctx.store.topSessions(limit, sort satisfies SessionSort);
    const stats = await ctx.store.stats();
    sendJson(res, 200, {
      sort,
      limit,
      total: stats.sessions,
      sessions: top.map((r) => view(ctx, r)),
    });
    return true;
  }
  let m = SESSION.exec(path);
  if (m !== null) {
    allow(method, 'GET', 'DELETE');
    const sid = decodeSegment(m[1]!, 'session id');
    if (method === 'DELETE') {
      if (!(await ctx.hub.endSession(sid))) throw unknownSession(sid);
      sendJson(res, 200, { sid, ended: true });
      return true;
    }
    const record = await ctx.store.getSession(sid);
    if (record === undefined) throw unknownSession(sid);
    sendJson(res, 200, view(ctx, record));
    return true;
  }
  m = SESSION_ACTION.exec(path);
  if (m !== null) {
    allow(method, 'POST');
    const sid = decodeSegment(m[1]!, 'session id');
    const body = await readOptionalJson(req, ctx.maxBodyBytes);
    // Told to the client with the close (error `disconnected` or `session_ended`).
    const reason = optionalString(body, 'reason', MAX_REASON_LENGTH);
    if (m[2] === 'disconnect') {
      if (!(await ctx.hub.disconnect(sid, reason))) throw unknownSession(sid);
      sendJson(res, 200, { sid, disconnected: true });
    } else {
      if (!(await ctx.hub.endSession(sid, 'admin', reason))) throw unknownSession(sid);
      sendJson(res, 200, { sid, ended: true });
    }
    return true;
  }
  m = USER_SESSIONS.exec(path);
  if (m !== null) {
    allow(method, 'GET');
    const user = decodeSegment(m[1]!, 'user', MAX_USER_LENGTH);
    const sessions = await ctx.hub.userSessions(user);
    sendJson(res, 200, { user, sessions: sessions.map((r) => view(ctx, r)) });
    return true;
  }
  if (await dlqRoute(ctx, req, res, path, method, query)) return true;
  if (path === '/api/breakers') {
    allow(method, 'GET');
    // Breakers are per node: each node's own calls trip its own.
    sendJson(res, 200, { node: ctx.node, breakers: ctx.breakers.list().map(breakerView) });
    return true;
  }
  if (path === '/api/events') {
    allow(method, 'GET');
    const limit = intParam(query, 'limit', 200, 1, MAX_LIMIT);
    const after = intParam(query, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const types = typesParam(query);
    // An empty `sid=` (a cleared filter box) is no filter.
    const sid = idParam(query, 'sid') || undefined;
    sendJson(res, 200, {
      node: ctx.node,
      evicted: ctx.events.evicted,
      events: ctx.events.list({
        after,
        limit,
        ...(types === undefined ? {} : { types }),
        ...(sid === undefined ? {} : { sid }),
      }),
    });
    return true;
  }
  if (path === '/api/nodes') {
    allow(method, 'GET');
    sendJson(res, 200, { node: ctx.node, nodes: await ctx.nodes() });
    return true;
  }
  m = BREAKER_ACTION.exec(path);
  if (m !== null) {
    allow(method, 'POST');
    const name = decodeSegment(m[1]!, 'breaker name');
    const breaker = ctx.breakers.find(name);
    if (breaker === undefined)
      throw new HttpError(
        404,
        'unknown_breaker',
        `no breaker named ${JSON.stringify(name.slice(0, 64))}`,
      );
    if (m[2] === 'reset') breaker.reset();
    else breaker.forceOpen();
    sendJson(res, 200, breakerView(breaker));
    return true;
  }
  return false;
}

/** The `/api/stats` figures (also each snapshot of the stats stream). */
export async function stats(ctx: AdminContext): Promise<Record<string, unknown>> {
  const now = ctx.clock.now();
  // The store and the dead-letter queue are read once, here, and handed to the metrics too:
  // a memory store's stats() walks every session for the oldest message (bench/
  // dashboard-snapshot.bench.ts), and the stats stream calls this once a second.
  const [s, nodes, dlq] = await Promise.all([ctx.store.stats(), ctx.nodes(), ctx.dlq.stats()]);
  const alive = nodes.filter((n) => n.alive);
  return {
    node: ctx.node,
    uptimeMs: durationMs(now - ctx.startedAt),
    connections: ctx.hub.connectionCount,
    // The deployment: live nodes and their connections as of their last heartbeat (with a
    // memory store, this node alone).
    cluster: {
      nodes: alive.length,
      connections: alive.reduce((sum, n) => sum + n.connections, 0),
    },
    sessions: {
      total: s.sessions,
      attached: s.attached,
      detached: s.detached,
      attachedHere: ctx.hub.attachedCount,
    },
    outbox: {
      messages: s.messages,
      bytes: s.bytes,
      oldestAgeMs: s.oldestAt === undefined ? 0 : durationMs(now - s.oldestAt),
    },
    dlq: { size: dlq.size, bytes: dlq.bytes, evicted: dlq.evicted, added: { ...dlq.added } },
    ...(ctx.storeInfo === undefined ? {} : { store: ctx.storeInfo() }),
    breakers: ctx.breakers.list().map(breakerView),
    // For a node selector: the first 64 (this node first).
    nodes: nodes.slice(0, MAX_STATS_NODES),
    ...(ctx.metricsStats === undefined
      ? {}
      : { metrics: await ctx.metricsStats({ store: s, dlq }) }),
  };
}

/** A session as the admin API shows it: never the key hash. */
function view(ctx: AdminContext, r: SessionRecord): Record<string, unknown> {
  const now = ctx.clock.now();
  return {
    sid: r.sid,
    epoch: r.epoch,
    attached: r.attached,
    attachedHere: ctx.hub.isAttached(r.sid),
    ...(r.owner === undefined ? {} : { node: r.owner }),
    createdAt: isoTime(r.createdAt),
    last: r.last,
    acked: r.acked,
    depth: r.depth,
    bytes: r.bytes,
    oldestAgeMs: r.oldestAt === undefined ? 0 : durationMs(now - r.oldestAt),
    ...(r.expiresAt === undefined ? {} : { expiresAt: isoTime(r.expiresAt) }),
    // Who it belongs to; the token itself is never stored.
    ...(r.user === undefined ? {} : { user: r.user }),
    ...(r.claims === undefined ? {} : { claims: parseClaims(r.claims) }),
  };
}

/** Claims as the store keeps them (JSON text); text that is not JSON is shown as is. */
function parseClaims(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/**
 * A breaker's snapshot with every documented field present (absent values as null), its
 * times as ISO 8601 (the library's snapshot has ms since the epoch).
 */
function breakerView(b: CircuitBreaker): Record<string, unknown> {
  const s = b.snapshot();
  return {
    ...s,
    openUntil: s.openUntil === undefined ? null : isoTime(s.openUntil),
    lastChange:
      s.lastChange === undefined ? null : { ...s.lastChange, at: isoTime(s.lastChange.at) },
  };
}

/** `type=a,b`: event types, each one of `EVENT_TYPES`; undefined when absent or empty. */
function typesParam(query: URLSearchParams): EventType[] | undefined {
  const raw = query.get('type');
  if (raw === null || raw === '') return undefined;
  const types = raw.split(',');
  for (const t of types)
    if (!(EVENT_TYPES as readonly string[]).includes(t))
      throw new HttpError(
        400,
        'bad_request',
        `"type" must be a comma-separated list of ${EVENT_TYPES.join(', ')}`,
      );
  return types as EventType[];
}

function unknownSession(sid: string): HttpError {
  return new HttpError(404, 'unknown_session', `no session ${JSON.stringify(sid.slice(0, 64))}`);
}
