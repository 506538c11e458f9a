/**
 * Two hubs on one shared memory store and one bus (docs/architecture.md, "Several nodes"):
 * a session moves between nodes, a send on either node reaches it, a resume on one node
 * closes the other node's connection with 4001, an end or a loss on one node reaches the
 * connection on the other, and lost bus events are repaired from the store.
 */
import { describe, expect, it } from 'vitest';
import type { FakeTransport } from './test-support/fake-transport.js';
import { LossyBus, TwoNodes } from './test-support/two-nodes.js';

/** Above the high-water mark (1 MiB), below the hard bound (3 MiB): stored messages wait. */
function congest(t: FakeTransport): void {
  t.bufferedAmount = 2 * 1024 * 1024;
  t.peerSends({ t: 'ping' }); // the pong's flush sees the socket congested
}

describe('two nodes on one store and one bus', () => {
  it('a client resumes on the other node with recovered: true, and sends on either node reach it', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    await n.a.hub.send(s.sid, 'a1');
    await n.b.hub.send(s.sid, 'b1'); // stored by B, delivered by A (bus: appended)
    await n.settle();
    expect(s.t.framesOf('msg').map((m) => [m.seq, m.data])).toEqual([
      [1, 'a1'],
      [2, 'b1'],
    ]);

    // The client acks 1 and loses its connection to A; it resumes on B.
    s.t.peerSends({ t: 'ack', seq: 1 });
    await n.settle();
    s.t.fireClose(1006);
    await n.settle();
    await n.b.hub.send(s.sid, 'b2'); // while detached: stored only
    const t2 = n.b.connect();
    const w = await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 1 });
    await n.settle();
    expect(w).toMatchObject({ resumed: true, recovered: true, last: 3 });
    expect(t2.framesOf('msg').map((m) => m.seq)).toEqual([2, 3]);
    expect(n.b.hub.isAttached(s.sid)).toBe(true);
    expect(n.a.hub.isAttached(s.sid)).toBe(false);

    // Sends on either node reach it on B, in order, once.
    await n.a.hub.send(s.sid, 'a2');
    await n.b.hub.send(s.sid, 'b3');
    await n.a.hub.send(s.sid, 'a3');
    await n.settle();
    expect(t2.framesOf('msg').map((m) => m.data)).toEqual(['b1', 'b2', 'a2', 'b3', 'a3']);
    expect(t2.seqs).toEqual([2, 3, 4, 5, 6]);
  });

  it('resumes on both nodes race, the store answers A late: the takeover B announced meanwhile still closes A', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    s.t.fireClose(1006);
    await n.settle();
    await n.a.hub.send(s.sid, 'm1');
    // A's resume is applied by the store first but its answer comes late (a networked store).
    let answer!: () => void;
    const late = new Promise<void>((resolve) => (answer = resolve));
    const resume = n.a.outbox.resume.bind(n.a.outbox);
    n.a.outbox.resume = async (...args) => {
      const r = await resume(...args);
      await late;
      return r;
    };
    const ta = n.a.connect();
    ta.peerSends({ t: 'hello', v: 1, resume: { sid: s.sid, key: s.key, ack: 0 } });
    await n.settle();
    const tb = n.b.connect();
    await n.b.hello(tb, { sid: s.sid, key: s.key, ack: 0 }); // the store's owner is B now
    await n.settle();
    answer();
    await n.settle();
    expect(await n.store.getSession(s.sid)).toMatchObject({ attached: true, owner: 'node-b' });
    // One node serves the session: the store's owner. A's connection is replaced.
    expect(tb.closed).toBeUndefined();
    expect(ta.closed?.code).toBe(4001);
    expect(n.a.hub.isAttached(s.sid)).toBe(false);
    await n.b.hub.send(s.sid, 'm2');
    await n.settle();
    expect(tb.seqs).toEqual([1, 2]);
    expect(ta.seqs).toEqual([1]);
  });

  it('resumes on both nodes race, the store applies B first and answers A late: A keeps the session, B is replaced', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    s.t.fireClose(1006);
    await n.settle();
    let answer!: () => void;
    const late = new Promise<void>((resolve) => (answer = resolve));
    const resume = n.a.outbox.resume.bind(n.a.outbox);
    n.a.outbox.resume = async (...args) => {
      const r = await resume(...args);
      await late;
      return r;
    };
    const tb = n.b.connect();
    const ta = n.a.connect();
    const hello = { t: 'hello', v: 1, resume: { sid: s.sid, key: s.key, ack: 0 } };
    tb.peerSends(hello); // applied first
    ta.peerSends(hello); // applied last: the store's owner is A
    await n.settle();
    expect(tb.welcome).toMatchObject({ resumed: true });
    answer();
    await n.settle();
    expect(await n.store.getSession(s.sid)).toMatchObject({ attached: true, owner: 'node-a' });
    expect(ta.closed).toBeUndefined();
    expect(tb.closed?.code).toBe(4001);
    expect(n.b.hub.isAttached(s.sid)).toBe(false);
    expect(n.a.hub.isAttached(s.sid)).toBe(true);
  });

  it('a resume on node B closes the connection on node A with 4001; A lets go without detaching', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    const disconnects = n.a.record('disconnect');
    const takeovers = n.a.record('takeover');
    const takeoversB = n.b.record('takeover');
    const t2 = n.b.connect();
    const w = await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    await n.settle();
    expect(w).toMatchObject({ resumed: true, recovered: true });
    expect(s.t.closed?.code).toBe(4001);
    // The node that lost the connection tells (with the node that took it); B replaced none.
    expect(takeovers).toEqual([{ sid: s.sid, node: 'node-b' }]);
    expect(takeoversB).toEqual([]);
    s.t.fireClose(); // A's socket closes: its detach is fenced by the store's owner
    await n.settle();
    expect(disconnects.map((d) => d.code)).toEqual([4001]);
    expect(n.a.hub.isAttached(s.sid)).toBe(false);
    expect(await n.store.getSession(s.sid)).toMatchObject({ attached: true, owner: 'node-b' });
    await n.a.hub.send(s.sid, 'a1');
    await n.settle();
    expect(t2.framesOf('msg').map((m) => m.data)).toEqual(['a1']);
  });

  it("A's detach after B took the session over (its hint lost) changes nothing in the store", async () => {
    const bus = new LossyBus();
    const n = new TwoNodes(bus, { hub: { sessionTtlMs: 0 } });
    const s = await n.a.session();
    bus.drop.add('takeover');
    const t2 = n.b.connect();
    await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    await n.settle();
    // A never heard of it; its socket to the client dies now and A detaches the session…
    s.t.fireClose(1006);
    await n.settle();
    // …but the store keeps it attached to B, so no sweep reaps it and delivery goes on.
    expect(await n.store.getSession(s.sid)).toMatchObject({ attached: true, owner: 'node-b' });
    n.clock.advance(10_000);
    await n.b.outbox.sweep();
    await n.a.hub.send(s.sid, 'after');
    await n.settle();
    expect(t2.framesOf('msg').map((m) => m.data)).toEqual(['after']);
  });

  it('a resync that comes while a position check runs is not dropped: what was lost meanwhile is read', async () => {
    const bus = new LossyBus();
    const n = new TwoNodes(bus);
    const s = await n.a.session();
    bus.drop.add('appended');
    const first = n.a.hub.positions.resync(); // a resync: the check has read the record (last 0)
    const sent = n.b.hub.send(s.sid, 'b1'); // stored now; its hint is lost
    const second = n.a.hub.positions.resync(); // the bus resyncs again: events were lost since
    await Promise.all([first, sent, second]);
    await n.settle();
    expect(s.t.framesOf('msg').map((m) => m.data)).toEqual(['b1']);
  });

  it('a late takeover hint does not close a connection that took the session back', async () => {
    const bus = new LossyBus();
    const n = new TwoNodes(bus);
    const s = await n.a.session();
    // B takes the session over, but its hint to A is lost…
    bus.drop.add('takeover');
    const t2 = n.b.connect();
    await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    await n.settle();
    expect(s.t.closed).toBeUndefined();
    // …A's position check finds another owner and lets go (4001).
    await n.a.hub.positions.run();
    await n.settle();
    expect(s.t.closed?.code).toBe(4001);
    s.t.fireClose();
    // The client comes back to A; B's takeover hint arrives only now, late: A keeps it.
    bus.drop.delete('takeover');
    const t3 = n.a.connect();
    await n.a.hello(t3, { sid: s.sid, key: s.key, ack: 0 });
    await n.settle();
    expect(t2.closed?.code).toBe(4001);
    const late = bus.published.find((e) => e.type === 'takeover' && e.owner === 'node-b')!;
    bus.publish('node-b', late);
    await n.settle();
    expect(t3.closed).toBeUndefined();
    expect(n.a.hub.isAttached(s.sid)).toBe(true);
  });

  it('an admin end on one node closes the connection on the other with 1000', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    expect(await n.b.hub.endSession(s.sid)).toBe(true);
    await n.settle();
    expect(s.t.closed?.code).toBe(1000);
    expect(n.a.hub.isAttached(s.sid)).toBe(false);
    expect(await n.store.getSession(s.sid)).toBeUndefined();
  });

  it('an end with a reason on one node tells the client on the other session_ended with it', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    expect(await n.b.hub.endSession(s.sid, 'admin', 'account closed')).toBe(true);
    await n.settle();
    expect(s.t.framesOf('error')).toEqual([
      { t: 'error', code: 'session_ended', message: 'account closed' },
    ]);
    expect(s.t.closed?.code).toBe(1000);
  });

  it('a disconnect on one node closes the connection on the other with 4004 and keeps the session', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    await n.a.hub.send(s.sid, 'kept');
    await n.settle();
    expect(await n.b.hub.disconnect(s.sid, 'rebalancing')).toBe(true);
    await n.settle();
    expect(s.t.framesOf('error')).toEqual([
      { t: 'error', code: 'disconnected', message: 'rebalancing' },
    ]);
    expect(s.t.closed?.code).toBe(4004);
    s.t.fireClose(4004);
    await n.settle();
    // The client resumes on B: the session and its unacked message are still there.
    const t2 = n.b.connect();
    const w = await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    expect(w).toMatchObject({ resumed: true, recovered: true });
    expect(t2.framesOf('msg').map((m) => m.data)).toEqual(['kept']);
    expect(await n.b.hub.disconnect('no-such-session')).toBe(false);
  });

  it('a bye handled on one node is final on the other: its resume there gets a new session', async () => {
    const n = new TwoNodes();
    const s = await n.a.session();
    s.t.peerSends({ t: 'bye' });
    await n.settle();
    const t2 = n.b.connect();
    const w = await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    expect(w).toMatchObject({ resumed: false, reason: 'unknown_session' });
  });

  it('a drop-oldest eviction on one node of a message never written on the other closes it with 4002', async () => {
    const n = new TwoNodes(undefined, { limits: { maxMessages: 2, overflow: 'drop-oldest' } });
    const s = await n.a.session();
    congest(s.t);
    await n.settle();
    expect(s.t.closed).toBeUndefined();
    for (const d of ['m1', 'm2', 'm3']) await n.b.hub.send(s.sid, d); // m1 evicted, never sent
    await n.settle();
    expect(s.t.closed?.code).toBe(4002);
    const t2 = n.b.connect();
    const w = await n.b.hello(t2, { sid: s.sid, key: s.key, ack: 0 });
    expect(w).toMatchObject({ resumed: true, recovered: false, reason: 'gap', missing: 1 });
  });

  it('the disconnect policy on one node closes the slow consumer on the other with 4002', async () => {
    const n = new TwoNodes(undefined, { limits: { maxMessages: 1, overflow: 'disconnect' } });
    const s = await n.a.session();
    congest(s.t);
    await n.settle();
    expect(s.t.closed).toBeUndefined();
    await n.b.hub.send(s.sid, 'm1');
    expect(await n.b.hub.send(s.sid, 'm2')).toEqual({ dropped: 'overflow', policy: 'disconnect' });
    await n.settle();
    expect(s.t.closed?.code).toBe(4002);
  });

  it('an expiry found by the other node sweeper of a message never written closes it with 4002', async () => {
    const n = new TwoNodes(undefined, { limits: { messageTtlMs: 1000 } });
    const s = await n.a.session();
    congest(s.t);
    await n.settle();
    expect(s.t.closed).toBeUndefined();
    await n.a.hub.send(s.sid, 'm1');
    n.clock.advance(2000);
    const swept = await n.b.outbox.sweep();
    for (const e of swept.expired) n.b.hub.lost(e.sid, e.messages);
    await n.settle();
    expect(s.t.closed?.code).toBe(4002);
  });

  it('lost appended hints are repaired from the store: by the next message, or by the position check', async () => {
    const bus = new LossyBus();
    const n = new TwoNodes(bus);
    const s = await n.a.session();
    bus.drop.add('appended');
    await n.b.hub.send(s.sid, 'b1');
    await n.settle();
    expect(s.t.seqs).toEqual([]); // the hint was lost
    expect(bus.published.map((e) => e.type)).toEqual(['appended']);

    // The next message sent on A itself finds a hole (seq 2 after 0) and reads the store.
    await n.a.hub.send(s.sid, 'a1');
    await n.settle();
    expect(s.t.seqs).toEqual([1, 2]);

    // A lost hint of the last message: the position check reads it.
    await n.b.hub.send(s.sid, 'b2');
    await n.settle();
    expect(s.t.seqs).toEqual([1, 2]);
    await n.a.hub.positions.run();
    await n.settle();
    expect(s.t.seqs).toEqual([1, 2, 3]);
  });

  it('a lost ended hint is repaired by the position check (1000)', async () => {
    const bus = new LossyBus();
    const n = new TwoNodes(bus);
    const s = await n.a.session();
    bus.drop.add('ended');
    await n.b.hub.endSession(s.sid);
    await n.settle();
    expect(s.t.closed).toBeUndefined();
    await n.a.hub.positions.run();
    await n.settle();
    expect(s.t.closed?.code).toBe(1000);
  });
});
