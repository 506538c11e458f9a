/**
 * What the bridge needs of JSON-RPC 2.0, without the MCP SDK (the bridge must run without
 * it): splitting stdin into bounded lines, telling requests, notifications and responses
 * apart, and building error responses.
 */

export type JsonRpcId = string | number;

/** A JSON-RPC message as the bridge sees it: an object with `jsonrpc: "2.0"`. */
export type JsonRpcMessage = { jsonrpc: '2.0' } & Record<string, unknown>;

export const JSONRPC_ERRORS = {
  /** The line is not JSON (or not UTF-8, or too long to read). */
  parseError: -32700,
  /** JSON, but not a JSON-RPC 2.0 message. */
  invalidRequest: -32600,
  /** The server refused the message (a nack, or too large to send). */
  internalError: -32603,
  /** The resilient-ws session is gone: the request will never be answered. */
  sessionGone: -32000,
} as const;

export type Classified =
  | { kind: 'request'; message: JsonRpcMessage; id: JsonRpcId; method: string }
  | { kind: 'notification'; message: JsonRpcMessage; method: string }
  | { kind: 'response'; message: JsonRpcMessage; id: JsonRpcId | null }
  /** Not a JSON-RPC message; `id` when one could be read (the error response carries it). */
  | { kind: 'invalid'; reason: string; id: JsonRpcId | null };

function isId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** Sorts a parsed JSON value into request, notification, response or invalid. */
export function classify(value: unknown): Classified {
  if (Array.isArray(value))
    return { kind: 'invalid', reason: 'JSON-RPC batches are not supported', id: null };
  if (typeof value !== 'object' || value === null)
    return { kind: 'invalid', reason: 'a JSON-RPC message must be an object', id: null };
  const m = value as Record<string, unknown>;
  const id = isId(m.id) ? m.id : null;
  if (m.jsonrpc !== '2.0') return { kind: 'invalid', reason: 'jsonrpc must be "2.0"', id };
  const message = m as JsonRpcMessage;
  if ('method' in m) {
    if (typeof m.method !== 'string')
      return { kind: 'invalid', reason: 'method must be a string', id };
    if (!('id' in m)) return { kind: 'notification', message, method: m.method };
    if (id === null)
      return { kind: 'invalid', reason: 'a request id must be a string or a number', id };
    return { kind: 'request', message, id, method: m.method };
  }
  if ('result' in m || 'error' in m) {
    // A response may carry id null (an error about a message whose id could not be read).
    if (id === null && m.id !== null)
      return { kind: 'invalid', reason: 'a response id must be a string, a number or null', id };
    return { kind: 'response', message, id };
  }
  return {
    kind: 'invalid',
    reason: 'neither a request, a notification nor a response (no method, result or error)',
    id,
  };
}

/** A key for an id that keeps 1 and "1" apart (the rule of the library transports). */
export { idKey } from '../json-rpc.js';

export function errorResponse(
  id: JsonRpcId | null,
  code: number,
  message: string,
  data?: Record<string, unknown>,
): JsonRpcMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: data === undefined ? { code, message } : { code, message, data },
  };
}

/**
 * What the line splitter hands on: a complete line, a line dropped for its length, or a line
 * that is not UTF-8.
 */
export type LineEvent =
  | { kind: 'line'; text: string }
  | { kind: 'overlong'; bytes: number }
  | { kind: 'notUtf8'; bytes: number };

/**
 * Splits a byte stream into lines at `\n` (a `\r` before it is dropped), holding at most
 * `maxLineBytes` of an unfinished line: the rest of a longer line is skipped unread up to its
 * newline and reported once as `overlong`, so memory stays bounded whatever the input.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes of the current line skipped so far (over the limit), or -1 when not skipping. */
  private skipped = -1;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; returns the lines it completed, in order. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      this.take(chunk.subarray(start, end));
      if (nl === -1) break;
      out.push(this.endLine());
      start = nl + 1;
    }
    return out;
  }

  /** At end of input: the last line if it had no newline (or was over the limit). */
  end(): LineEvent[] {
    if (this.skipped >= 0 || this.held > 0) return [this.endLine()];
    return [];
  }

  private take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.skipped >= 0) {
      this.skipped += bytes.length;
      return;
    }
    if (this.held + bytes.length > this.maxLineBytes) {
      this.skipped = this.held + bytes.length;
      this.parts = [];
      this.held = 0;
      return;
    }
    // Copied: the stream may reuse its buffer.
    this.parts.push(Buffer.from(bytes));
    this.held += bytes.length;
  }

  private endLine(): LineEvent {
    if (this.skipped >= 0) {
      const bytes = this.skipped;
      this.skipped = -1;
      return { kind: 'overlong', bytes };
    }
    const buf = Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    const n = buf.length > 0 && buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length;
    try {
      return { kind: 'line', text: this.decoder.decode(buf.subarray(0, n)) };
    } catch {
      return { kind: 'notUtf8', bytes: buf.length };
    }
  }
}
