/**
 * Client → server messages: dedup by (sid, id) through the store, then the application's
 * handler, then `ok` or `nack`. Messages of one session are handled one at a time in arrival
 * order (across reconnects too, so a retry never overtakes the original), with a bounded
 * queue per session.
 */
import type { SessionIdentity } from './identity.js';
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { isRwsError, RwsError } from '../errors.js';
import type { Emitter } from '../events.js';
import { encodeFrame, NackCode, type ClientMsgFrame, type NackFrame } from '../protocol/index.js';
import type { Store } from '../store/store.js';

/** What a handler receives for each client message (never for a duplicate). */
export interface ClientMessage {
  sid: string;
  id: string;
  data: unknown;
  /** The session's user, when its connection authenticated as one (src/auth/principal.ts). */
  user?: string;
  /** The principal's claims, when it had any. */
  claims?: Readonly<Record<string, unknown>>;
}

/**
 * Handles one client message. The resolved value becomes `ok.data` (undefined: none).
 * Throw a `NackError` to refuse with a code; any other error becomes a non-retryable
 * `nack` with code `handler_error`.
 */
export type MessageHandler = (message: ClientMessage) => unknown;

/** Thrown by a handler to answer `nack` with a code and whether the client may retry. */
export class NackError extends RwsError {
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NackError';
    this.retryable = options?.retryable ?? false;
  }
}

/** Writes one encoded frame to the session's current connection. */
type Reply = (text: string) => void;

interface Lane {
  tail: Promise<void>;
  depth: number;
  /** Characters of the queued frames (a bound next to the count). */
  chars: number;
}

/** Most characters of client messages queued per session before `nack overloaded`. */
const MAX_QUEUED_CHARS = 8 * 1024 * 1024;

