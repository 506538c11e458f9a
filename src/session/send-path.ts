/**
 * Server → client sends: serialize once, check the size, take the idempotency id, append to
 * the outbox, then deliver to the session's connection if it is attached here, or tell the
 * other nodes through the bus (`Remote`) so the node that holds it delivers.
 */
import { RwsError } from '../errors.js';
import { idempotencyId } from '../outbox/content-hash.js';
import type { AppendOutcome, Outbox } from '../outbox/outbox.js';
import { encodeMsg } from '../protocol/index.js';
import type { NewMessage, StoredMessage } from '../store/store.js';
import type { Delivery } from './delivery.js';
import type { SessionRegistry } from './session-registry.js';

export interface SendOptions {
  /** Idempotency id: a repeat within the dedup window returns the original seq. */
  id?: string;
  /** Latest value wins: an unacked message with the same key is superseded. */
  key?: string;
  /** Deliver only if attached here and not congested; never stored, no seq. */
  volatile?: boolean;
  /**
   * `'content'`: the xxHash64 of the serialized data is the idempotency id (`xxh64:<hex>`), so
   * the same data again within the dedup window returns the original seq with `dup: true`.
   * Not with `id`, `key` or `volatile` (RwsError `bad_options`).
   */
  dedup?: 'content';
  /**
   * `'reject'`: when the outbox is full, refuse this message (RwsError `outbox_full`) whatever
   * the overflow policy, instead of dropping it or disconnecting (admin replays use it, so a
   * dead letter is never dropped a second time).
   */
  ifFull?: 'reject';
}

export type SendResult =
  | { seq: number; dup?: true }
  | { dropped: 'overflow'; policy: 'drop-newest' | 'disconnect' }
  | { delivered: boolean };

export interface SendLimits {
  /** Largest serialized `data` accepted (the server passes the smaller of the outbox byte
   *  bound and the max frame). */
  maxMessageBytes: number;
  /** Hashes serialized data for `dedup: 'content'` (xxHash64 hex, see `loadContentHasher`);
   *  without it such a send fails with `content_hash_unavailable`. */
  contentHash: ((json: string) => string) | undefined;
}

/** What a send tells the other nodes about a session that is not attached here. */
export interface Remote {
  appended(sid: string, seq: number, dropped: readonly StoredMessage[]): void;
  refused(sid: string): void;
}

/** Session ids a broadcast reads from the store at a time. */
const BROADCAST_PAGE = 1000;

export class SendPath {
  constructor(
    private readonly outbox: Outbox,
    private readonly registry: SessionRegistry,
    private readonly delivery: Delivery,
    private readonly remote: Remote,
    private readonly limits: SendLimits,
  ) {}

  /**
   * Send one stored (or volatile) message to a session. Serializes `data` exactly once.
   * Always returns a promise, never throws: every error is a rejection.
   */
  send(sid: string, data: unknown, options: SendOptions = {}): Promise<SendResult> {
    try {
      const json = serialize(data);
      const bytes = this.checkSize(json);
      const id = idempotencyId(json, options, this.limits.contentHash);
      return this.sendSerialized(sid, json, bytes, id, options);
    } catch (error) {
      return rejection(error);
    }
  }

