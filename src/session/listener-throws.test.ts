/**
 * Regression: an application listener (metrics, logs) that throws must not break the hub:
 * the emitter isolates each listener and reports the failure, and delivery goes on.
 */
import { describe, expect, it } from 'vitest';
import { HubHarness } from './test-support/hub-harness.js';

describe('a throwing event listener inside the hub', () => {
  it("'send' listener: the send still resolves and the message is delivered live", async () => {
    const h = new HubHarness();
    const a = await h.session();
    let calls = 0;
    h.events.on('send', () => {
      calls++;
      if (calls === 1) throw new Error('metrics bug');
    });
    const r = await h.hub.send(a.sid, 'm1').then(
      () => 'ok',
      (e: unknown) => `rejected: ${(e as Error).message}`,
    );
    await h.settle();
    expect((await h.store.getSession(a.sid))?.last).toBe(1);
    expect(r).toBe('ok');
    expect(a.t.seqs).toEqual([1]);
  });

  it("'disconnect' listener: nothing escapes into the transport's close callback", async () => {
    const h = new HubHarness();
    const a = await h.session();
    h.events.on('disconnect', () => {
      throw new Error('log bug');
    });
    expect(() => a.t.fireClose(1006)).not.toThrow();
  });

  it("'connection' listener: accept() does not throw and the connection works", async () => {
    const h = new HubHarness();
    h.events.on('connection', () => {
      throw new Error('bug');
    });
    const t = h.connect();
    expect(h.hub.connections.size).toBe(1);
    await h.hello(t);
    t.fireClose(1006);
    expect(h.hub.connections.size).toBe(0);
  });

  it("'clientMessage' listener: the handler runs once and every attempt gets its ok", async () => {
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
    expect(a.t.framesOf('ok')).toHaveLength(2);
  });

  it("'frameError' listener: nothing escapes onMessage", async () => {
    const h = new HubHarness();
    const a = await h.session();
    h.events.on('frameError', () => {
      throw new Error('bug');
    });
    expect(() => a.t.peerSendsRaw('not json')).not.toThrow();
  });
});
