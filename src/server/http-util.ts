/** Small HTTP helpers: JSON bodies with a size limit, JSON replies, typed errors. */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RwsError } from '../errors.js';
import { MAX_ID_LENGTH } from '../protocol/index.js';

export class HttpError extends RwsError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details === undefined ? undefined : { details });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): void {
  sendJson(res, status, { error: { ...(extra ?? {}), code, message } });
}

/** Like readJson, but an empty body is an empty object (optional bodies). */
export function readOptionalJson(
  req: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown>> {
  return readJson(req, limit, true);
}

/** `application/json`, with optional parameters (`; charset=utf-8`), any case. */
export function isJsonType(type: string): boolean {
  return /^application\/json\s*(;|$)/i.test(type);
}

function unsupportedType(type: string | undefined): HttpError {
  return new HttpError(
    415,
    'unsupported_media_type',
    type === undefined
      ? 'a request with a body needs content-type: application/json'
      : `content-type must be application/json, got ${type.slice(0, 64)}`,
  );
}

/** The methods that change something; under /api their bodies must be JSON. */
const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A mutation (POST, PUT, PATCH, DELETE) that carries a body must say `content-type:
 * application/json`, else 415: a browser cannot send that type to another origin without a
 * preflight, which the server never answers, and a form or `text/plain` post is refused
 * before any route reads it. A mutation without a body is left to the cross-origin check.
 */
export function requireJsonBody(req: IncomingMessage, method: string): void {
  if (!MUTATIONS.has(method)) return;
  const length = req.headers['content-length'];
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return;
  const type = req.headers['content-type'];
  if (type === undefined || !isJsonType(type)) throw unsupportedType(type);
}

/** An optional string field of a JSON body, 1–`max` characters; else 400 `bad_request`. */
export function optionalString(
  body: Record<string, unknown>,
  field: string,
  max: number,
): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new HttpError(400, 'bad_request', `"${field}" must be a string of 1-${max} characters`);
  return v;
}

/** Read and parse a JSON object body of at most `limit` bytes. */
export async function readJson(
  req: IncomingMessage,
  limit: number,
  emptyIsObject = false,
): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (type !== '' && !isJsonType(type)) throw unsupportedType(type);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new HttpError(413, 'body_too_large', `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  if (emptyIsObject && size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Constant-time bearer token check (hash both sides so lengths never leak). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header);
  if (m === null) return false;
  return tokenMatches(m[1], token);
}

/** Constant-time comparison of a presented token with the admin token (hashes: no length leak). */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (presented === null || presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/**
 * Whether a browser request comes from another origin: an `Origin` header is present and
 * its host and port differ from the `Host` header's (the scheme is not compared: behind a
 * TLS proxy the server sees http). No `Origin` (curl, server to server): false. `Origin:
 * null` (a sandboxed page, a file) and an unparsable one count as cross-origin.
 */
export function isCrossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const host = req.headers.host;
  if (host === undefined || host === '') return true;
  let o: URL;
  let h: URL;
  try {
    o = new URL(origin);
    h = new URL(`${o.protocol}//${host}`);
  } catch {
    return true;
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return true;
  // Both parsed with the origin's scheme, so a default port is left out of both alike.
  return o.host !== h.host;
}

/** 405 with an `Allow` header unless `method` is one of `methods`. */
export function allow(method: string, ...methods: string[]): void {
  if (!methods.includes(method))
    throw new HttpError(405, 'method_not_allowed', `use ${methods.join(' or ')}`, {
      allow: methods.join(', '),
    });
}

/** A percent-decoded path segment (a session id, a breaker name): 1–128 characters, else 400. */
export function decodeSegment(segment: string, what: string, max = MAX_ID_LENGTH): string {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      'bad_request',
      `the ${what} in the path is not valid percent-encoding`,
    );
  }
  if (value.length > max)
    throw new HttpError(
      400,
      'bad_request',
      `the ${what} in the path is longer than ${max} characters`,
    );
  return value;
}

/** An optional id query parameter (`sid=`): at most 128 characters, else 400. */
export function idParam(q: URLSearchParams, name: string): string | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (raw.length > MAX_ID_LENGTH)
    throw new HttpError(400, 'bad_request', `"${name}" is longer than ${MAX_ID_LENGTH} characters`);
  return raw;
}

/** An integer query parameter within [min, max] (`def` when absent); else 400. */
export function intParam(
  q: URLSearchParams,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const raw = q.get(name);
  if (raw === null) return def;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new HttpError(400, 'bad_request', `"${name}" must be an integer from ${min} to ${max}`);
  return n;
}

/** One of `values` (`def` when absent); else 400. */
export function enumParam<T extends string>(
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
