/**
 * Regression (SDK + real server): losses are reported once; two client instances resuming
 * the same persisted session do not take it from each other for ever (4001 stops the
 * replaced one); an oversized send is refused on its own instead of getting the client
 * closed with 1009; a session ended by the server is forgotten.
 */
import { describe, expect, it } from 'vitest';
import {
  ResilientClient,
  isClientError,
  type ClientCloseEvent,
  type ClientGapEvent,
} from '../../client/index.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually, sleep } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

function opened(client: ResilientClient): Promise<{ sid: string; resumed: boolean }> {
  return new Promise((resolve) => {
    const off = client.on('open', (e) => {
      off();
      resolve(e);
    });
  });
}

describe('client SDK robustness', () => {
  it('messages lost by TTL at the end of the outbox are reported once, not twice', async () => {
    const { server, info } = await startServer({ messageTtl: 200, sweepInterval: 20 });
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    const port = await proxy.listen();
    const client = new ResilientClient(`ws://127.0.0.1:${port}/ws`, {
      backoff: { baseMs: 600, capMs: 600 },
      random: () => 1,
    });
    const gaps: ClientGapEvent[] = [];
    client.on('gap', (g) => gaps.push(g));
    const ready = opened(client);
    client.connect();
    const { sid } = await ready;
    await server.send(sid, 'a');
    await eventually(() => client.lastSeq === 1, 2000, 'a');
    await sleep(60);
    proxy.cut();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    await server.send(sid, 'b'); // seq 2, expires while away
    await server.send(sid, 'c'); // seq 3, expires while away
    await eventually(() => client.state === 'open', 5000, 'resume');
    await server.send(sid, 'd'); // seq 4, live
    await eventually(() => client.lastSeq === 4, 2000, 'd');
    expect(gaps).toEqual([{ reason: 'resume', missing: 2 }]);
    await client.close();
    await proxy.close();
  });

  it('a client replaced by another instance resuming its session stops (4001, no ping-pong)', async () => {
    const { server, info } = await startServer();
    const opts = { backoff: { baseMs: 50, capMs: 2000 } };
    const a = new ResilientClient(info.url, opts);
    const ready = opened(a);
    a.connect();
    const { sid } = await ready;
    const persisted = a.session!;
    // e.g. a second browser tab restoring the same session from localStorage
    const b = new ResilientClient(info.url, { ...opts, resume: persisted });
    const closes: ClientCloseEvent[] = [];
    a.on('close', (e) => closes.push(e));
    b.on('close', (e) => closes.push(e));
    const bReady = opened(b);
    b.connect();
    expect(await bReady).toEqual({ sid, resumed: true });
    await eventually(() => a.state === 'closed', 2000, 'a stops');
    await sleep(500); // time for any (wrong) takeover back
    expect(closes).toEqual([
      { code: 4001, reason: expect.any(String) as string, willReconnect: false },
    ]);
    expect(a.stats.reconnects).toBe(0);
    expect(a.session).toEqual(persisted); // b owns it now; a does not forget it
    expect(b.state).toBe('open');
    expect(server.isAttached(sid)).toBe(true);
    await a.close();
    await b.close();
  });

  it('one oversized send is refused on its own; the client and the other sends go on', async () => {
    const maxFrame = 64 * 1024;
    const { info } = await startServer({ maxFrame, onMessage: (m) => m.data });
    const client = new ResilientClient(info.url, {
      backoff: { baseMs: 5, capMs: 20 },
      maxMessageBytes: maxFrame,
    });
    const closes: ClientCloseEvent[] = [];
    client.on('close', (e) => closes.push(e));
    const ready = opened(client);
    client.connect();
    await ready;
    const big = client
      .send('x'.repeat(100 * 1024))
      .catch((e: unknown) => (isClientError(e) ? e.code : String(e)));
    const small = client.send('small').catch((e: { code?: string }) => `rejected ${e.code}`);
    // Many sends in one tick, each under the bound but far over it together (and over it in
    // UTF-8 per character count): the batches stay within maxFrame.
    const many = Array.from({ length: 20 }, () => client.send('€'.repeat(10_000)));
    expect(await Promise.all([big, small])).toEqual(['message_too_large', 'small']);
    expect(await Promise.all(many)).toHaveLength(20);
    expect(client.state).toBe('open');
    expect(closes).toEqual([]);
    await client.close();
  });

  it('a session ended by the server (close 1000) is forgotten', async () => {
    const { server, info } = await startServer();
    const client = new ResilientClient(info.url, { backoff: { baseMs: 5, capMs: 20 } });
    const ready = opened(client);
    client.connect();
    const { sid } = await ready;
    expect(client.session?.sid).toBe(sid);
    await server.endSession(sid);
    await eventually(() => client.state === 'closed', 2000, 'closed');
    expect(client.session).toBeUndefined();
  });
});