export class ClientMessages {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly events: Emitter<CoreEvents>,
    private readonly maxQueued: number,
    public handler: MessageHandler | undefined,
    /** Who runs the handlers, for the store's claims (`Store.claimClientMessage`). */
    private readonly owner: string,
  ) {}

  /**
   * Resolves when every message queued so far for `sid` has been answered (at most
   * `idleTimeoutMs`, so a hung handler cannot hold a closing session forever).
   */
  idle(sid: string, idleTimeoutMs = 10_000): Promise<void> {
    const lane = this.lanes.get(sid);
    if (lane === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, idleTimeoutMs);
      timer.unref();
      void lane.tail.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Resolves when every message queued so far, in every session, has been answered (at most
   * `timeoutMs`): shutdown lets the answers to drained upstream calls reach their clients
   * before the connections close.
   */
  allIdle(timeoutMs: number): Promise<void> {
    if (this.lanes.size === 0) return Promise.resolve();
    const tails = [...this.lanes.values()].map((l) => l.tail);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      void Promise.all(tails).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Queue a message of session `sid`; `reply` is looked up when the answer is ready. */
  accept(
    sid: string,
    frame: ClientMsgFrame,
    reply: (sid: string) => Reply | undefined,
    size = 0,
    identity?: SessionIdentity,
  ): void {
    let lane = this.lanes.get(sid);
    if (lane === undefined) {
      lane = { tail: Promise.resolve(), depth: 0, chars: 0 };
      this.lanes.set(sid, lane);
    }
    if (lane.depth >= this.maxQueued || (lane.depth > 0 && lane.chars + size > MAX_QUEUED_CHARS)) {
      this.events.emit('clientMessageRefused', { sid, id: frame.id, code: NackCode.Overloaded });
      reply(sid)?.(
        encodeFrame({
          t: 'nack',
          id: frame.id,
          code: NackCode.Overloaded,
          message: `more than ${this.maxQueued} client messages (maxPendingClientMessages) or ${MAX_QUEUED_CHARS} characters queued for this session`,
          retryable: true,
        }),
      );
      return;
    }
    lane.depth++;
    lane.chars += size;
    const current = lane;
    current.tail = current.tail
      .then(() => this.process(sid, frame, reply, identity))
      .catch((error: unknown) => this.events.emit('error', { where: 'client-message', error }))
      .finally(() => {
        current.depth--;
        current.chars -= size;
        if (current.depth === 0 && this.lanes.get(sid) === current) this.lanes.delete(sid);
      });
  }

  private async process(
    sid: string,
    frame: ClientMsgFrame,
    reply: (sid: string) => Reply | undefined,
    identity: SessionIdentity | undefined,
  ): Promise<void> {
    const { id } = frame;
    // The store failed (Redis away) before anything ran: the client may retry as is.
    const unavailable = (error: unknown): void => {
      this.events.emit('error', { where: 'client-message', error });
      reply(sid)?.(
        encodeFrame({
          t: 'nack',
          id,
          code: NackCode.Unavailable,
          message: 'the session store is unavailable; retry',
          retryable: true,
        }),
      );
    };
    let claim: Awaited<ReturnType<Store['claimClientMessage']>>;
    try {
      claim = await this.store.claimClientMessage(sid, id, this.clock.now(), this.owner);
    } catch (error) {
      unavailable(error);
      return;
    }
    if (claim === 'unknown_session') {
      reply(sid)?.(
        encodeFrame({
          t: 'nack',
          id,
          code: 'unknown_session',
          message: 'the session no longer exists',
          retryable: false,
        }),
      );
      return;
    }
    if (claim === 'in_progress') {
      // Claimed and not completed: its handler still runs elsewhere (another node, or a node
      // that died with it). Never `ok dup` without a result: the client retries later.
      this.events.emit('clientMessage', { sid, id, dup: true, ok: false });
      reply(sid)?.(
        encodeFrame({
          t: 'nack',
          id,
          code: NackCode.InProgress,
          message: 'this message id is still being handled; retry later',
          retryable: true,
        }),
      );
      return;
    }
    if (claim === 'duplicate') {
      // Answer with the original result when the store kept it (within the result budget).
      let kept: string | undefined;
      try {
        kept = await this.store.clientMessageResult(sid, id, this.clock.now());
      } catch (error) {
        unavailable(error);
        return;
      }
      this.events.emit('clientMessage', { sid, id, dup: true, ok: true });
      reply(sid)?.(okText(id, kept, true));
      return;
    }
    if (this.events.has('message')) this.events.emit('message', { sid, id, data: frame.data });
    let json: string | undefined;
    try {
      const result =
        this.handler === undefined
          ? undefined
          : await this.handler(clientMessage(sid, id, frame.data, identity));
      json = serializeResult(result);
    } catch (error) {
      // If the release fails too, the claim stays pending: a retry gets `in_progress` until
      // the dedup window forgets it. The answer is the handler's either way.
      await this.store
        .releaseClientMessage(sid, id)
        .catch((e: unknown) => this.events.emit('error', { where: 'client-message', error: e }));
      this.events.emit('clientMessage', { sid, id, dup: false, ok: false });
      reply(sid)?.(encodeFrame(toNack(id, error)));
      if (!isNack(error)) this.events.emit('error', { where: 'message-handler', error });
      return;
    }
    // Done, with or without data: a repeat is a duplicate from now on, never in_progress. The
    // handler ran: if recording that fails, the answer is still ok (a retry then gets
    // `in_progress` until the dedup window forgets the claim, never a second run).
    await this.store
      .completeClientMessage(sid, id, json)
      .catch((e: unknown) => this.events.emit('error', { where: 'client-message', error: e }));
    this.events.emit('clientMessage', { sid, id, dup: false, ok: true });
    reply(sid)?.(okText(id, json, false));
  }
}

/** The handler's result as JSON text (undefined: no data); throws a typed error if it has none. */
function serializeResult(result: unknown): string | undefined {
  if (result === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (cause) {
    throw new NackError(
      'handler_error',
      'the handler returned data that is not JSON-serializable',
      {
        cause,
      },
    );
  }
  return json;
}

/** An `ok` frame around already-serialized data: the result is never re-serialized. */
function okText(id: string, json: string | undefined, dup: boolean): string {
  const head = `{"t":"ok","id":${JSON.stringify(id)}${dup ? ',"dup":true' : ''}`;
  return json === undefined ? `${head}}` : `${head},"data":${json}}`;
}

/** A NackError, also from another copy of the package (brand check, not instanceof). */
function isNack(error: unknown): error is NackError {
  return isRwsError(error) && typeof (error as { retryable?: unknown }).retryable === 'boolean';
}

function toNack(id: string, error: unknown): NackFrame {
  if (
    error instanceof NackError ||
    (isRwsError(error) && typeof (error as { retryable?: unknown }).retryable === 'boolean')
  )
    return {
      t: 'nack',
      id,
      code: error.code,
      message: error.message,
      retryable: (error as NackError).retryable,
    };
  return {
    t: 'nack',
    id,
    code: 'handler_error',
    message: 'the message handler failed',
    retryable: false,
  };
}

/** What a handler receives: the message, and who sent it when the session has a user. */
function clientMessage(
  sid: string,
  id: string,
  data: unknown,
  identity: SessionIdentity | undefined,
): ClientMessage {
  if (identity === undefined) return { sid, id, data };
  const m: ClientMessage = { sid, id, data, user: identity.user };
  if (identity.claims !== undefined) m.claims = identity.claims;
  return m;
}
