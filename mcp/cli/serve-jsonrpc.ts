/**
 * Plain JSON-RPC 2.0 for `resilient-ws mcp-serve`: what a message is (no MCP SDK at run time),
 * the keys and ids the bridge derives from one, and the line splitter of the child's stdout
 * (newline-delimited JSON, the MCP stdio framing) with a bound on the line length.
 */
import { MAX_ID_LENGTH } from '../../src/protocol/index.js';
import type { JsonRpcId } from '../json-rpc.js';

// One rule for ids as map keys and for progress keys, shared with the library transports.
export { idKey, progressKey, type JsonRpcId } from '../json-rpc.js';

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** One JSON-RPC message as an object; `classify` says which kind it is. */
export type JsonRpcObject = Record<string, unknown> & { jsonrpc: '2.0' };

export type Classified =
  | { kind: 'request'; id: JsonRpcId; method: string; message: JsonRpcObject }
  | { kind: 'notification'; method: string; message: JsonRpcObject }
  | { kind: 'response'; id: JsonRpcId | null; message: JsonRpcObject };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isId = (v: unknown): v is JsonRpcId =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/**
 * The kind of a JSON-RPC 2.0 message, or undefined when `value` is not one: a request has a
 * string `method` and a string or number `id`, a notification a `method` and no `id`, a
 * response an `id` (or null) and exactly one of `result` and `error` (`{code, message}`).
 * Batches (arrays) are not messages: MCP has had none since 2025-06-18.
 */
export function classify(value: unknown): Classified | undefined {
  if (!isObject(value) || value.jsonrpc !== '2.0') return undefined;
  const message = value as JsonRpcObject;
  if ('method' in value) {
    if (typeof value.method !== 'string') return undefined;
    if (value.id === undefined) return { kind: 'notification', method: value.method, message };
    return isId(value.id)
      ? { kind: 'request', id: value.id, method: value.method, message }
      : undefined;
  }
  if (!(isId(value.id) || value.id === null)) return undefined;
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  if (hasResult === hasError) return undefined;
  if (hasError) {
    const e = value.error;
    if (!isObject(e) || typeof e.code !== 'number' || typeof e.message !== 'string')
      return undefined;
  }
  return { kind: 'response', id: value.id, message };
}

/** Longest `key` of a keyed send (the protocol's id bound, which HTTP enforces). */
export const MAX_KEY_LENGTH = MAX_ID_LENGTH;

/** `params._meta.progressToken` of a request, when it has one. */
export function progressTokenOf(message: JsonRpcObject): JsonRpcId | undefined {
  const params = message.params;
  if (!isObject(params) || !isObject(params._meta)) return undefined;
  const token = params._meta.progressToken;
  return isId(token) ? token : undefined;
}

/** `params.progressToken` of a `notifications/progress`. */
export function notifiedProgressToken(message: JsonRpcObject): JsonRpcId | undefined {
  const params = message.params;
  return isObject(params) && isId(params.progressToken) ? params.progressToken : undefined;
}

/** `params.requestId` of a `notifications/cancelled`. */
export function cancelledRequestId(message: JsonRpcObject): JsonRpcId | undefined {
  const params = message.params;
  return isObject(params) && isId(params.requestId) ? params.requestId : undefined;
}

/** A copy of `message` whose `params` has `field` (or `_meta.progressToken`) replaced. */
export function withParam(message: JsonRpcObject, field: string, value: unknown): JsonRpcObject {
  const params = isObject(message.params) ? message.params : {};
  return { ...message, params: { ...params, [field]: value } };
}

export function withProgressToken(message: JsonRpcObject, token: JsonRpcId): JsonRpcObject {
  const params = isObject(message.params) ? message.params : {};
  const meta = isObject(params._meta) ? params._meta : {};
  return { ...message, params: { ...params, _meta: { ...meta, progressToken: token } } };
}

export function errorResponse(id: JsonRpcId | null, error: JsonRpcError): JsonRpcObject {
  return { jsonrpc: '2.0', id, error };
}

