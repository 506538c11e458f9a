/**
 * The session registry's slots, event by event: attach, takeover, close, resume in flight,
 * end (admin), bye (ending → ended), and the count of attached sessions through all of them.
 * The races these rules settle are played end to end in handshake.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionOwner } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import type { LocalSession } from './local-session.js';
import { SessionRegistry } from './session-registry.js';
import { FakeTransport } from './test-support/fake-transport.js';

const owner: ConnectionOwner = {
  scheduler: new FlushScheduler(() => {}),
  limits: { highWaterMark: 1024, maxBatchFrames: 64, maxBatchChars: 1024, maxBuffered: 4096 },
  now: () => 0,
  writable: () => {},
  message: () => {},
  closed: () => {},
};

function conn(registry: SessionRegistry, sid?: string): Connection {
  const c = new Connection(new FakeTransport(), owner);
  c.sid = sid;
  registry.add(c);
  return c;
}

function local(c: Connection, sid = c.sid!): LocalSession {
  c.sid = sid;
  c.state = 'open';
  return {
    sid,
    conn: c,
    epoch: 'e1',
    identity: undefined,
    sentSeq: 0,
    lossesTold: 0,
    pumping: false,
    needsPump: false,
  };
}

const closed = (c: Connection): Connection => {
  c.state = 'closed';
  return c;
};

describe('SessionRegistry', () => {
  it('attach: a new session is current and counted; its close asks for a detach', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    expect(r.attach(a)).toBeUndefined();
    expect(r.current('s1')).toBe(a);
    expect(r.attachedCount).toBe(1);
    expect(r.connectionCount).toBe(1);
    expect(r.remove(closed(a.conn))).toEqual({ detach: a });
    expect(r.current('s1')).toBeUndefined();
    expect(r.attachedCount).toBe(0);
    expect(r.connectionCount).toBe(0);
  });

  it('takeover on this node: the new connection is current, the old one is returned to close and its close detaches nothing', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    const b = local(conn(r), 's1');
    r.attach(a);
    r.beginResume('s1', b.conn);
    expect(r.current('s1')).toBe(a); // the old connection keeps receiving meanwhile
    expect(r.finishResume('s1', b.conn, true)).toEqual({ ended: false, detach: false });
    expect(r.attach(b)).toBe(a);
    expect(r.current('s1')).toBe(b);
    expect(r.remove(closed(a.conn))).toBeUndefined();
    expect(r.attachedCount).toBe(1);
  });

  it('a close during a resume leaves the detach to the resume: detached if the resume fails', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    const b = conn(r, undefined);
    r.attach(a);
    r.beginResume('s1', b);
    expect(r.remove(closed(a.conn))).toBeUndefined();
    expect(r.finishResume('s1', b, false)).toEqual({ ended: false, detach: true });
    expect(r.current('s1')).toBeUndefined();
    expect(r.attachedCount).toBe(0);
  });

  it('a failed resume while the old connection is open leaves it attached', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    const b = conn(r, undefined);
    r.attach(a);
    r.beginResume('s1', b);
    expect(r.finishResume('s1', b, false)).toEqual({ ended: false, detach: false });
    expect(r.current('s1')).toBe(a);
    expect(r.remove(closed(a.conn))).toEqual({ detach: a });
  });

  it('end (admin) during a resume: the resume learns the session ended; the old connection is returned to close', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    const b = conn(r, undefined);
    r.attach(a);
    r.beginResume('s1', b);
    expect(r.end('s1')).toBe(a);
    expect(r.attachedCount).toBe(0);
    expect(r.finishResume('s1', b, true)).toEqual({ ended: true, detach: false });
    expect(r.current('s1')).toBeUndefined();
  });

  it('bye: a close while ending does not detach; a resume started meanwhile learns it ended', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    r.attach(a);
    r.ending(a);
    expect(r.current('s1')).toBe(a); // replies to earlier messages still reach it
    const b = conn(r, undefined);
    r.beginResume('s1', b);
    expect(r.finishResume('s1', b, true).ended).toBe(true);
    r.ended(a);
    expect(r.current('s1')).toBeUndefined();
    expect(r.attachedCount).toBe(0);

    const r2 = new SessionRegistry();
    const c = local(conn(r2, 's2'));
    r2.attach(c);
    r2.ending(c);
    expect(r2.remove(closed(c.conn))).toBeUndefined();
    expect(r2.attachedCount).toBe(0);
  });

  it('takenOver (another node owns it): returned to close, no detach, a resume in flight here goes on', () => {
    const r = new SessionRegistry();
    const a = local(conn(r, 's1'));
    r.attach(a);
    expect(r.takenOver('s1')).toBe(a);
    expect(r.remove(closed(a.conn))).toBeUndefined();
    expect(r.attachedCount).toBe(0);

    const c = local(conn(r, 's2'));
    const d = conn(r, undefined);
    r.attach(c);
    r.beginResume('s2', d);
    expect(r.takenOver('s2')).toBe(c);
    expect(r.finishResume('s2', d, true)).toEqual({ ended: false, detach: false });
    r.attach(local(d, 's2'));
    expect(r.attachedCount).toBe(1);
  });

  it('two resumes of one session race: the later one is the one in flight; both attach in turn', () => {
    const r = new SessionRegistry();
    const b = conn(r, undefined);
    const c = conn(r, undefined);
    r.beginResume('s1', b);
    r.beginResume('s1', c);
    expect(r.finishResume('s1', b, true)).toEqual({ ended: false, detach: false });
    const lb = local(b, 's1');
    expect(r.attach(lb)).toBeUndefined();
    expect(r.current('s1')).toBe(lb);
    expect(r.attachedCount).toBe(1);
    r.finishResume('s1', c, true);
    const lc = local(c, 's1');
    expect(r.attach(lc)).toBe(lb);
    expect(r.attachedCount).toBe(1);
    expect(r.localSessions()).toEqual([lc]);
  });
});
