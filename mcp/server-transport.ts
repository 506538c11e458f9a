/**
 * The server side: an MCP `Transport` bound to one resilient-ws session, and `serveMcp`, the
 * message handler that gives each session its own transport (and MCP server). One JSON-RPC
 * message = one resilient-ws message: client → server, a client message (deduplicated by its
 * id, in order, answered `ok` once handed to the MCP server); server → client, a stored
 * message (replayed after a reconnect), progress keyed per token (latest value wins while the
 * client is away).
 */
import { isRwsError } from '../src/errors.js';
import type { ClientMessage, MessageHandler, RwsServer } from '../src/index.js';
import { NackError } from '../src/session/client-messages.js';
import {
  cancelledOf,
  isJsonRpcMessage,
  progressKey,
  progressOf,
  ProgressTokens,
  requestId,
  responseId,
  type JsonRpcId,
  type JsonRpcMessage,
  type MessageExtra,
} from './json-rpc.js';

/** What a server transport uses of the resilient-ws server. */
export type McpSessionHost = Pick<RwsServer, 'send' | 'endSession'>;

/** What `serveMcp` uses of the resilient-ws server (an `RwsServer`). */
export interface McpHost extends McpSessionHost {
  onMessage(handler: MessageHandler): void;
  on(event: 'end' | 'reap', listener: (e: { sid: string }) => void): () => void;
}

/** The JSON-RPC error code of a response that could not be delivered (Internal error). */
export const UNDELIVERABLE_RESPONSE = -32603;

/** Ended sessions remembered, to refuse a late message of one rather than connect a server. */
const ENDED_KEPT = 4096;

/** How often a refused response's error is offered again while the outbox is full. */
const FULL_RETRY_MS = 1000;

/**
 * An MCP server transport over one resilient-ws session (`sessionId` is its sid). Made by
 * `serveMcp`, which hands it the session's client messages (`receive`) and tells it when the
 * session ends (`sessionEnded`).
 */
export class ResilientServerTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JsonRpcMessage, extra?: MessageExtra) => void) | undefined;
  private readonly progress = new ProgressTokens();
  private closed = false;

  constructor(
    private readonly server: McpSessionHost,
    /** The resilient-ws session's id. */
    readonly sessionId: string,
  ) {}

  /** Nothing to start: the session exists, and `serveMcp` delivers its messages. */
  async start(): Promise<void> {}

  /**
   * Sends `message` as a stored message of the session (`server.send`); a progress
   * notification is keyed per token, and dropped once its request has been answered or
   * cancelled. A response the server refuses (`message_too_large`, `outbox_full`, or dropped
   * by the overflow policy) is replaced by a small JSON-RPC error for its id (offered again
   * every second while the outbox is full), then the send rejects with the reason.
   */
  async send(message: JsonRpcMessage, _options?: unknown): Promise<void> {
    if (this.closed) throw new Error(`the MCP session ${this.sessionId} is closed`);
    const token = progressOf(message);
    if (token !== undefined) {
      if (!this.progress.inFlight(token)) return;
      await this.server.send(this.sessionId, message, { key: progressKey(token) });
      return;
    }
    const id = responseId(message);
    if (id === undefined) {
      await this.server.send(this.sessionId, message);
      return;
    }
    this.progress.finished(id, message);
    let refused: unknown;
    for (;;) {
      try {
        const r = await this.server.send(this.sessionId, message);
        if (!('dropped' in r)) return;
        refused = new Error(`the response was dropped by the overflow policy (${r.policy})`);
      } catch (error) {
        const code = codeOf(error);
        // The store failed (Redis away): the response is offered again, never lost for that.
        if (code === 'store_unavailable' && !this.closed) {
          await new Promise((resolve) => setTimeout(resolve, FULL_RETRY_MS));
          if (!this.closed) continue;
        }
        if (code !== 'message_too_large' && code !== 'outbox_full') throw error;
        refused = error;
      }
      break;
    }
    await this.sendUndeliverable(id, refused);
    throw refused;
  }

  /** Ends the resilient-ws session (`server.endSession`); `onclose` follows, once. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.server.endSession(this.sessionId, { reason: 'the MCP server closed the session' });
    } finally {
      this.sessionEnded();
    }
  }

  /**
   * Hands a client message to the MCP side (`onmessage`) and returns at once: the request
   * runs on while the next message of the session is handled. Throws a `NackError` (the
   * client's send rejects) for data that is not one JSON-RPC message, or once closed.
   */
  receive(data: unknown): void {
    if (this.closed)
      throw new NackError('mcp_closed', `the MCP session ${this.sessionId} is closed`);
    if (!isJsonRpcMessage(data))
      throw new NackError('invalid_message', 'a message must be one JSON-RPC 2.0 object');
    if (requestId(data) !== undefined) this.progress.request(data);
    const cancelled = cancelledOf(data);
    if (cancelled !== undefined) this.progress.finished(cancelled);
    this.onmessage?.(data);
  }

  /** The resilient-ws session ended (or `close()`): `onclose`, once. */
  sessionEnded(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  /** The small error response that replaces a refused one (`outbox_full`: retried until it fits). */
  private async sendUndeliverable(id: JsonRpcId, reason: unknown): Promise<void> {
    const code = codeOf(reason) ?? 'dropped';
    const error = {
      jsonrpc: '2.0',
      id,
      error: {
        code: UNDELIVERABLE_RESPONSE,
        message: `resilient-ws could not deliver the response (${code}): ${describe(reason)}`,
        data: { code },
      },
    };
    for (;;) {
      try {
        const r = await this.server.send(this.sessionId, error, { ifFull: 'reject' });
        if (!('dropped' in r)) return;
      } catch (e) {
        if (codeOf(e) !== 'outbox_full') throw e;
      }
      if (this.closed) return;
      await new Promise((resolve) => setTimeout(resolve, FULL_RETRY_MS));
      if (this.closed) return;
    }
  }
}

