/**
 * Incoming frames of one connection: the hello handshake (new session, resume, takeover),
 * then acks, client messages, heartbeats and bye. Frames that arrive while the handshake
 * is in flight wait (bounded) and are handled after `welcome`, in order.
 */
import {
  CloseCode,
  decodeClientMessage,
  ErrorCode,
  PROTOCOL_VERSION,
  type ClientFrame,
  type Decoded,
  type HelloFrame,
  type WelcomeFrame,
} from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { hashKey, newResumeKey, newSessionId } from './keys.js';
import type { LocalSession } from './local-session.js';

const MAX_EARLY_FRAMES = 1000;

export class FrameHandler {
  private readonly early = new WeakMap<Connection, Decoded<ClientFrame>[]>();

  constructor(private readonly hub: Hub) {}

  onMessage(conn: Connection, text: string): void {
    if (conn.state === 'closed') return;
    conn.lastReceivedAt = this.hub.clock.now();
    for (const d of decodeClientMessage(text)) {
      if (!conn.isOpen) return;
      if (conn.state === 'handshaking') {
        this.holdEarly(conn, d);
        continue;
      }
      if (!d.ok) {
        if (conn.state === 'hello') {
          this.refuseHello(conn, d.message);
          return;
        }
        this.frameError(conn, d.code, d.message);
        continue;
      }
      this.onFrame(conn, d.frame);
    }
  }

  private onFrame(conn: Connection, frame: ClientFrame): void {
    switch (conn.state) {
      case 'hello':
        if (frame.t !== 'hello') {
          this.refuseHello(conn, `the first frame must be hello, got ${frame.t}`);
          return;
        }
        conn.state = 'handshaking';
        conn.handshakeAt = this.hub.clock.now();
        this.handshake(conn, frame).catch((error: unknown) => {
          this.hub.events.emit('error', { where: 'hello', error });
          conn.close(CloseCode.Overloaded, 'store unavailable', {
            code: 'unavailable',
            message: 'the session store failed; retry',
          });
        });
        return;
      case 'handshaking':
        this.holdEarly(conn, { ok: true, frame });
        return;
      case 'open':
        this.onOpenFrame(conn, frame);
        return;
      case 'closed':
        return;
    }
  }

  /** Frames that arrive while hello is in flight wait for welcome, errors included, in order. */
  private holdEarly(conn: Connection, d: Decoded<ClientFrame>): void {
    let queue = this.early.get(conn);
    if (queue === undefined) this.early.set(conn, (queue = []));
    if (queue.length >= MAX_EARLY_FRAMES) {
      conn.close(CloseCode.ProtocolError, 'too many frames before welcome', {
        code: ErrorCode.TooManyFrames,
        message: `more than ${MAX_EARLY_FRAMES} frames before welcome`,
      });
      return;
    }
    queue.push(d);
  }

