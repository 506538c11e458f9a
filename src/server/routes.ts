/**
 * HTTP API on the WebSocket port (docs/protocol.md "HTTP API"): publish, broadcast, health,
 * metrics, and the admin routes (admin-routes.ts). `/api/*` and `/metrics` need
 * `Authorization: Bearer <admin token>` when one is configured (`GET /api/stats/stream` also
 * takes it as `?token=`: a browser EventSource cannot set headers), and refuse a browser
 * request from another origin (403 `cross_origin`) whatever its token.
 */
import { MAX_USER_LENGTH } from '../auth/principal.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRwsErrorCode, type RwsErrorCode } from '../error-codes.js';
import { isRwsError } from '../errors.js';
import { MAX_ID_LENGTH } from '../protocol/index.js';
import type { Hub, SendOptions } from '../session/hub.js';
import { adminRoute, type AdminContext } from './admin-routes.js';
import { dashboardRoute } from './dashboard-routes.js';
import {
  allow,
  bearerMatches,
  decodeSegment,
  HttpError,
  isCrossOrigin,
  optionalString,
  readJson,
  requireJsonBody,
  sendError,
  sendJson,
  tokenMatches,
} from './http-util.js';
import { requestId } from './logging.js';

export interface RouteContext {
  hub: Hub;
  admin: AdminContext;
  /** Serves GET /metrics; absent when metrics are off (RWS_METRICS=false). */
  serveMetrics?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  adminToken: string;
  maxBodyBytes: number;
  isDraining(): boolean;
  storeReady(): Promise<void>;
  /** Serve the dashboard's static files at /dashboard (`dashboard` setting). */
  dashboard: boolean;
  /** Extra routes (the demo page); return true when handled. */
  extra?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
}

const STATS_STREAM = '/api/stats/stream';
const SESSION_MESSAGES = /^\/api\/sessions\/([^/]+)\/messages$/;
const USER_MESSAGES = /^\/api\/users\/([^/]+)\/messages$/;

export async function handleRequest(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  // Echoed (or made up) so a caller can match its request to the server's debug log line.
  res.setHeader('x-request-id', requestId(req));
  try {
    if (path === '/healthz') {
      allow(method, 'GET', 'HEAD');
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      allow(method, 'GET', 'HEAD');
      if (ctx.isDraining()) return fail(res, 'draining', 'the server is shutting down');
      try {
        await ctx.storeReady();
      } catch {
        res.setHeader('retry-after', '1');
        return fail(res, 'store_unavailable', 'the session store is not reachable');
      }
      sendJson(res, 200, { status: 'ready' });
      return;
    }
    if (path.startsWith('/api/') || path === '/metrics') {
      // Before the token: a page on another origin never reaches an admin or publish action,
      // even with a token the browser would attach.
      if (isCrossOrigin(req))
        return fail(res, 'cross_origin', 'browser requests from another origin are refused');
      const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      if (ctx.adminToken !== '' && !authorized(ctx, req, path, query)) {
        res.setHeader('www-authenticate', 'Bearer');
        return fail(res, 'unauthorized', 'this endpoint needs Authorization: Bearer <admin token>');
      }
      // Every mutation under /api with a body, whatever the route (and before it is found).
      if (path.startsWith('/api/')) requireJsonBody(req, method);
      if (path === '/metrics') {
        allow(method, 'GET', 'HEAD');
        if (ctx.serveMetrics === undefined)
          return fail(res, 'metrics_disabled', 'metrics are off (RWS_METRICS=false)');
        await ctx.serveMetrics(req, res);
        return;
      }
      if (await adminRoute(ctx.admin, req, res, path, method, query)) return;
      await api(ctx, req, res, path, method);
      return;
    }
    if (ctx.dashboard && dashboardRoute(req, res, path)) return;
    if (ctx.extra?.(req, res, path) === true) return;
    fail(res, 'not_found', `no route for ${method} ${path}`);
  } catch (error) {
    if (error instanceof HttpError && error.status === 405)
      res.setHeader('allow', String(error.details?.allow));
    if (error instanceof HttpError)
      return sendError(res, error.status, error.code, error.message, error.details);
    // A library error keeps its code; one whose code is not the library's (an application's
    // NackError reaching here) is an internal error.
    if (isRwsError(error) && isRwsErrorCode(error.code)) {
      // The store is away (Redis down, its breaker open): the request can be retried as is.
      if (error.code === 'store_unavailable') res.setHeader('retry-after', '1');
      return sendError(res, ERROR_STATUS[error.code], error.code, error.message, error.details);
    }
    fail(res, 'internal', 'internal error');
  }
}

/**
 * The HTTP status of every error code (the catalog: src/error-codes.ts). Exhaustive by type:
 * a code without a status does not compile. Codes that only a programming or configuration
 * mistake raises (metric definitions, breaker options) are 500: never the caller's fault.
 */