/** What `connect` learns about the session whose first message arrived. */
export interface McpSessionInfo {
  sid: string;
  /** The session's user and claims, when its connection authenticated as one. */
  user?: string;
  claims?: Readonly<Record<string, unknown>>;
}

export interface ServeMcpOptions {
  /**
   * Called with each new session's transport, at its first message (before that message is
   * handed on): connect an MCP server to it, e.g.
   * `const s = new McpServer(info, opts); register tools; await s.connect(transport)`.
   * If it throws, that message is refused (`nack handler_error`) and the next one tries again.
   */
  connect(transport: ResilientServerTransport, session: McpSessionInfo): void | Promise<void>;
}

/** The router `serveMcp` installed. */
export interface McpRouter {
  /** The transport of session `sid`, while it lives. */
  transport(sid: string): ResilientServerTransport | undefined;
  /** The sessions with a transport. */
  readonly size: number;
  /**
   * Stops routing: the handler answers every message `nack mcp_closed`, and each transport
   * fires `onclose` (the MCP servers abort what they run); the resilient-ws sessions are left
   * as they are.
   */
  close(): void;
}

/**
 * Installs the server's client-message handler (`server.onMessage`): one MCP transport per
 * resilient-ws session, created at the session's first message and closed (`onclose`) when
 * the session ends (`end`: bye, `endSession`, the admin API; `reap`: its TTL passed).
 */
export function serveMcp(server: McpHost, options: ServeMcpOptions): McpRouter {
  const transports = new Map<string, ResilientServerTransport>();
  let closed = false;
  const endedSids = new Set<string>();
  const ended = ({ sid }: { sid: string }): void => {
    endedSids.add(sid);
    if (endedSids.size > ENDED_KEPT) endedSids.delete(endedSids.values().next().value!);
    const t = transports.get(sid);
    if (t === undefined) return;
    transports.delete(sid);
    t.sessionEnded();
  };
  const offs = [server.on('end', ended), server.on('reap', ended)];
  const handler: MessageHandler = async (m: ClientMessage) => {
    if (closed) throw new NackError('mcp_closed', 'the MCP router is closed');
    let t = transports.get(m.sid);
    if (t === undefined) {
      // Its claim passed, then the session ended: a transport now would never be closed.
      if (endedSids.has(m.sid))
        throw new NackError('unknown_session', 'the session no longer exists');
      t = new ResilientServerTransport(server, m.sid);
      transports.set(m.sid, t);
      try {
        await options.connect(t, sessionInfo(m));
      } catch (error) {
        if (transports.get(m.sid) === t) transports.delete(m.sid);
        t.sessionEnded();
        throw error;
      }
    }
    t.receive(m.data);
  };
  server.onMessage(handler);
  return {
    transport: (sid) => transports.get(sid),
    get size() {
      return transports.size;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const off of offs) off();
      for (const sid of [...transports.keys()]) ended({ sid });
    },
  };
}

function sessionInfo(m: ClientMessage): McpSessionInfo {
  const info: McpSessionInfo = { sid: m.sid };
  if (m.user !== undefined) info.user = m.user;
  if (m.claims !== undefined) info.claims = m.claims;
  return info;
}

function codeOf(error: unknown): string | undefined {
  return isRwsError(error) ? (error as { code: string }).code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
