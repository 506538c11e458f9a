/**
 * The admin API (docs/protocol.md "HTTP API"): stats, top-N sessions, one session, kick,
 * dead letters (list, replay, purge) and breakers (list, reset, force open). Everything here
 * answers in bounded time and size whatever the number of sessions: lists are top-N or paged.
 * Dead letters are read through the port (src/outbox/dead-letter-store.ts), always awaited:
 * with a shared store every node's API shows every node's dead letters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import {
  isDeadLetterReason,
  type DeadLetter,
  type DeadLetterId,
  type DeadLetterStore,
} from '../outbox/dead-letter-store.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { Hub } from '../session/hub.js';
import type { SessionRecord, SessionSort, Store } from '../store/store.js';
import { allow, decodeSegment, HttpError, readOptionalJson, sendJson } from './http-util.js';

export interface AdminContext {
  hub: Hub;
  store: Store;
  dlq: DeadLetterStore;
  breakers: BreakerRegistry;
  clock: Clock;
  /** The metrics figures as JSON (absent when metrics are off). */
  metricsStats?: () => Promise<Record<string, unknown>>;
  startedAt: number;
  maxBodyBytes: number;
  /** Where failures no caller can be told about go (the server's `error` event). */
  onError?: (where: string, error: unknown) => void;
}

const SESSION = /^\/api\/sessions\/([^/]+)$/;
// Digits (the memory store's ids) or a stream id (`1700000000000-0`); the store parses them.
const DLQ_REPLAY = /^\/api\/dlq\/(\d+(?:-\d+)?)\/replay$/;
const DLQ_ENTRY = /^\/api\/dlq\/(\d+(?:-\d+)?)$/;
const BREAKER_ACTION = /^\/api\/breakers\/([^/]+)\/(reset|force-open)$/;