  /**
   * Send to every live session (attached anywhere, or detached; volatile: attached here).
   * Resolves with how many were reached.
   */
  async broadcast(data: unknown, options: Omit<SendOptions, 'id'> = {}): Promise<number> {
    // Serialized and size-checked once for every session (never per recipient).
    const json = serialize(data);
    const bytes = this.checkSize(json);
    // Hashed once too; each session dedups against its own window (the same data again
    // reaches the sessions that did not get it the first time, e.g. ones created since).
    const id = idempotencyId(json, options, this.limits.contentHash);
    // The store lists sessions a page at a time, so a broadcast never holds every id at once;
    // each page is sent before the next is read.
    const pages: AsyncIterable<string[]> | string[][] =
      options.volatile === true
        ? [this.registry.localSessions().map((l) => l.sid)]
        : this.outbox.store.sessionIdPages(BROADCAST_PAGE);
    let n = 0;
    for await (const sids of pages) {
      const results = await Promise.allSettled(
        sids.map((sid) => this.sendSerialized(sid, json, bytes, id, options)),
      );
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        const v = r.value;
        if ('seq' in v || ('delivered' in v && v.delivered)) n++;
      }
    }
    return n;
  }

  /**
   * `json` was serialized, size-checked (`bytes`) and given its idempotency `id` once by the
   * caller, for every recipient. Never throws: every error is a rejection.
   *
   * Fast path: a stored send on a store that answers at once (`outbox.canAppendNow`, the
   * memory store) does all of its work now and returns one settled promise. Otherwise (a
   * volatile send, a networked store) the async path. Both append at call time, so a send's
   * seq order is its call order either way.
   */
  private sendSerialized(
    sid: string,
    json: string,
    bytes: number,
    id: string | undefined,
    options: SendOptions,
  ): Promise<SendResult> {
    if (options.volatile === true)
      return this.sendVolatile(sid, json).then((delivered) => ({ delivered }));
    try {
      const message = newMessage(json, bytes, id, options);
      const reject = options.ifFull === 'reject';
      if (!this.outbox.canAppendNow)
        return this.outbox.append(sid, message, reject).then((r) => this.sent(sid, message, r));
      return Promise.resolve(this.sent(sid, message, this.outbox.appendNow(sid, message, reject)));
    } catch (error) {
      return rejection(error);
    }
  }

  /** What a stored send does with the outbox's answer (both paths): deliver, or throw. */
  private sent(sid: string, message: NewMessage, r: AppendOutcome): SendResult {
    switch (r.status) {
      case 'stored': {
        const local = this.registry.current(sid);
        if (local === undefined) this.remote.appended(sid, r.seq, r.dropped);
        else {
          if (r.dropped.length > 0) this.delivery.lost(sid, r.dropped);
          this.delivery.deliver(local, r.seq, message.data, message.id, message.key);
        }
        return { seq: r.seq };
      }
      case 'duplicate':
        return { seq: r.seq, dup: true };
      case 'dropped':
        if (r.policy === 'disconnect') {
          if (this.registry.current(sid) === undefined) this.remote.refused(sid);
          else this.delivery.refused(sid);
        }
        return { dropped: 'overflow', policy: r.policy };
      case 'rejected':
        throw new RwsError('outbox_full', `the outbox of session ${short(sid)} is full`, {
          details: { policy: 'reject' },
        });
      case 'unknown_session':
        throw new RwsError('unknown_session', `no session ${short(sid)}`);
    }
  }

  private async sendVolatile(sid: string, json: string): Promise<boolean> {
    const local = this.registry.current(sid);
    if (local === undefined) {
      if ((await this.outbox.store.getSession(sid)) === undefined)
        throw new RwsError('unknown_session', `no session ${short(sid)}`);
      return false;
    }
    if (!local.conn.writable) return false;
    local.conn.write(encodeMsg(undefined, json));
    return true;
  }

  /** Refuse data larger than one message may be (typed error, HTTP 413); returns its bytes. */
  private checkSize(json: string): number {
    const bytes = Buffer.byteLength(json);
    const limit = this.limits.maxMessageBytes;
    if (bytes > limit)
      throw new RwsError(
        'message_too_large',
        `the serialized data is ${bytes} bytes; the limit is ${limit} (the outbox byte bound and the max frame)`,
      );
    return bytes;
  }
}

/** What an async function returns when its body throws `error`: a promise rejected with it. */
function rejection(error: unknown): Promise<never> {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rethrown as is
  return Promise.reject(error);
}

/** The store's view of one send (an object per send: `id` and `key` only when given). */
function newMessage(
  data: string,
  bytes: number,
  id: string | undefined,
  options: SendOptions,
): NewMessage {
  const message: NewMessage = { data, bytes };
  if (id !== undefined) message.id = id;
  if (options.key !== undefined) message.key = options.key;
  return message;
}

function serialize(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new RwsError('bad_data', 'data must be JSON-serializable', { cause });
  }
  if (json === undefined)
    throw new RwsError('bad_data', 'data must be a JSON value (got undefined or a function)');
  return json;
}

/** A session id as shown in an error message: ids come from clients, so keep messages short. */
export function short(sid: string): string {
  return sid.length > 64 ? `${sid.slice(0, 61)}...` : sid;
}
