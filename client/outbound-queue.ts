/**
 * Client messages sent but not yet answered, in send order. Each entry keeps its encoded
 * frame, so a resend after a reconnect is byte-identical: the same id lets the server's
 * dedup window make the retry effectively-once. Each entry also knows whether the server may
 * have handled it: only then is it lost with a lost session (`rejectTransmitted`).
 */
import { fullJitter, type BackoffOptions } from '../src/resilience/backoff.js';
import type { ClientClock } from './clock.js';
import { ClientError, ClientErrorCode } from './errors.js';

export interface OutboundQueueOptions {
  /** Bound on unanswered messages (options.maxQueue). */
  max: number;
  clock: ClientClock;
  /** Delays between retries after a retryable `nack`. */
  backoff: BackoffOptions;
  random: () => number;
  /**
   * Sends a frame on the open connection; does nothing without one (see `resendAll`).
   * Calls `sent` once the frame has actually been handed to the socket (it may be batched
   * first), never if it was dropped or the socket refused it.
   */
  transmit(frame: string, sent: () => void): void;
}

interface Pending {
  readonly id: string;
  readonly frame: string;
  /** Retryable nacks so far: the exponent of the next retry delay. */
  retries: number;
  /** A retry delay is running: a reconnect does not resend the message before it ends. */
  waiting: boolean;
  /**
   * The socket took it since the last retryable `nack` (or ever, without one), so the
   * server may have handled it.
   */
  transmitted: boolean;
  retryTimer: unknown;
  resolve(data: unknown): void;
  reject(error: Error): void;
}

export class OutboundQueue {
  // A Map keeps insertion order (the resend order) and finds an answered id in O(1).
  private readonly items = new Map<string, Pending>();

  constructor(private readonly o: OutboundQueueOptions) {}

  get size(): number {
    return this.items.size;
  }

  /**
   * Adds and transmits a message. The promise resolves with `ok.data`, or rejects with
   * `queue_full` at once, with the code of a non-retryable `nack`, or through `rejectAll`.
   */
  add(id: string, frame: string): Promise<unknown> {
    if (this.items.size >= this.o.max) {
      const message = `${this.o.max} messages are still unanswered (options.maxQueue)`;
      return Promise.reject(new ClientError(ClientErrorCode.QueueFull, message));
    }
    const promise = new Promise<unknown>((resolve, reject) => {
      const p: Pending = {
        id,
        frame,
        retries: 0,
        waiting: false,
        transmitted: false,
        retryTimer: undefined,
        resolve,
        reject,
      };
      this.items.set(id, p);
    });
    this.send(this.items.get(id)!);
    return promise;
  }

  /** Transmits every unanswered message, in order, except those waiting out a retry delay. */
  resendAll(): void {
    for (const p of this.items.values()) if (!p.waiting) this.send(p);
  }

  /**
   * The session was lost (a new session replaced it): a message that went out may have been
   * handled by the old session, whose dedup window is gone, so resending it could handle it
   * twice. Reject those (the application decides); keep the ones that never reached the
   * socket (dropped from a batch, refused by `send`) and the ones waiting out a retry delay
   * after a retryable `nack` (the old session did not handle that attempt).
   */
  rejectTransmitted(error: (id: string) => Error): void {
    for (const p of [...this.items.values()]) {
      if (!p.transmitted) continue;
      this.take(p.id);
      p.reject(error(p.id));
    }
  }

  private send(p: Pending): void {
    this.o.transmit(p.frame, () => {
      p.transmitted = true;
    });
  }

  /** `ok` (also with `dup`): the server handled it. Unknown ids (answered before) are ignored. */
  ok(id: string, data: unknown): void {
    const p = this.take(id);
    p?.resolve(data);
  }

  /**
   * `nack`: if `retryable`, retry after `retryAfterMs` when the server gave one (capped at
   * `backoff.capMs`), else after a full-jitter delay; if not, reject with its code.
   */
  nack(id: string, code: string, message: string, retryable: boolean, retryAfterMs?: number): void {
    const p = this.items.get(id);
    if (p === undefined) return;
    if (!retryable) {
      this.take(id);
      p.reject(new ClientError(code, message, { details: { id, retryable } }));
      return;
    }
    const { clock } = this.o;
    if (p.waiting) clock.clearTimeout(p.retryTimer);
    // The server refused this attempt without handling it: until the retry goes out, a lost
    // session cannot have handled the message.
    p.transmitted = false;
    p.waiting = true;
    p.retryTimer = clock.setTimeout(
      () => {
        p.waiting = false;
        if (this.items.get(id) === p) this.send(p);
      },
      // The server's hint (a rate limit) says when the message will fit: waiting longer
      // only slows the client down, and retrying sooner is refused again.
      retryAfterMs === undefined
        ? fullJitter(p.retries++, this.o.backoff, this.o.random)
        : Math.min(retryAfterMs, this.o.backoff.capMs),
    );
  }

  /** Rejects and forgets every message (the client stopped). */
  rejectAll(error: (id: string) => Error): void {
    const all = [...this.items.values()];
    this.items.clear();
    for (const p of all) {
      if (p.waiting) this.o.clock.clearTimeout(p.retryTimer);
      p.reject(error(p.id));
    }
  }

  private take(id: string): Pending | undefined {
    const p = this.items.get(id);
    if (p === undefined) return undefined;
    this.items.delete(id);
    if (p.waiting) this.o.clock.clearTimeout(p.retryTimer);
    return p;
  }
}
