/**
 * The little of JSON-RPC 2.0 and MCP the transports need: a structural message type (so the
 * package needs no MCP SDK at run time, and the transports fit the SDK's v1 `Transport`),
 * message kinds, progress keys, and which progress tokens belong to a request in flight.
 * No Node imports: the client transport runs in browsers too.
 */
import { MAX_ID_LENGTH } from '../src/protocol/index.js';

/** A JSON-RPC request id (`null` only in an error response to an unreadable request). */
export type JsonRpcId = string | number;

/**
 * One JSON-RPC 2.0 message: a request (`method` and `id`), a notification (`method`, no
 * `id`) or a response (`id` with `result` or `error`). Structural: the MCP SDK's
 * `JSONRPCMessage` (v1 and v2) is assignable to it.
 */
export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: JsonRpcId | null | undefined;
  method?: string | undefined;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** The second argument of `onmessage` (the SDK's `MessageExtraInfo`); these transports pass none. */
export type MessageExtra = unknown;

/** Whether `data` is one JSON-RPC 2.0 message (an object with `jsonrpc: "2.0"`; no batches). */
export function isJsonRpcMessage(data: unknown): data is JsonRpcMessage {
  return (
    typeof data === 'object' &&
    data !== null &&
    !Array.isArray(data) &&
    (data as { jsonrpc?: unknown }).jsonrpc === '2.0'
  );
}

const isId = (v: unknown): v is JsonRpcId => typeof v === 'string' || typeof v === 'number';

/** The id of a request (a message with a method and an id), else undefined. */
export function requestId(m: JsonRpcMessage): JsonRpcId | undefined {
  return typeof m.method === 'string' && isId(m.id) ? m.id : undefined;
}

/** The id of a response (`result` or `error`, no method), else undefined. */
export function responseId(m: JsonRpcMessage): JsonRpcId | undefined {
  return m.method === undefined && ('result' in m || 'error' in m) && isId(m.id) ? m.id : undefined;
}

function params(m: JsonRpcMessage): Record<string, unknown> | undefined {
  return typeof m.params === 'object' && m.params !== null
    ? (m.params as Record<string, unknown>)
    : undefined;
}

/** The token of a `notifications/progress`, else undefined. */
export function progressOf(m: JsonRpcMessage): JsonRpcId | undefined {
  if (m.method !== 'notifications/progress') return undefined;
  const token = params(m)?.progressToken;
  return isId(token) ? token : undefined;
}

/** The request a `notifications/cancelled` cancels, else undefined. */
export function cancelledOf(m: JsonRpcMessage): JsonRpcId | undefined {
  if (m.method !== 'notifications/cancelled') return undefined;
  const id = params(m)?.requestId;
  return isId(id) ? id : undefined;
}

/** The progress token a request asks for (`params._meta.progressToken`), else undefined. */
function progressTokenOf(m: JsonRpcMessage): JsonRpcId | undefined {
  const meta = params(m)?._meta;
  const token =
    typeof meta === 'object' && meta !== null
      ? (meta as { progressToken?: unknown }).progressToken
      : undefined;
  return isId(token) ? token : undefined;
}

/**
 * A response that starts a task (MCP tasks: `result.task.taskId`): the request's progress
 * goes on after it, so its token stays in flight.
 */
function startsTask(m: JsonRpcMessage): boolean {
  const task = (m.result as { task?: { taskId?: unknown } } | undefined)?.task;
  return typeof task?.taskId === 'string';
}

/** `1` and `"1"` are different ids and tokens. */
export const idKey = (v: JsonRpcId): string => `${typeof v}:${v}`;

/**
 * The resilient-ws message key of a progress token's notifications: the latest value wins
 * while the client is away (protocol §6, keyed messages). At most `MAX_ID_LENGTH` (128)
 * characters: a longer one keeps its start and ends with a 53-bit hash of the whole token.
 */
export function progressKey(token: JsonRpcId): string {
  const key = `mcp:p:${idKey(token)}`;
  if (key.length <= MAX_ID_LENGTH) return key;
  const hash = `~${hash53(key).toString(36)}`;
  return key.slice(0, MAX_ID_LENGTH - hash.length) + hash;
}

/** cyrb53: a fast 53-bit string hash (not cryptographic; tokens are chosen by the peer's own requests). */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The progress tokens of the requests in flight. A progress notification is worth passing
 * on only for one of them: the spec says progress stops when the request completes, and the
 * SDK reports progress for a token it no longer knows as an error (after a response, after
 * a cancellation). Fed with the requests as they go one way, and the responses and
 * cancellations as they go either way.
 */
/** Requests tracked at most: a task's token is never finished, so the oldest are forgotten. */
export const MAX_TRACKED_TOKENS = 10_000;

export class ProgressTokens {
  /** request id key → its token key, and the reverse (insertion order: oldest first). */
  private readonly byRequest = new Map<string, string>();
  private readonly tokens = new Map<string, string>();

  /** A request went out (client) or came in (server): its token, if any, is in flight. */
  request(m: JsonRpcMessage): void {
    const id = requestId(m);
    const token = id === undefined ? undefined : progressTokenOf(m);
    if (id === undefined || token === undefined) return;
    this.byRequest.set(idKey(id), idKey(token));
    this.tokens.set(idKey(token), idKey(id));
    if (this.byRequest.size > MAX_TRACKED_TOKENS) {
      const [oldId, oldToken] = this.byRequest.entries().next().value!;
      this.byRequest.delete(oldId);
      if (this.tokens.get(oldToken) === oldId) this.tokens.delete(oldToken);
    }
    if (this.tokens.size > MAX_TRACKED_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
  }

  /** A response (unless it starts a task) or a cancellation ends the request `id`. */
  finished(id: JsonRpcId, response?: JsonRpcMessage): void {
    if (response !== undefined && startsTask(response)) return;
    const token = this.byRequest.get(idKey(id));
    if (token === undefined) return;
    this.byRequest.delete(idKey(id));
    this.tokens.delete(token);
  }

  /** Whether a progress notification with this token belongs to a request in flight. */
  inFlight(token: JsonRpcId): boolean {
    return this.tokens.has(idKey(token));
  }
}
