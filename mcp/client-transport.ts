/**
 * The client side: an MCP `Transport` over a `ResilientClient`. A dropped connection is not
 * a close: the SDK reconnects, resumes, resends what was not answered and replays what the
 * server sent meanwhile, so requests in flight survive it. The MCP connection closes only
 * when the resilient-ws session is gone: lost, ended by the server, or the client stopped.
 */
import {
  ResilientClient,
  type ClientOptions,
  type ClientSession,
  type ClientGapEvent,
} from '../client/index.js';
import {
  cancelledOf,
  isJsonRpcMessage,
  progressOf,
  ProgressTokens,
  requestId,
  responseId,
  type JsonRpcMessage,
  type MessageExtra,
} from './json-rpc.js';

/** Cancelled request ids remembered, to drop a response that crossed the cancellation. */
const CANCELLED_KEPT = 256;

export class ResilientClientTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JsonRpcMessage, extra?: MessageExtra) => void) | undefined;
  /** The resilient-ws client the messages go through. */
  readonly client: ResilientClient;
  private readonly progress = new ProgressTokens();
  private readonly cancelled = new Set<string>();
  private offs: (() => void)[] = [];
  private started = false;
  private closed = false;
  private closing = false;

  /**
   * @param target the server's WebSocket URL (`ws://host/ws`): a new `ResilientClient` with
   *   `options` and `onSessionLost: 'stop'`; or a `ResilientClient` not yet connected (make
   *   it with `onSessionLost: 'stop'` too), which the transport then owns: `close()` closes
   *   it, and a lost session closes it too.
   */
  constructor(target: string | ResilientClient, options: ClientOptions = {}) {
    this.client =
      typeof target === 'string'
        ? new ResilientClient(target, { ...options, onSessionLost: 'stop' })
        : target;
  }

  /**
   * The resilient-ws session (sid, key, last seq), undefined before the first `welcome` and
   * after the session ended. Not `sessionId`: the SDK's `Client.connect()` would then skip
   * `initialize`.
   */
  get rwsSession(): ClientSession | undefined {
    return this.client.session;
  }

  /** Connects; resolves at once (sends wait in the client's queue until `welcome`). */
  start(): Promise<void> {
    if (this.started) return Promise.reject(new Error('ResilientClientTransport already started'));
    if (this.closed || this.client.state === 'closed')
      return Promise.reject(
        new Error('ResilientClientTransport: the resilient-ws client is closed'),
      );
    this.started = true;
    const c = this.client;
    this.offs = [
      c.on('message', (m) => this.received(m.data)),
      c.on('gap', (g) => this.error(new Error(`resilient-ws lost server messages: ${gap(g)}`))),
      c.on('error', (e) => this.error(Object.assign(new Error(e.message), { code: e.code }))),
      c.on('sessionLost', ({ reason }) => {
        this.lost(
          `resilient-ws session lost (${reason}): the server no longer has the MCP session; requests in flight may or may not have run`,
        );
        // A client with `onSessionLost: 'resend'` would go on in a session nobody initialized.
        void c.close();
      }),
      c.on('sessionEnded', ({ reason }) =>
        this.lost(`the server ended the resilient-ws session: ${reason}`),
      ),
      c.on('close', ({ code, reason }) =>
        this.lost(`the resilient-ws client stopped (close ${code}${reason ? `: ${reason}` : ''})`),
      ),
    ];
    c.connect();
    return Promise.resolve();
  }

  /**
   * Sends `message` as a client message: resolves when the server has it (its `ok`), and
   * rejects with the `ClientError` otherwise (a `nack`, `session_lost`, `closed`, …).
   */
  async send(message: JsonRpcMessage, _options?: unknown): Promise<void> {
    if (this.closed) throw new Error('ResilientClientTransport is closed');
    if (requestId(message) !== undefined) this.progress.request(message);
    const cancelled = cancelledOf(message);
    if (cancelled !== undefined) {
      this.progress.finished(cancelled);
      this.cancelled.add(`${typeof cancelled}:${cancelled}`);
      if (this.cancelled.size > CANCELLED_KEPT)
        this.cancelled.delete(this.cancelled.values().next().value!);
    }
    await this.client.send(message);
  }

  /** Ends the session (`bye`) and stops the client; `onclose` follows, once (no `onerror`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    await this.client.close();
    this.finish();
  }

  private received(data: unknown): void {
    if (this.closed) return;
    if (!isJsonRpcMessage(data)) {
      this.error(new Error(`resilient-ws delivered a message that is not JSON-RPC 2.0`));
      return;
    }
    const token = progressOf(data);
    if (token !== undefined && !this.progress.inFlight(token)) return;
    const id = responseId(data);
    if (id === undefined) {
      this.onmessage?.(data);
      return;
    }
    this.progress.finished(id, data);
    if (this.cancelled.delete(`${typeof id}:${id}`)) return;
    // The SDK (v1 Protocol) handles a notification one microtask after `onmessage` and a
    // response at once, forgetting the request's progress handler: the last progress and the
    // response, delivered in one batch (a replay after a resume), would lose that progress and
    // report it as an unknown token. The response waits for the handlers queued before it.
    queueMicrotask(() => {
      if (!this.closed) this.onmessage?.(data);
    });
  }

  private error(error: Error): void {
    if (!this.closed) this.onerror?.(error);
  }

  /** The session is gone: `onerror` (unless `close()` was called), then `onclose`, once. */
  private lost(reason: string): void {
    if (this.closed) return;
    if (!this.closing) this.onerror?.(new Error(reason));
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    this.offs = [];
    this.onclose?.();
  }
}

function gap(g: ClientGapEvent): string {
  return g.reason === 'resume' ? `${g.missing} missing on a resume` : `seqs ${g.from}-${g.to}`;
}
