/**
 * Incoming frames of one connection: hello starts the handshake (handshake.ts), then acks,
 * client messages, heartbeats and bye. Frames that arrive while the handshake is in flight
 * wait (bounded) and are handled after `welcome`, in order.
 */
import {
  CloseCode,
  decodeClientMessage,
  encodeFrame,
  ErrorCode,
  NackCode,
  type ClientFrame,
  type Decoded,
} from '../protocol/index.js';
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';
import { PERSISTENT, RateBucket, RateLimit, type ClientLimits } from './client-limits.js';
import type { ClientMessages } from './client-messages.js';
import type { Connection } from './connection.js';
import type { Delivery } from './delivery.js';
import type { Handshake } from './handshake.js';
import type { LocalSession } from './local-session.js';
import type { SessionRegistry } from './session-registry.js';

/** What the frame handler works with (narrow on purpose: not the hub). */
export interface FrameContext {
  readonly registry: SessionRegistry;
  readonly delivery: Delivery;
  readonly outbox: Outbox;
  readonly clientMessages: ClientMessages;
  readonly handshake: Handshake;
  readonly events: Emitter<CoreEvents>;
  readonly clock: Clock;
  readonly maxBadFrames: number;
  /** The client's rate and JSON depth limits (client-limits.ts). */
  readonly limits: ClientLimits;
  /** The session ended here on purpose (bye): tell the other nodes (bus `ended`). */
  ended(sid: string, by: 'bye'): void;
  /** Mark the session detached in the store, so that it is reaped after its TTL. */
  detach(sid: string): void;
}

/** A pong alone in its message, encoded as the SDK encodes it. */
const PONG = encodeFrame({ t: 'pong' });

const MAX_EARLY_FRAMES = 1000;
/** What frames held before welcome may add up to (characters). */
const MAX_EARLY_CHARS = 4 * 1024 * 1024;

export class FrameHandler {
  private readonly early = new WeakMap<
    Connection,
    { items: { d: Decoded<ClientFrame>; size: number }[]; chars: number }
  >();

  private readonly rate: RateLimit;

  constructor(private readonly ctx: FrameContext) {
    this.rate = new RateLimit(ctx.limits);
  }

  onMessage(conn: Connection, text: string): void {
    if (conn.state === 'closed') return;
    conn.lastReceivedAt = this.ctx.clock.now();
    // The heartbeat's answer, as the SDK writes it: nothing to decode, nothing to do (the
    // time above is all a pong is for). Any other spelling goes through the decoder.
    if (text === PONG && conn.state === 'open') return;
    const decoded = decodeClientMessage(text, this.ctx.limits.maxDepth);
    // Each frame's share of the message, for the byte bounds on what waits (close enough:
    // frames of one message are usually alike, and the bound is what matters).
    const size = Math.ceil(text.length / decoded.length);
    for (const d of decoded) {
      if (!conn.isOpen) return;
      if (conn.state === 'handshaking') {
        this.holdEarly(conn, d, size);
        continue;
      }
      if (!d.ok) {
        if (conn.state === 'hello') {
          this.refuseHello(conn, d.message);
          return;
        }
        this.onRefused(conn, d);
        continue;
      }
      this.onFrame(conn, d.frame, size);
    }
  }

  /** A frame the decoder refused, on an open connection. */
  private onRefused(conn: Connection, d: Decoded<ClientFrame> & { ok: false }): void {
    // A client message whose data nests too deep: a nack, like any refused message (the SDK
    // can send one), after the rate check like any message.
    if (d.id !== undefined) {
      if (conn.ending || !this.admit(conn, d.id)) return;
      this.nack(conn, d.id, NackCode.TooDeep, d.message, false);
      return;
    }
    this.frameError(conn, d.code, d.message);
  }

  private onFrame(conn: Connection, frame: ClientFrame, size: number): void {
    switch (conn.state) {
      case 'hello':
        if (frame.t !== 'hello') {
          this.refuseHello(conn, `the first frame must be hello, got ${frame.t}`);
          return;
        }
        conn.state = 'handshaking';
        conn.handshakeAt = this.ctx.clock.now();
        this.ctx.handshake.run(conn, frame).then(
          (local) => {
            if (local !== undefined) this.finishHandshake(conn, local);
          },
          (error: unknown) => {
            this.ctx.events.emit('error', { where: 'hello', error });
            conn.close(CloseCode.Overloaded, 'store unavailable', {
              code: ErrorCode.Unavailable,
              message: 'the session store failed; retry',
            });
          },
        );
        return;
      case 'handshaking':
        this.holdEarly(conn, { ok: true, frame }, size);
        return;
      case 'open':
        this.onOpenFrame(conn, frame, size);
        return;
      case 'closed':
        return;
    }
  }

  /**
   * Frames that arrive while hello is in flight wait for welcome, errors included, in order;
   * bounded by count and by size.
   */
  private holdEarly(conn: Connection, d: Decoded<ClientFrame>, size: number): void {
    let queue = this.early.get(conn);
    if (queue === undefined) this.early.set(conn, (queue = { items: [], chars: 0 }));
    if (queue.items.length >= MAX_EARLY_FRAMES || queue.chars + size > MAX_EARLY_CHARS) {
      conn.close(CloseCode.ProtocolError, 'too many frames before welcome', {
        code: ErrorCode.TooManyFrames,
        message: `more than ${MAX_EARLY_FRAMES} frames or ${MAX_EARLY_CHARS} characters before welcome`,
      });
      return;
    }
    queue.items.push({ d, size });
    queue.chars += size;
  }

