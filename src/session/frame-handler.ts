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
import type { ResumeResult } from '../store/store.js';

const MAX_EARLY_FRAMES = 1000;
/** What frames held before welcome may add up to (characters). */
const MAX_EARLY_CHARS = 4 * 1024 * 1024;

export class FrameHandler {
  private readonly early = new WeakMap<
    Connection,
    { items: { d: Decoded<ClientFrame>; size: number }[]; chars: number }
  >();

  constructor(private readonly hub: Hub) {}

  onMessage(conn: Connection, text: string): void {
    if (conn.state === 'closed') return;
    conn.lastReceivedAt = this.hub.clock.now();
    const decoded = decodeClientMessage(text);
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
        this.frameError(conn, d.code, d.message);
        continue;
      }
      this.onFrame(conn, d.frame, size);
    }
  }

  private onFrame(conn: Connection, frame: ClientFrame, size: number): void {
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
        this.hub.clientMessages.accept(sid, frame, (s) => this.hub.replyTo(s), size);
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
    const hub = this.hub;
    conn.ending = true;
    const local = hub.sessions.get(sid);
    if (local !== undefined && local.conn === conn) local.ended = true;
    if (hub.resuming.has(sid)) hub.endedWhileResuming.add(sid);
    try {
      // Client messages sent before bye are handled and answered first (in order), then the
      // session is forgotten.
      await hub.clientMessages.idle(sid);
      if (hub.sessions.get(sid) === local) hub.sessions.delete(sid);
      await hub.outbox.forget(sid);
      hub.events.emit('end', { sid, by: 'bye' });
    } catch (error) {
      hub.events.emit('error', { where: 'bye', error });
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
    let r: ResumeResult | undefined;
    let endedMeanwhile = false;
    try {
      r = await hub.outbox.resume(sid, hashKey(key), ack);
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
    const previous = hub.sessions.get(sid);
    if (r.status === 'ok' && endedMeanwhile) {
      // bye or an admin ended the session while this resume was in flight: it is gone.
      await this.newSession(conn, 'unknown_session');
      return;
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
    for (const { d, size } of queued.items) {
      if (conn.state !== 'open') return;
      if (d.ok) this.onOpenFrame(conn, d.frame, size);
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
