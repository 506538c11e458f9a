/**
 * hello → welcome: a new session, or a resume (key check, ack, replay) with takeover of a
 * connection that still holds the session, and the races a resume can meet (the old
 * connection closing, the session ended by bye or an admin, the store failing).
 */
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_MINOR,
  PROTOCOL_VERSION,
  type HelloFrame,
  type ResumeRequest,
  type WelcomeFrame,
} from '../protocol/index.js';
import type { AuthRequest, Authenticate } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Outbox } from '../outbox/outbox.js';
import type { ResumeResult, StoredMessage } from '../store/store.js';
import { disconnectClose } from './bus-events.js';
import type { Connection } from './connection.js';
import type { Delivery } from './delivery.js';
import { authenticateHello, type SessionIdentity } from './identity.js';
import { hashKey, newResumeKey, newSessionId } from './keys.js';
import type { LocalSession } from './local-session.js';
import type { SessionRegistry } from './session-registry.js';

export type { Authenticate } from '../auth/principal.js';

/** What the handshake works with (narrow on purpose: not the hub). */
export interface HandshakeContext {
  readonly registry: SessionRegistry;
  readonly delivery: Delivery;
  readonly outbox: Outbox;
  readonly events: Emitter<CoreEvents>;
  readonly clock: Clock;
  readonly heartbeatIntervalMs: number;
  readonly authenticate: Authenticate | undefined;
  /** The upgrade request of `conn` (kept only while an `authenticate` hook may need it). */
  takeRequest(conn: Connection): AuthRequest | undefined;
  /** Session `sid` of `user` was created: end the user's oldest others if it has too many. */
  userSessionCreated(user: string, sid: string): void;
  /** This node's owner token in the store (see `Store.detach`). */
  readonly node: string;
  /** Mark the session detached in the store (its connection here went away). */
  detach(sid: string): void;
  /** The session was resumed here: another node holding it must let go (bus `takeover`). */
  tookOver(sid: string): void;
  /** Check the store's owner of `sid` and close its connection here if another node owns it. */
  verifyOwner(sid: string): void;
}

export class Handshake {
  constructor(private readonly ctx: HandshakeContext) {}

  /**
   * Answers `hello`. Resolves with the session now attached to `conn`, or undefined when the
   * connection was refused (and closed) or went away meanwhile. Rejects if the store fails.
   */
  async run(conn: Connection, hello: HelloFrame): Promise<LocalSession | undefined> {
    const ctx = this.ctx;
    if (hello.v !== PROTOCOL_VERSION) {
      conn.close(CloseCode.ProtocolError, 'unsupported version', {
        code: ErrorCode.UnsupportedVersion,
        message: `protocol version ${hello.v} is not supported; use ${PROTOCOL_VERSION}`,
      });
      return undefined;
    }
    let identity: SessionIdentity | undefined;
    const request = ctx.takeRequest(conn);
    if (ctx.authenticate !== undefined) {
      const verdict = await authenticateHello(ctx.authenticate, hello, request);
      if (!verdict.ok) {
        ctx.events.emit('authFailed', { reason: verdict.reason });
        if (verdict.error !== undefined) {
          ctx.events.emit('error', { where: 'authenticate', error: verdict.error });
        }
        if (verdict.retryable) {
          conn.close(CloseCode.Overloaded, 'authentication unavailable', {
            code: ErrorCode.Unavailable,
            message: 'authentication could not be checked; retry',
          });
        } else {
          conn.close(CloseCode.Unauthorized, 'unauthorized', {
            code: ErrorCode.Unauthorized,
            message: 'unauthorized',
          });
        }
        return undefined;
      }
      identity = verdict.identity;
    }
    if (hello.resume === undefined) return this.newSession(conn, 'new_session', identity);
    return this.resume(conn, hello.resume, identity);
  }

