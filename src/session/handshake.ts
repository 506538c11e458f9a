/**
 * hello → welcome: a new session, or a resume (key check, ack, replay) with takeover of a
 * connection that still holds the session, and the races a resume can meet (the old
 * connection closing, the session ended by bye or an admin, the store failing).
 */
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  type HelloFrame,
  type ResumeRequest,
  type WelcomeFrame,
} from '../protocol/index.js';
import type { ResumeResult, StoredMessage } from '../store/store.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { hashKey, newResumeKey, newSessionId } from './keys.js';
import type { LocalSession } from './local-session.js';

export class Handshake {
  constructor(private readonly hub: Hub) {}

  /**
   * Answers `hello`. Resolves with the session now attached to `conn`, or undefined when the
   * connection was refused (and closed) or went away meanwhile. Rejects if the store fails.
   */
  async run(conn: Connection, hello: HelloFrame): Promise<LocalSession | undefined> {
    const hub = this.hub;
    if (hello.v !== PROTOCOL_VERSION) {
      conn.close(CloseCode.ProtocolError, 'unsupported version', {
        code: ErrorCode.UnsupportedVersion,
        message: `protocol version ${hello.v} is not supported; use ${PROTOCOL_VERSION}`,
      });
      return undefined;
    }
    if (hub.options.authenticate !== undefined && !(await hub.options.authenticate(hello.token))) {
      conn.close(CloseCode.Unauthorized, 'unauthorized', {
        code: ErrorCode.Unauthorized,
        message: 'the hello token was refused',
      });
      return undefined;
    }
    if (hello.resume === undefined) return this.newSession(conn, 'new_session');
    return this.resume(conn, hello.resume);
  }

  private async resume(
    conn: Connection,
    { sid, key, ack }: ResumeRequest,
  ): Promise<LocalSession | undefined> {
    const hub = this.hub;
    hub.resuming.set(sid, conn);
    let r: ResumeResult | undefined;
    let endedMeanwhile = false;
    try {
      // store-merge: the hub's owner token; the lead wires a per-connection one.
      r = await hub.outbox.resume(sid, hashKey(key), ack, hub.storeOwner);
    } finally {
      if (hub.resuming.get(sid) === conn) hub.resuming.delete(sid);
      endedMeanwhile = hub.endedWhileResuming.delete(sid);
      // A connection that closed while we checked (its close skipped the detach because a
      // resume was in flight) must still detach the session it held — unless this resume
      // took it over. Also when the store failed.
      const previous = hub.sessions.get(sid);
      if (
        (r === undefined || r.status !== 'ok') &&
        previous !== undefined &&
        previous.conn.state === 'closed' &&
        !previous.ended
      ) {
        hub.sessions.delete(sid);
        hub.detach(sid);
      }
    }
    // bye or an admin ended the session while this resume was in flight: it is gone.
    if (r.status === 'ok' && endedMeanwhile) return this.newSession(conn, 'unknown_session');
    switch (r.status) {
      case 'unknown_session':
        return this.newSession(conn, 'unknown_session');
      case 'bad_key':
        hub.events.emit('frameError', { sid: undefined, code: ErrorCode.BadKey });
        conn.close(CloseCode.BadKey, 'bad resume key', {
          code: ErrorCode.BadKey,
          message: 'the resume key does not match this session',
        });
        return undefined;
      case 'bad_ack':
        hub.events.emit('frameError', { sid, code: ErrorCode.BadAck });
        conn.close(CloseCode.ProtocolError, 'bad ack', {
          code: ErrorCode.BadAck,
          message: `resume ack ${ack} is above the last seq ${r.last}`,
        });
        return undefined;
      case 'ok':
        break;
    }
    const previous = hub.sessions.get(sid);
    if (conn.state === 'closed') {
      // The new connection went away while resuming: the session stays detached.
      if (previous === undefined || previous.conn.state === 'closed') {
        if (previous !== undefined) hub.sessions.delete(sid);
        hub.detach(sid);
      }
      return undefined;
    }
    if (previous !== undefined && previous.conn !== conn)
      previous.conn.close(CloseCode.Replaced, 'replaced by a newer connection');
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
      hb: hub.options.heartbeatIntervalMs,
    };
    if (r.epochChanged) welcome.reason = 'epoch_changed';
    else if (gap) welcome.reason = 'gap';
    if (gap) welcome.missing = r.missing;
    return this.open(conn, welcome, r.acked, r.messages, r.missing);
  }

  private async newSession(
    conn: Connection,
    reason: 'new_session' | 'unknown_session',
  ): Promise<LocalSession | undefined> {
    const hub = this.hub;
    const sid = newSessionId();
    const key = newResumeKey();
    const rec = await hub.outbox.store.createSession({
      sid,
      keyHash: hashKey(key),
      now: hub.clock.now(),
      owner: hub.storeOwner, // store-merge: the hub's token; the lead wires a per-connection one
    });
    if (conn.state === 'closed') {
      // Nobody ever received this session's key: it can never be resumed, so free it now.
      await hub.outbox.store.deleteSession(sid);
      return undefined;
    }
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
      hb: hub.options.heartbeatIntervalMs,
    };
    return this.open(conn, welcome, 0, [], 0);
  }

  /**
   * Attach the session to `conn`, send `welcome` and the retained messages after `acked`
   * (as many as fit below the high-water mark; the pump that follows writes the rest).
   */
  private open(
    conn: Connection,
    welcome: WelcomeFrame,
    acked: number,
    replay: readonly StoredMessage[],
    missing: number,
  ): LocalSession {
    const hub = this.hub;
    const { sid, resumed, recovered, reason } = welcome;
    const local: LocalSession = {
      sid,
      conn,
      sentSeq: acked,
      pumping: false,
      needsPump: false,
      ended: false,
    };
    hub.sessions.set(sid, local);
    conn.sid = sid;
    conn.state = 'open';
    conn.sendFrame(welcome);
    hub.writeStored(local, replay);
    hub.events.emit('session', { sid, resumed });
    hub.events.emit('resume', {
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
