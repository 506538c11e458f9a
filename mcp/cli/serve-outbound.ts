/**
 * The server → client messages of one `mcp-serve` session (mcp/cli/serve-host.ts): sent in
 * order, one at a time, never dropped. A full outbox or a store that is away makes the sender
 * wait and try again; a response too large to send becomes a JSON-RPC error for its request.
 */
import { isRwsError } from '../../src/errors.js';
import type { LineLevel } from '../../src/server/log-limiter.js';
import type { RwsServer } from '../../src/server/server.js';
import { classify, errorResponse, RPC, type JsonRpcObject } from './serve-jsonrpc.js';

/** How long a send waits before trying again (outbox full, store away). */
const RETRY_MS = 200;

/** What an Outbound uses of its host. */
export interface OutboundHost {
  readonly server: Pick<RwsServer, 'send'>;
  /** A rate-limited log line. */
  limited(key: string, level: LineLevel, fields: Record<string, unknown>, msg: string): void;
}

/** The server → client messages of one session, sent in order, one at a time. */
export class Outbound {
  private chain: Promise<void> = Promise.resolve();
  pending = 0;
  /** Seq of the last stored send. */
  lastSeq = 0;
  /** The session is gone (or the host stopping): nothing more is sent. */
  gone = false;

  constructor(
    private readonly host: OutboundHost,
    readonly sid: string,
    private readonly backlog: (pending: number) => void,
  ) {}

  push(message: JsonRpcObject, key?: string): void {
    if (this.gone) return;
    this.pending++;
    this.backlog(this.pending);
    this.chain = this.chain.then(async () => {
      try {
        await this.deliver(message, key);
      } finally {
        this.pending--;
        this.backlog(this.pending);
      }
    });
  }

  /** Resolves when everything pushed so far was sent (or given up). */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async deliver(message: JsonRpcObject, key: string | undefined): Promise<void> {
    let waited = false;
    while (!this.gone) {
      try {
        // ifFull reject whatever the overflow policy: a result is never dropped or evicted;
        // the client is away with a full outbox, so wait (the child blocks on its stdout).
        const r = await this.host.server.send(this.sid, message, {
          ...(key === undefined ? {} : { key }),
          ifFull: 'reject',
        });
        if ('seq' in r) this.lastSeq = r.seq;
        return;
      } catch (error) {
        const code = isRwsError(error) ? error.code : undefined;
        if (code === 'outbox_full') {
          if (!waited)
            this.host.limited(
              'outbox_full',
              'warn',
              { sid: this.sid },
              'mcp-serve: client outbox full, waiting',
            );
          waited = true;
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        if (code === 'unknown_session') {
          this.gone = true;
          return;
        }
        if (code === undefined || code === 'store_unavailable') {
          // The store failed (Redis away): a result is never given up for that; try again.
          this.host.limited(
            'send:retry',
            'warn',
            { sid: this.sid, code, err: code === undefined ? error : undefined },
            'mcp-serve: sending to the client failed, retrying',
          );
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        const c = classify(message);
        if (code === 'message_too_large' && c?.kind === 'response' && c.id !== null) {
          // Never a silent hang: the request gets a small error instead of its result.
          message = errorResponse(c.id, {
            code: RPC.serverError,
            message:
              'the MCP server answered with a message larger than resilient-ws may send (maxFrame, outboxMaxBytes)',
          });
          key = undefined;
          continue;
        }
        this.host.limited(
          `send:${code ?? 'error'}`,
          'warn',
          { sid: this.sid, code, err: code === undefined ? error : undefined },
          'mcp-serve: a message of the MCP server could not be sent to the client',
        );
        return;
      }
    }
  }
}