  private onOpenFrame(conn: Connection, frame: ClientFrame, size: number): void {
    if (conn.ending) return;
    const sid = conn.sid!;
    switch (frame.t) {
      case 'ack':
        this.ctx.outbox
          .ack(sid, frame.seq)
          .then((r) => {
            // Not fatal on a live connection (docs/protocol.md: the ack gets an error frame); it
            // counts toward the bad-frame limit like any refused frame.
            if (r.status === 'bad_ack')
              this.frameError(
                conn,
                ErrorCode.BadAck,
                `ack ${frame.seq} is above the last seq ${r.last}`,
              );
          })
          .catch((error: unknown) => this.ctx.events.emit('error', { where: 'ack', error }));
        return;
      case 'msg':
        if (!this.admit(conn, frame.id)) return;
        this.ctx.clientMessages.accept(
          sid,
          frame,
          this.replyTo,
          size,
          this.ctx.registry.current(sid)?.identity,
        );
        return;
      case 'ping':
        conn.sendFrame({ t: 'pong' });
        return;
      case 'pong':
        return;
      case 'bye':
        void this.bye(conn, sid);
        return;
      case 'hello':
        this.frameError(conn, ErrorCode.BadFrame, 'hello was already received on this connection');
        return;
    }
  }

  /**
   * The rate limit of client messages: true when this one may go on. Over the rate it is
   * answered `nack rate_limited` with `retryAfterMs`; a client that keeps sending faster than
   * it is told is closed with 4003 `rate_limited` (retryable: it comes back after a backoff).
   */
  private admit(conn: Connection, id: string): boolean {
    const now = this.ctx.clock.now();
    const wait = this.rate.admit((conn.rate ??= new RateBucket(now)), id, now);
    if (wait === 0) return true;
    const { rate, burst, maxWaitMs } = this.ctx.limits;
    if (wait === PERSISTENT) {
      this.ctx.events.emit('frameError', { sid: conn.sid, code: ErrorCode.RateLimited });
      conn.close(CloseCode.Overloaded, 'rate limited', {
        code: ErrorCode.RateLimited,
        message: `client messages keep coming faster than ${rate}/s (burst ${burst}) after nack rate_limited; waiting would take more than ${maxWaitMs} ms`,
      });
      return false;
    }
    this.nack(
      conn,
      id,
      NackCode.RateLimited,
      `more than ${rate} client messages per second (burst ${burst}); retry after ${wait} ms`,
      true,
      wait,
    );
    return false;
  }

  /** A nack for a message no handler saw (a limit refused it), on its own connection. */
  private nack(
    conn: Connection,
    id: string,
    code: typeof NackCode.RateLimited | typeof NackCode.TooDeep,
    message: string,
    retryable: boolean,
    retryAfterMs?: number,
  ): void {
    this.ctx.events.emit('clientMessageRefused', { sid: conn.sid!, id, code });
    conn.sendFrame(
      retryAfterMs === undefined
        ? { t: 'nack', id, code, message, retryable }
        : { t: 'nack', id, code, message, retryable, retryAfterMs },
    );
  }

  /** Replies go to whichever connection the session has when the answer is ready. */
  private readonly replyTo = (sid: string): ((text: string) => void) | undefined =>
    this.ctx.delivery.replyTo(sid);

  private async bye(conn: Connection, sid: string): Promise<void> {
    const ctx = this.ctx;
    conn.ending = true;
    const local = ctx.registry.current(sid);
    const mine = local !== undefined && local.conn === conn ? local : undefined;
    if (mine !== undefined) ctx.registry.ending(mine);
    try {
      // Client messages sent before bye are handled and answered first (in order), then the
      // session is forgotten.
      await ctx.clientMessages.idle(sid);
      if (mine !== undefined) ctx.registry.ended(mine);
      await ctx.outbox.forget(sid);
      ctx.ended(sid, 'bye');
      ctx.events.emit('end', { sid, by: 'bye' });
    } catch (error) {
      ctx.events.emit('error', { where: 'bye', error });
      // The store may still hold the session, attached: nothing here detaches it any more (its
      // close does not, the session was ending) and the client will not come back for it, so
      // leave it to the session TTL (its leftovers are dead-lettered when it is reaped). Only
      // if this connection held it: another one here that holds it keeps it attached.
      if (mine !== undefined) ctx.detach(sid);
    }
    conn.close(CloseCode.Normal, 'bye');
  }

  private finishHandshake(conn: Connection, local: LocalSession): void {
    const queued = this.early.get(conn);
    this.early.delete(conn);
    // Messages stored while the handshake was in flight (or beyond the high-water mark) are
    // in the store: one read catches up.
    void this.ctx.delivery.pump(local);
    if (queued === undefined) return;
    for (const { d, size } of queued.items) {
      if (conn.state !== 'open') return;
      if (d.ok) this.onOpenFrame(conn, d.frame, size);
      else this.onRefused(conn, d);
    }
  }

  private refuseHello(conn: Connection, message: string): void {
    this.ctx.events.emit('frameError', { sid: undefined, code: ErrorCode.HelloRequired });
    conn.close(CloseCode.ProtocolError, 'hello required', {
      code: ErrorCode.HelloRequired,
      message,
    });
  }

  private frameError(conn: Connection, code: string, message: string): void {
    conn.badFrames++;
    this.ctx.events.emit('frameError', { sid: conn.sid, code });
    if (conn.badFrames > this.ctx.maxBadFrames) {
      conn.close(CloseCode.ProtocolError, 'too many bad frames', {
        code: ErrorCode.TooManyErrors,
        message: `more than ${this.ctx.maxBadFrames} bad or unknown frames`,
      });
      return;
    }
    conn.sendFrame({ t: 'error', code, message });
  }
}
