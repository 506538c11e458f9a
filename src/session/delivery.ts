/**
 * Delivery from the outbox to the sessions attached on this node: in seq order, at most once
 * per connection, stopping at the high-water mark and picking up again when the connection
 * drains. The store's seq is the truth: `local.sentSeq` is how far this connection got, and
 * anything not written yet (a deferral, a hint from another node, a lost hint) is read from
 * the store after it (docs/architecture.md, "Delivery and repair").
 */
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';
import { CloseCode, encodeMsg, ErrorCode } from '../protocol/index.js';
import type { StoredMessage } from '../store/store.js';
import type { Connection } from './connection.js';
import type { LocalSession } from './local-session.js';
import type { SessionRegistry } from './session-registry.js';

/** Messages read from the store per pump step. */
const READ_BATCH = 256;

export class Delivery {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly outbox: Outbox,
    private readonly events: Emitter<CoreEvents>,
  ) {}

  /** Write a stored message to an attached session, or leave it for the pump. */
  deliver(
    local: LocalSession,
    seq: number,
    json: string,
    id: string | undefined,
    key: string | undefined,
  ): void {
    if (seq <= local.sentSeq) return;
    if (local.pumping) {
      local.needsPump = true;
      return;
    }
    if (!local.conn.writable) {
      local.conn.deferred = true;
      return;
    }
    if (seq !== local.sentSeq + 1) {
      // Something between was not written (a failed read, a deferral): only the pump, which
      // reads the store in order, may write past a hole, so a client never skips a message.
      void this.pump(local);
      return;
    }
    local.conn.write(encodeMsg(seq, json, id, key));
    local.sentSeq = seq;
  }

  /**
   * Seq `seq` was stored for `sid` elsewhere (another node, or a hint that came late): if the
   * session is attached here and this connection has not written it, read it from the store.
   */
  catchUp(sid: string, seq: number): void {
    const local = this.registry.current(sid);
    if (local !== undefined && seq > local.sentSeq) void this.pump(local);
  }

  /**
   * Write retained messages in order until caught up or congested. Across a hole (seqs the
   * store no longer has: superseded by a newer keyed message, or lost and counted in the
   * resume's `missing`) the frame carries `prev`, so the client knows the hole is not a loss.
   * A loss the client was never told of never gets here: the pump closes 4002 first.
   */
  writeStored(local: LocalSession, messages: readonly StoredMessage[]): boolean {
    for (const m of messages) {
      const after = local.sentSeq;
      if (m.seq <= after) continue;
      if (!local.conn.writable) {
        local.conn.deferred = true;
        return false;
      }
      local.conn.write(
        encodeMsg(m.seq, m.data, m.id, m.key, m.seq === after + 1 ? undefined : after),
      );
      local.sentSeq = m.seq;
    }
    return true;
  }

  /** Read from the store after what was sent and write, until caught up or congested. */
  async pump(local: LocalSession): Promise<void> {
    if (local.pumping) {
      local.needsPump = true;
      return;
    }
    local.pumping = true;
    try {
      do {
        local.needsPump = false;
        for (;;) {
          if (!this.registry.isCurrent(local)) return;
          if (!local.conn.writable) {
            local.conn.deferred = true;
            return;
          }
          const r = await this.outbox.read(local.sid, local.sentSeq, READ_BATCH);
          if (r.status !== 'ok' || !this.registry.isCurrent(local)) return;
          if (r.expired.length > 0) this.lost(local.sid, r.expired);
          // A loss after what this connection was sent (evicted by a send on another node,
          // whose bus hint has not come yet) closes it before anything past the loss is
          // written: a hole on a live connection is never a loss (docs/protocol.md §9).
          if (r.lostTo > local.sentSeq) this.lostUpTo(local.sid, r.lostTo);
          const complete = this.writeStored(local, r.messages);
          if (!complete || r.messages.length < READ_BATCH) break;
        }
      } while (local.needsPump && local.conn.writable);
    } catch (error) {
      this.events.emit('error', { where: 'pump', error });
      // The store failed mid-delivery: let the client resume (and learn of any gap) rather
      // than leave it waiting for messages that this connection will not get.
      local.conn.close(CloseCode.Overloaded, 'store unavailable', {
        code: ErrorCode.Unavailable,
        message: 'the session store failed during delivery; resume',
      });
    } finally {
      local.pumping = false;
      if (local.needsPump && this.registry.isCurrent(local)) local.conn.deferred = true;
    }
  }

  /**
   * Messages of `sid` were lost (evicted or expired). If some were never written to the
   * attached connection, the client cannot know: close it as a slow consumer (4002, retryable)
   * so that its resume reports the gap with the missing count — never a silent hole.
   */
  lost(sid: string, messages: readonly StoredMessage[]): void {
    this.lostUpTo(sid, maxSeq(messages));
  }

  /** `lost` when only the highest lost seq is known (a loss reported by another node). */
  lostUpTo(sid: string, upTo: number): void {
    const local = this.registry.current(sid);
    if (local === undefined || local.conn.state !== 'open') return;
    // Written already (not a loss for the client), or counted in the welcome's `missing`.
    if (upTo <= local.sentSeq || upTo <= local.lossesTold) return;
    local.conn.closeSlowConsumer('messages were dropped before delivery; resume to learn how many');
  }

  /** A message for `sid` was refused by the `disconnect` overflow policy: close 4002. */
  refused(sid: string): void {
    this.registry.current(sid)?.conn.closeSlowConsumer('outbox full: resume to catch up');
  }

  /** Answer a client message on whichever connection the session has now. */
  replyTo(sid: string): ((text: string) => void) | undefined {
    const local = this.registry.current(sid);
    if (local === undefined) return undefined;
    return (text) => local.conn.write(text);
  }

  /** A congested connection can take more: resume writing its session's stored messages. */
  onWritable(conn: Connection): void {
    if (conn.sid === undefined) return;
    const local = this.registry.current(conn.sid);
    if (local !== undefined && local.conn === conn) void this.pump(local);
  }
}

/** The highest seq of `messages` (0 for none): what a loss report carries. */
export function maxSeq(messages: readonly StoredMessage[]): number {
  let max = 0;
  for (const m of messages) if (m.seq > max) max = m.seq;
  return max;
}