/** JSON-RPC error codes used by the bridge. */
export const RPC = {
  /** The MCP server exited, or a message could not be delivered (implementation-defined). */
  serverError: -32000,
  methodNotFound: -32601,
} as const;

/** Why a line of the child's stdout was not forwarded. */
export type DropReason = 'not_json' | 'not_jsonrpc' | 'too_long';

/** Bytes kept of each end of an over-long line (to find the id of a response too large). */
const EDGE_BYTES = 256;

/**
 * Splits a byte stream into lines (`\n`, an optional `\r` before it removed), never holding
 * more than `maxBytes` of one line: a longer line is discarded up to its newline and reported
 * once with its length and its first and last bytes. Empty lines are skipped.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of an over-long line discarded so far (-1: not discarding). */
  private discarded = -1;
  private head = '';
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: (bytes: number, head: string, tail: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      this.take(chunk.subarray(start, end));
      if (nl < 0) return;
      this.finishLine();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.size > 0 || this.discarded >= 0) this.finishLine();
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.discarded >= 0) {
      this.discarded += piece.length;
      this.keepTail(piece);
      return;
    }
    if (this.size + piece.length > this.maxBytes) {
      const all = Buffer.concat([...this.parts, piece]);
      this.discarded = all.length;
      this.head = all.subarray(0, EDGE_BYTES).toString('utf8');
      this.tail = Buffer.alloc(0);
      this.keepTail(all);
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(piece);
    this.size += piece.length;
  }

  private keepTail(piece: Buffer): void {
    this.tail =
      piece.length >= EDGE_BYTES
        ? Buffer.from(piece.subarray(piece.length - EDGE_BYTES))
        : Buffer.concat([this.tail, piece]).subarray(-EDGE_BYTES);
  }

  private finishLine(): void {
    if (this.discarded >= 0) {
      const bytes = this.discarded;
      const tail = this.tail.toString('utf8').replace(/\r$/, '');
      this.discarded = -1;
      this.tail = Buffer.alloc(0);
      this.onTooLong(bytes, this.head, tail);
      return;
    }
    let line = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') this.onLine(line);
  }
}

const ID = String.raw`(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")`;
/** `{"jsonrpc":"2.0","id":…,"result"` (id first, as most servers write it). */
const HEAD_ID = new RegExp(
  String.raw`^\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*${ID}\s*,\s*"(?:result|error)"\s*:`,
);
/** `…,"jsonrpc":"2.0","id":…}` (id last, as the TypeScript SDK writes a response). */
const TAIL_ID = new RegExp(String.raw`"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/**
 * The id of a response too long to parse, from its first and last bytes, when it is written
 * in one of the two usual key orders; undefined otherwise. The caller checks that the id is
 * one in flight (a request's id could be found the same way, and must not be answered).
 */
export function truncatedResponseId(head: string, tail: string): JsonRpcId | undefined {
  const found =
    HEAD_ID.exec(head)?.[1] ??
    (head.startsWith('{"result"') || head.startsWith('{"error"')
      ? TAIL_ID.exec(tail)?.[1]
      : undefined);
  if (found === undefined) return undefined;
  try {
    const id = JSON.parse(found) as unknown;
    return isId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one stdout line: the message, or why it is dropped. */
export function parseLine(line: string): Classified | DropReason {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not_json';
  }
  return classify(value) ?? 'not_jsonrpc';
}

/** A set that forgets its oldest entries past `max` (insertion order). */
export class BoundedSet<T> {
  private readonly items = new Set<T>();
  constructor(private readonly max: number) {}

  add(item: T): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.max) {
      const oldest = this.items.values().next();
      if (oldest.done !== true) this.items.delete(oldest.value);
    }
  }

  has(item: T): boolean {
    return this.items.has(item);
  }

  delete(item: T): boolean {
    return this.items.delete(item);
  }

  get size(): number {
    return this.items.size;
  }
}
