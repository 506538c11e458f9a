/**
 * REVIEW: the core's Emitter (src/events.ts) calls listeners synchronously and does not
 * isolate them. RwsServer *is* that emitter, so any application listener (metrics, logs)
 * that throws runs inside the hub's critical sections.
 */
import { describe, expect, it } from 'vitest';
import { HubHarness } from '../../src/session/test-support/hub-harness.js';

describe('a throwing event listener inside the hub', () => {
  it("'send' listener: the message is stored, but send() rejects and it is never delivered live", async () => {
    const h = new HubHarness();
    const a = await h.session();
    let calls = 0;
    h.events.on('send', () => {
      calls++;
      if (calls === 1) throw new Error('metrics bug');
    });
    // The caller is told the send failed…
    const r = await h.hub.send(a.sid, 'm1').then(
      () => 'ok',
      (e: unknown) => `rejected: ${(e as Error).message}`,
    );
    await h.settle();
    // …but the message was stored (seq 1 taken) and it was NOT written to the attached client.
    expect((await h.store.getSession(a.sid))?.last).toBe(1);
    expect.soft(r).toBe('ok'); // fails: rejected: metrics bug  (a retry would now duplicate it)
    expect.soft(a.t.seqs).toEqual([1]); // fails: [] — stuck in the outbox until some other wake-up
  });

  it("'disconnect' listener: the exception escapes into the transport's close callback (ws 'close' → uncaughtException)", async () => {
    const h = new HubHarness();
    const a = await h.session();
    h.events.on('disconnect', () => {
      throw new Error('log bug');
    });
    expect(() => a.t.fireClose(1006)).not.toThrow(); // fails: throws out of onClose
  });

  it("'connection' listener: accept() throws after registering the connection, which then leaks in hub.connections", () => {
    const h = new HubHarness();
    h.events.on('connection', () => {
      throw new Error('bug');
    });
    try {
      h.connect();
    } catch {
      // In the real server this throw escapes the handleUpgrade callback → uncaughtException,
      // and transport.bind() never runs, so onClose can never remove the connection.
    }
    expect(h.hub.connections.size).toBe(0); // fails: 1, forever (counts toward maxConnections)
  });

  it("'clientMessage' listener: the handler ran, but the client never gets its ok (retries get no answer either)", async () => {
    const h = new HubHarness();
    let handled = 0;
    h.hub.clientMessages.handler = () => {
      handled++;
      return 'r';
    };
    h.events.on('clientMessage', () => {
      throw new Error('metrics bug');
    });
    const a = await h.session();
    a.t.peerSends({ t: 'msg', id: 'c1', data: 1 });
    await h.settle();
    a.t.peerSends({ t: 'msg', id: 'c1', data: 1 }); // SDK retry of the same id
    await h.settle();
    expect(handled).toBe(1);
    expect(a.t.framesOf('ok').length).toBeGreaterThan(0); // fails: 0 oks
  });

  it("'frameError' listener: the exception escapes onMessage (ws 'message' → uncaughtException)", async () => {
    const h = new HubHarness();
    const a = await h.session();
    h.events.on('frameError', () => {
      throw new Error('bug');
    });
    expect(() => a.t.peerSendsRaw('not json')).not.toThrow();
  });
});
