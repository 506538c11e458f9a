/**
 * Two servers ("nodes") in one process on one shared memory store and one loopback bus, over
 * real sockets with the real SDK (docs/architecture.md, "Several nodes"): sends on either
 * node reach a client attached to one of them, the client resumes on the other node with
 * `recovered: true` when its node goes away, and a resume on one node closes the other
 * node's connection with 4001.
 */
import { describe, expect, it } from 'vitest';
import { ResilientClient, type ClientResumedEvent } from '../../client/index.js';
import { balanced } from '../support/balancer.js';
import { MemoryStore } from '../../src/index.js';
import { DEFAULT_LIMITS } from '../../src/store/limits.js';
import { LoopbackBus } from '../../src/store/loopback-bus.js';
import { eventually, RawClient } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

async function twoNodes() {
  const store = new MemoryStore({ limits: DEFAULT_LIMITS });
  const bus = new LoopbackBus();
  const a = await startServer({ storeInstance: store, bus, node: 'node-a' });
  const b = await startServer({ storeInstance: store, bus, node: 'node-b' });
  return { store, bus, a, b };
}

describe('two nodes on one store and one bus', () => {
  it('sends on either node reach the client; it resumes on the other node, recovered, when its node goes away', async () => {
    const { store, bus, a, b } = await twoNodes();
    expect(bus.size).toBe(2);
    let target = a.info.url;
    const client = new ResilientClient('ws://balancer/ws', {
      WebSocket: balanced(() => target),
      backoff: { baseMs: 5, capMs: 20 },
    });
    const got: unknown[] = [];
    const resumes: ClientResumedEvent[] = [];
    client.on('message', (m) => got.push(m.data));
    client.on('resumed', (e) => resumes.push(e));
    const opened = new Promise<string>((resolve) => client.on('open', (e) => resolve(e.sid)));
    client.connect();
    const sid = await opened;
    expect(a.server.isAttached(sid)).toBe(true);
    expect(b.server.isAttached(sid)).toBe(false);

    await a.server.send(sid, 'a1');
    const posted = await postJson(`${b.info.httpUrl}/api/sessions/${sid}/messages`, {
      data: 'b1',
    });
    expect(posted).toMatchObject({ status: 202, body: { seq: 2 } });
    await eventually(() => got.length === 2, 5000, 'delivery from both nodes');
    expect(got).toEqual(['a1', 'b1']);

    // Node A goes away (1001): the balancer sends the client to B, which resumes it.
    target = b.info.url;
    await a.server.close();
    await b.server.send(sid, 'b2');
    await eventually(() => resumes.length > 0, 5000, 'resume on B');
    expect(resumes).toEqual([{ recovered: true }]);
    expect(b.server.isAttached(sid)).toBe(true);
    expect(await store.getSession(sid)).toMatchObject({ attached: true });
    for (let i = 3; i <= 20; i++) await b.server.send(sid, `b${i}`);
    await eventually(() => got.length >= 20, 5000, 'delivery after the move').catch(() => {
      throw new Error(`got ${JSON.stringify(got)}`);
    });
    expect(got).toEqual(['a1', 'b1', ...Array.from({ length: 19 }, (_, i) => `b${i + 2}`)]);
    await client.close();
  });

  it('a resume on node B closes the connection on node A with 4001', async () => {
    const { a, b } = await twoNodes();
    const first = await RawClient.connect(a.info.url);
    first.send({ t: 'hello', v: 1 });
    const w = await first.next((f) => f.t === 'welcome');
    const sid = w.sid as string;
    await a.server.send(sid, 'm1');
    await first.next((f) => f.t === 'msg');

    const second = await RawClient.connect(b.info.url);
    second.send({ t: 'hello', v: 1, resume: { sid, key: w.key, ack: 0 } });
    const w2 = await second.next((f) => f.t === 'welcome');
    expect(w2).toMatchObject({ sid, resumed: true, recovered: true });
    expect((await first.closed).code).toBe(4001);
    // A's close of its old connection does not detach the session B holds.
    await eventually(() => !a.server.isAttached(sid), 2000, 'A let go');
    expect(b.server.isAttached(sid)).toBe(true);
    await a.server.send(sid, 'm2');
    const m2 = await second.next((f) => f.t === 'msg' && f.data === 'm2');
    expect(m2.seq).toBe(2);
    second.ws.close();
  });
});