const MAX_LIMIT = 1000;

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
  if (path === '/api/dlq') {
    allow(method, 'GET', 'DELETE');
    const reason = reasonParam(query);
    const sid = query.get('sid') ?? undefined;
    if (method === 'DELETE') {
      const purged = await ctx.dlq.purge({
        ...(reason === undefined ? {} : { reason }),
        ...(sid === undefined ? {} : { sid }),
      });
      sendJson(res, 200, { purged, size: (await ctx.dlq.stats()).size });
      return true;
    }
    const limit = intParam(query, 'limit', 100, 1, MAX_LIMIT);
    const after = cursorParam(ctx, query);
    // Asked together: one wait, not two, on a networked store.
    const [entries, figures] = await Promise.all([
      ctx.dlq.list({
        limit: limit + 1,
        ...(after === undefined ? {} : { after }),
        ...(reason === undefined ? {} : { reason }),
        ...(sid === undefined ? {} : { sid }),
      }),
      ctx.dlq.stats(),
    ]);
    const page = entries.slice(0, limit);
    sendJson(res, 200, {
      size: figures.size,
      evicted: figures.evicted,
      entries: page.map((e) => ({ ...e, data: parseData(e.data) })),
      // The cursor for the next page, present only when there is one.
      ...(entries.length > limit ? { next: page[page.length - 1]!.id } : {}),
    });
    return true;
  }
  m = DLQ_REPLAY.exec(path);
  if (m !== null) {
    allow(method, 'POST');
    const id = deadLetterId(ctx, m[1]!);
    const entry = await deadLetter(ctx, id);
    // One replay of an entry at a time: a second one racing the first would send it twice.
    if (!(await ctx.dlq.claim(id)))
      throw new HttpError(409, 'replay_in_progress', `dead letter ${id} is being replayed`);
    try {
      const body = await readOptionalJson(req, ctx.maxBodyBytes);
      const target = body.sid === undefined ? entry.sid : body.sid;
      if (typeof target !== 'string' || target.length === 0)
        throw new HttpError(400, 'bad_request', '"sid" must be a non-empty string');
      // A new stored message (new seq). A full outbox refuses it (429 outbox_full) whatever
      // its policy, so it is never dropped again; the entry leaves the queue only once stored.
      const r = await ctx.hub.send(target, JSON.parse(entry.data) as unknown, { ifFull: 'reject' });
      if (!(await ctx.dlq.delete(id)))
        throw new HttpError(409, 'replay_in_progress', `dead letter ${id} went away`);
      sendJson(res, 202, { id, sid: target, ...r });
    } finally {
      await release(ctx, id);
    }
    return true;
  }
  m = DLQ_ENTRY.exec(path);
  if (m !== null) {
    allow(method, 'GET', 'DELETE');
    const id = deadLetterId(ctx, m[1]!);
    const entry = await deadLetter(ctx, id);
    if (method === 'DELETE') await ctx.dlq.delete(id);
    sendJson(res, 200, { ...entry, data: parseData(entry.data) });
    return true;
  }
  if (path === '/api/breakers') {
    allow(method, 'GET');
    sendJson(res, 200, { breakers: ctx.breakers.list().map(breakerView) });
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

async function stats(ctx: AdminContext): Promise<Record<string, unknown>> {
  const now = ctx.clock.now();
  const s = await ctx.store.stats();
  return {
    uptimeSeconds: (now - ctx.startedAt) / 1000,
    connections: ctx.hub.connectionCount,
    sessions: {
      total: s.sessions,
      attached: s.attached,
      detached: s.detached,
      attachedHere: ctx.hub.attachedCount,
    },
    outbox: {
      messages: s.messages,
      bytes: s.bytes,
      oldestAgeSeconds: s.oldestAt === undefined ? 0 : Math.max(0, now - s.oldestAt) / 1000,
    },
    dlq: await dlqStats(ctx),
    breakers: ctx.breakers.list().map((b) => ({ name: b.name, state: b.state })),
    ...(ctx.metricsStats === undefined ? {} : { metrics: await ctx.metricsStats() }),
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
    createdAt: new Date(r.createdAt).toISOString(),
    last: r.last,
    acked: r.acked,
    depth: r.depth,
    bytes: r.bytes,
    oldestAgeSeconds: r.oldestAt === undefined ? 0 : Math.max(0, now - r.oldestAt) / 1000,
    ...(r.expiresAt === undefined ? {} : { expiresAt: new Date(r.expiresAt).toISOString() }),
  };
}

function parseData(json: string): unknown {
  return JSON.parse(json) as unknown;
}

/** A breaker's snapshot with every documented field present (absent values as null). */
function breakerView(b: CircuitBreaker): Record<string, unknown> {
  const s = b.snapshot();
  return { ...s, openUntil: s.openUntil ?? null, lastChange: s.lastChange ?? null };
}

/** The dead-letter figures as /api/stats shows them (a copy: never the store's own object). */
async function dlqStats(ctx: AdminContext): Promise<Record<string, unknown>> {
  const s = await ctx.dlq.stats();
  return { size: s.size, evicted: s.evicted, added: { ...s.added } };
}

/**
 * End a replay's claim. After the answer is sent a failure cannot reach the caller: it is
 * reported (`error` event, where `dead-letter`) and the claim is left to the store (a
 * networked store bounds a claim's life, src/outbox/dead-letter-store.ts).
 */
async function release(ctx: AdminContext, id: DeadLetterId): Promise<void> {
  try {
    await ctx.dlq.unclaim(id);
  } catch (error) {
    ctx.onError?.('dead-letter', error);
  }
}

/** A path segment as the store's id; one it cannot read is no dead letter of it (404). */
function deadLetterId(ctx: AdminContext, text: string): DeadLetterId {
  const id = ctx.dlq.parseId(text);
  if (id === undefined) throw unknownDeadLetter(text);
  return id;
}

async function deadLetter(ctx: AdminContext, id: DeadLetterId): Promise<DeadLetter> {
  const entry = await ctx.dlq.get(id);
  if (entry === undefined) throw unknownDeadLetter(String(id));
  return entry;
}

function unknownDeadLetter(id: string): HttpError {
  return new HttpError(
    404,
    'unknown_dead_letter',
    `no dead letter ${id.slice(0, 64)} (replayed, purged or evicted)`,
  );
}

/** `after`: the `next` of a previous page (a dead-letter id); absent: from the oldest. */
function cursorParam(ctx: AdminContext, q: URLSearchParams): DeadLetterId | undefined {
  const raw = q.get('after');
  if (raw === null) return undefined;
  const id = ctx.dlq.parseId(raw);
  if (id === undefined)
    throw new HttpError(
      400,
      'bad_request',
      `"after" must be a dead-letter id (the "next" of a previous page), got ${JSON.stringify(raw.slice(0, 32))}`,
    );
  return id;
}

function unknownSession(sid: string): HttpError {
  return new HttpError(404, 'unknown_session', `no session ${JSON.stringify(sid.slice(0, 64))}`);
}

function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null) return def;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new HttpError(400, 'bad_request', `"${name}" must be an integer from ${min} to ${max}`);
  return n;
}

function enumParam<T extends string>(
  q: URLSearchParams,
  name: string,
  values: readonly T[],
  def: T,
): T {
  const raw = q.get(name);
  if (raw === null) return def;
  if (!(values as readonly string[]).includes(raw))
    throw new HttpError(400, 'bad_request', `"${name}" must be one of ${values.join(', ')}`);
  return raw as T;
}

function reasonParam(q: URLSearchParams) {
  const raw = q.get('reason');
  if (raw === null) return undefined;
  if (!isDeadLetterReason(raw))
    throw new HttpError(
      400,
      'bad_request',
      `unknown dead-letter reason ${JSON.stringify(raw.slice(0, 32))}`,
    );
  return raw;
}