export const ERROR_STATUS: Readonly<Record<RwsErrorCode, number>> = {
  unknown_session: 404,
  unknown_user: 404,
  session_exists: 409,
  outbox_full: 429,
  bad_data: 400,
  bad_options: 400,
  message_too_large: 413,
  content_hash_unavailable: 503,
  store_closed: 503,
  store_not_synchronous: 500,
  server_closed: 503,
  not_listening: 503,
  config_invalid: 500,
  breaker_open: 503,
  breaker_limit: 503,
  invalid_breaker_option: 500,
  metric_bad_name: 500,
  metric_bad_label: 500,
  metric_bad_buckets: 500,
  metric_bad_cap: 500,
  metric_bad_value: 500,
  metric_exists: 500,
  metric_read_only: 500,
  bad_request: 400,
  bad_cursor: 400,
  bad_page_size: 500,
  bad_json: 400,
  unsupported_media_type: 415,
  body_too_large: 413,
  method_not_allowed: 405,
  not_found: 404,
  unauthorized: 401,
  cross_origin: 403,
  origin_not_allowed: 403,
  too_many_connections: 503,
  too_many_connections_from_ip: 429,
  too_many_viewers: 503,
  metrics_disabled: 404,
  draining: 503,
  store_unavailable: 503,
  replay_in_progress: 409,
  unknown_breaker: 404,
  unknown_dead_letter: 404,
  internal: 500,
};

/** The admin token as a bearer header, or as `?token=` on the stats stream only. */
function authorized(
  ctx: RouteContext,
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
): boolean {
  if (bearerMatches(req.headers.authorization, ctx.adminToken)) return true;
  return path === STATS_STREAM && tokenMatches(query.get('token'), ctx.adminToken);
}

/** Answer with an error of the catalog, at its status. */
function fail(res: ServerResponse, code: RwsErrorCode, message: string): void {
  sendError(res, ERROR_STATUS[code], code, message);
}

async function api(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
): Promise<void> {
  const m = SESSION_MESSAGES.exec(path);
  if (m !== null) {
    allow(method, 'POST');
    const sid = decodeSegment(m[1]!, 'session id');
    const body = await readJson(req, ctx.maxBodyBytes);
    const options = sendOptions(body, true);
    const r = await ctx.hub.send(sid, body.data, options);
    if ('seq' in r)
      return sendJson(
        res,
        r.dup === true ? 200 : 202,
        r.dup === true ? { seq: r.seq, dup: true } : { seq: r.seq },
      );
    if ('dropped' in r) return sendJson(res, 202, { dropped: r.dropped, policy: r.policy });
    return sendJson(res, 202, { delivered: r.delivered });
  }
  const u = USER_MESSAGES.exec(path);
  if (u !== null) {
    allow(method, 'POST');
    const user = decodeSegment(u[1]!, 'user', MAX_USER_LENGTH);
    const body = await readJson(req, ctx.maxBodyBytes);
    const options = sendOptions(body, true);
    return sendJson(res, 202, await ctx.hub.sendToUser(user, body.data, options));
  }
  if (path === '/api/broadcast') {
    allow(method, 'POST');
    const body = await readJson(req, ctx.maxBodyBytes);
    const options = sendOptions(body, false);
    const sessions = await ctx.hub.broadcast(body.data, options);
    return sendJson(res, 202, { sessions });
  }
  throw new HttpError(404, 'not_found', `no route for ${method} ${path}`);
}

/** An optional 1–128 character string field (`id`, `key`). */
function shortString(body: Record<string, unknown>, field: 'id' | 'key'): string | undefined {
  return optionalString(body, field, MAX_ID_LENGTH);
}

/**
 * The send options of a publish (`allowId`) or broadcast body, validated as docs/protocol.md
 * §12.1 says; else 400 `bad_request`. Exported for the property tests and the fuzzer.
 */
export function sendOptions(body: Record<string, unknown>, allowId: boolean): SendOptions {
  if (!('data' in body)) throw new HttpError(400, 'bad_request', 'the body needs a "data" field');
  const o: SendOptions = {};
  const id = shortString(body, 'id');
  if (id !== undefined) {
    if (!allowId) throw new HttpError(400, 'bad_request', '"id" is not accepted on broadcast');
    o.id = id;
  }
  const key = shortString(body, 'key');
  if (key !== undefined) o.key = key;
  if (body.volatile !== undefined) {
    if (typeof body.volatile !== 'boolean')
      throw new HttpError(400, 'bad_request', '"volatile" must be a boolean');
    o.volatile = body.volatile;
  }
  if (o.volatile === true && (o.key !== undefined || o.id !== undefined))
    throw new HttpError(400, 'bad_request', 'a volatile message takes neither "key" nor "id"');
  if (body.dedup !== undefined) {
    if (body.dedup !== 'content')
      throw new HttpError(400, 'bad_request', '"dedup" must be "content" (xxHash64 of the data)');
    if (o.id !== undefined || o.volatile === true || o.key !== undefined)
      throw new HttpError(
        400,
        'bad_request',
        '"dedup": "content" takes no "id", "key" or "volatile" (the hash is the id; keyed and volatile frames are never deduplicated)',
      );
    o.dedup = 'content';
  }
  return o;
}