  private onOpenFrame(conn: Connection, frame: ClientFrame): void {
    if (conn.ending) return;
    const sid = conn.sid!;
    switch (frame.t) {
      case 'ack':
        this.hub.outbox
          .ack(sid, frame.seq)
          .then((r) => {
            // Not fatal on a live connection (PROTOCOL.md: the ack gets an error frame); it
            // counts toward the bad-frame limit like any refused frame.
            if (r.status === 'bad_ack')
              this.frameError(
                conn,
                ErrorCode.BadAck,
                `ack ${frame.seq} is above the last seq ${r.last}`,
              );
          })
          .catch((error: unknown) => this.hub.events.emit('error', { where: 'ack', error }));
        return;
      case 'msg':
        this.hub.clientMessages.accept(sid, frame, (s) => this.hub.replyTo(s));
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

  private async bye(conn: Connection, sid: string): Promise<void> {
    const local = this.hub.sessions.get(sid);
    if (local !== undefined && local.conn === conn) {
      local.ended = true;
      this.hub.sessions.delete(sid);
    }
    conn.ending = true;
    try {
      await this.hub.outbox.forget(sid);
      this.hub.events.emit('end', { sid, by: 'bye' });
    } catch (error) {
      this.hub.events.emit('error', { where: 'bye', error });
    }
    conn.close(CloseCode.Normal, 'bye');
  }

  private async handshake(conn: Connection, hello: HelloFrame): Promise<void> {
    const hub = this.hub;
    if (hello.v !== PROTOCOL_VERSION) {
      conn.close(CloseCode.ProtocolError, 'unsupported version', {
        code: ErrorCode.UnsupportedVersion,
        message: `protocol version ${hello.v} is not supported; use ${PROTOCOL_VERSION}`,
      });
      return;
    }
    if (hub.options.authenticate !== undefined && !(await hub.options.authenticate(hello.token))) {
      conn.close(CloseCode.Unauthorized, 'unauthorized', {
        code: ErrorCode.Unauthorized,
        message: 'the hello token was refused',
      });
      return;
    }
    if (hello.resume === undefined) {
      await this.newSession(conn, 'new_session');
      return;
    }
    const { sid, key, ack } = hello.resume;
    hub.resuming.set(sid, conn);
    let r;
    try {
      r = await hub.outbox.resume(sid, hashKey(key), ack);
    } finally {
      if (hub.resuming.get(sid) === conn) hub.resuming.delete(sid);
    }
    const previous = hub.sessions.get(sid);
    if (r.status !== 'ok') {
      // A connection that closed while we checked must still detach the session it held.
      if (previous !== undefined && previous.conn.state === 'closed' && !previous.ended) {
        hub.sessions.delete(sid);
        hub.detach(sid);
      }
    }
    switch (r.status) {
      case 'unknown_session':
        await this.newSession(conn, 'unknown_session');
        return;
      case 'bad_key':
        hub.events.emit('frameError', { sid: undefined, code: ErrorCode.BadKey });
        conn.close(CloseCode.BadKey, 'bad resume key', {
          code: ErrorCode.BadKey,
          message: 'the resume key does not match this session',
        });
        return;
      case 'bad_ack':
        hub.events.emit('frameError', { sid, code: ErrorCode.BadAck });
        conn.close(CloseCode.ProtocolError, 'bad ack', {
          code: ErrorCode.BadAck,
          message: `resume ack ${ack} is above the last seq ${r.last}`,
        });
        return;
      case 'ok':
        break;
    }
    if (conn.state === 'closed') {
      // The new connection went away while resuming: the session stays detached.
      if (previous === undefined || previous.conn.state === 'closed') {
        if (previous !== undefined) hub.sessions.delete(sid);
        hub.detach(sid);
      }
      return;
    }
    if (previous !== undefined && previous.conn !== conn) {
      previous.conn.close(CloseCode.Replaced, 'replaced by a newer connection');
    }
    const local = this.attach(conn, sid);
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
    local.sentSeq = r.acked;
    conn.sendFrame(welcome);
    const complete = hub.writeStored(local, r.messages);
    hub.events.emit('session', { sid, resumed: true });
    hub.events.emit('resume', {
      sid,
      resumed: true,
      recovered: welcome.recovered,
      reason: welcome.reason,
      missing: r.missing,
      replayed: r.messages.length,
    });
    if (!complete) local.needsPump = true;
    this.finishHandshake(conn, local);
  }

  private async newSession(
    conn: Connection,
    reason: 'new_session' | 'unknown_session',
  ): Promise<void> {
    const hub = this.hub;
    const sid = newSessionId();
    const key = newResumeKey();
    const rec = await hub.outbox.store.createSession({
      sid,
      keyHash: hashKey(key),
      now: hub.clock.now(),
    });
    if (conn.state === 'closed') {
      // Nobody ever received this session's key: it can never be resumed, so free it now.
      await hub.outbox.store.deleteSession(sid);
      return;
    }
    const local = this.attach(conn, sid);
    conn.sendFrame({
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
    });
    hub.events.emit('session', { sid, resumed: false });
    hub.events.emit('resume', {
      sid,
      resumed: false,
      recovered: false,
      reason,
      missing: 0,
      replayed: 0,
    });
    this.finishHandshake(conn, local);
  }

  private attach(conn: Connection, sid: string): LocalSession {
    const local: LocalSession = {
      sid,
      conn,
      sentSeq: 0,
      pumping: false,
      needsPump: false,
      ended: false,
    };
    this.hub.sessions.set(sid, local);
    conn.sid = sid;
    conn.state = 'open';
    return local;
  }

  private finishHandshake(conn: Connection, local: LocalSession): void {
    const queued = this.early.get(conn);
    this.early.delete(conn);
    // Messages stored while the handshake was in flight (or beyond the high-water mark) are
    // in the store: one read catches up.
    void this.hub.pump(local);
    if (queued === undefined) return;
    for (const d of queued) {
      if (conn.state !== 'open') return;
      if (d.ok) this.onOpenFrame(conn, d.frame);
      else this.frameError(conn, d.code, d.message);
    }
  }

  private refuseHello(conn: Connection, message: string): void {
    this.hub.events.emit('frameError', { sid: undefined, code: ErrorCode.HelloRequired });
    conn.close(CloseCode.ProtocolError, 'hello required', {
      code: ErrorCode.HelloRequired,
      message,
    });
  }

  private frameError(conn: Connection, code: string, message: string): void {
    conn.badFrames++;
    this.hub.events.emit('frameError', { sid: conn.sid, code });
    if (conn.badFrames > this.hub.options.maxBadFrames) {
      conn.close(CloseCode.ProtocolError, 'too many bad frames', {
        code: ErrorCode.TooManyErrors,
        message: `more than ${this.hub.options.maxBadFrames} bad or unknown frames`,
      });
      return;
    }
    conn.sendFrame({ t: 'error', code, message });
  }
}