  private async resume(
    conn: Connection,
    { sid, key, ack }: ResumeRequest,
    identity: SessionIdentity | undefined,
  ): Promise<LocalSession | undefined> {
    const ctx = this.ctx;
    ctx.registry.beginResume(sid, conn);
    let r: ResumeResult | undefined;
    let ended = false;
    let disconnect: { reason: string | undefined } | undefined;
    let contested = false;
    try {
      r = await ctx.outbox.resume(sid, hashKey(key), ack, ctx.node, identity?.user);
    } finally {
      contested = ctx.registry.contested(sid);
      // A connection that closed while we checked (its close left the detach to this resume)
      // must still detach the session it held — unless this resume took it over. Also when
      // the store failed.
      const finished = ctx.registry.finishResume(sid, conn, r?.status === 'ok');
      ended = finished.ended;
      disconnect = finished.disconnect;
      if (finished.detach) ctx.detach(sid);
    }
    // bye or an admin ended the session while this resume was in flight: it is gone.
    if (r.status === 'ok' && ended) return this.newSession(conn, 'unknown_session', identity);
    switch (r.status) {
      case 'unknown_session':
        return this.newSession(conn, 'unknown_session', identity);
      case 'wrong_user':
        // Another user's session (or a user's, resumed without one): the client starts a
        // session of its own, told nothing about the other (docs/security.md, "Identity").
        ctx.events.emit('frameError', { sid: undefined, code: 'wrong_user' });
        return this.newSession(conn, 'unknown_session', identity);
      case 'bad_key':
        ctx.events.emit('frameError', { sid: undefined, code: ErrorCode.BadKey });
        conn.close(CloseCode.BadKey, 'bad resume key', {
          code: ErrorCode.BadKey,
          message: 'the resume key does not match this session',
        });
        return undefined;
      case 'bad_ack':
        ctx.events.emit('frameError', { sid, code: ErrorCode.BadAck });
        conn.close(CloseCode.ProtocolError, 'bad ack', {
          code: ErrorCode.BadAck,
          message: `resume ack ${ack} is above the last seq ${r.last}`,
        });
        return undefined;
      case 'ok':
        break;
    }
    if (conn.state === 'closed') {
      // The new connection went away while resuming: the session stays detached (unless its
      // earlier connection here is still open and keeps it). A later resume of it still in
      // flight here decides instead: detaching now would undo it in the store.
      if (ctx.registry.resumeAbandoned(sid)) return undefined;
      const previous = ctx.registry.current(sid);
      if (previous === undefined || previous.conn.state === 'closed') {
        if (previous !== undefined) ctx.registry.ended(previous);
        ctx.detach(sid);
      }
      return undefined;
    }
    const gap = r.missing > 0;
    const welcome: WelcomeFrame = {
      t: 'welcome',
      v: PROTOCOL_VERSION,
      sid,
      key,
      epoch: r.session.epoch,
      resumed: true,
      recovered: !gap && !r.epochChanged,
      last: r.session.last,
      hb: ctx.heartbeatIntervalMs,
      minor: PROTOCOL_MINOR,
    };
    if (r.epochChanged) welcome.reason = 'epoch_changed';
    else if (gap) welcome.reason = 'gap';
    if (gap) welcome.missing = r.missing;
    // Where the client stands: its own ack (the server may hold a higher one, from an earlier
    // instance of the client), so the first replayed message's `prev` covers the seqs between
    // (docs/protocol.md §6, "prev"). A rebuilt stream starts again from what the store says.
    const base = r.epochChanged ? r.acked : Math.min(ack, r.acked);
    const lossesTold = r.messages.length > 0 ? r.messages[0]!.seq - 1 : r.session.last;
    const local = this.open(conn, welcome, { base, lossesTold }, r.messages, r.missing, identity);
    // The application disconnected the session while this resume was in flight.
    if (disconnect !== undefined) conn.close(...disconnectClose(disconnect.reason));
    // Another node resumed the session while the store answered this resume: whichever the
    // store applied last owns it (its takeover hint may have come before this node held the
    // session, so nothing here closed). The store decides; it usually says this node.
    if (contested) ctx.verifyOwner(sid);
    return local;
  }

  private async newSession(
    conn: Connection,
    reason: 'new_session' | 'unknown_session',
    identity: SessionIdentity | undefined,
  ): Promise<LocalSession | undefined> {
    const ctx = this.ctx;
    const sid = newSessionId();
    const key = newResumeKey();
    const rec = await ctx.outbox.store.createSession({
      sid,
      keyHash: hashKey(key),
      now: ctx.clock.now(),
      owner: ctx.node,
      ...(identity === undefined
        ? {}
        : identity.claimsJson === undefined
          ? { user: identity.user }
          : { user: identity.user, claims: identity.claimsJson }),
    });
    if (conn.state === 'closed') {
      // Nobody ever received this session's key: it can never be resumed, so free it now.
      await ctx.outbox.store.deleteSession(sid);
      return undefined;
    }
    if (identity !== undefined) ctx.userSessionCreated(identity.user, sid);
    const welcome: WelcomeFrame = {
      t: 'welcome',
      v: PROTOCOL_VERSION,
      sid,
      key,
      epoch: rec.epoch,
      resumed: false,
      recovered: false,
      reason,
      last: 0,
      hb: ctx.heartbeatIntervalMs,
      minor: PROTOCOL_MINOR,
    };
    return this.open(conn, welcome, { base: 0, lossesTold: 0 }, [], 0, identity);
  }

  /**
   * Attach the session to `conn`, send `welcome` and the retained messages after `acked` (the
   * client's position; as many as fit below the high-water mark, the pump writes the rest).
   */
  private open(
    conn: Connection,
    welcome: WelcomeFrame,
    at: { base: number; lossesTold: number },
    replay: readonly StoredMessage[],
    missing: number,
    identity: SessionIdentity | undefined,
  ): LocalSession {
    const ctx = this.ctx;
    const { sid, resumed, recovered, reason, epoch } = welcome;
    const local: LocalSession = {
      sid,
      conn,
      epoch,
      identity,
      sentSeq: at.base,
      lossesTold: at.lossesTold,
      pumping: false,
      needsPump: false,
    };
    // Takeover: the session's earlier connection here, if another one held it, closes.
    const replaced = ctx.registry.attach(local);
    if (replaced !== undefined) {
      replaced.conn.close(CloseCode.Replaced, 'replaced by a newer connection');
      ctx.events.emit('takeover', { sid, node: ctx.node });
    }
    if (resumed) ctx.tookOver(sid);
    conn.sid = sid;
    conn.state = 'open';
    conn.sendFrame(welcome);
    ctx.delivery.writeStored(local, replay);
    ctx.events.emit('session', { sid, resumed });
    ctx.events.emit('resume', {
      sid,
      resumed,
      recovered,
      reason,
      missing,
      replayed: replay.length,
    });
    return local;
  }
}
