/**
 * The client SDK against the real server over loopback: handshake, delivery and acks,
 * resume after a dropped socket (also in a new client with a persisted session), gap
 * reporting, client messages with ok/nack, terminal close codes and bye.
 */
import { describe, expect, it } from 'vitest';
import { ResilientClient, isClientError, type ClientResumedEvent } from '../../client/index.js';
import { NackError } from '../../src/index.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually, sleep } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const fast = { backoff: { baseMs: 5, capMs: 20 } };

function opened(client: ResilientClient): Promise<{ sid: string; resumed: boolean }> {
  return new Promise((resolve) => {
    const off = client.on('open', (e) => {
      off();
      resolve(e);
    });
  });
}

describe('client SDK with the real server', () => {
  it('connects, receives in order, acks in batches, and the server forgets acked messages', async () => {
    const { server, info } = await startServer();
    const client = new ResilientClient(info.url, fast);
    const got: unknown[] = [];
    client.on('message', (m) => got.push(m.data));
    const ready = opened(client);
    client.connect();
    const { sid, resumed } = await ready;
    expect(resumed).toBe(false);
    for (let i = 1; i <= 100; i++) await server.send(sid, i);
    await eventually(() => got.length === 100, 5000, 'delivery');
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    await eventually(async () => (await server.store.getSession(sid))?.depth === 0, 5000, 'acks');
    expect(client.stats.acksSent).toBeLessThan(100);
    expect(client.lastSeq).toBe(100);
    await client.close();
  });

  it('resumes after the socket drops and gets what was sent meanwhile, recovered', async () => {
    const { server, info } = await startServer();
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    const port = await proxy.listen();
    // A fixed 200 ms reconnect delay: the messages below are sent while it is away.
    const client = new ResilientClient(`ws://127.0.0.1:${port}/ws`, {
      backoff: { baseMs: 200, capMs: 200 },
      random: () => 1,
    });
    const got: number[] = [];
    const resumes: ClientResumedEvent[] = [];
    client.on('message', (m) => got.push(m.data as number));
    client.on('resumed', (e) => resumes.push(e));
    const ready = opened(client);
    client.connect();
    const { sid } = await ready;
    await server.send(sid, 1);
    await eventually(() => got.length === 1, 2000, 'first');
    proxy.cut();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    await server.send(sid, 2);
    await server.send(sid, 3);
    await eventually(() => got.length === 3, 5000, 'replay');
    expect(got).toEqual([1, 2, 3]);
    expect(resumes).toEqual([{ recovered: true }]);
    await client.close();
    await proxy.close();
  });

  it('a new client resumes a persisted session; a gap is reported with the missing count', async () => {
    const { server, info } = await startServer({ outboxMax: 2 });
    // The first client reaches the server through a proxy that the test then shuts: the
    // client cannot reconnect, as when its process or network goes away.
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    const port = await proxy.listen();
    const first = new ResilientClient(`ws://127.0.0.1:${port}/ws`, fast);
    const ready = opened(first);
    first.connect();
    const { sid } = await ready;
    await server.send(sid, 'a');
    await eventually(() => first.lastSeq === 1, 2000, 'a');
    await sleep(60); // let the batched ack reach the server
    const saved = first.session!;
    await proxy.close();
    await eventually(() => server.attachedCount === 0, 2000, 'detach');
    await first.close(); // not connected: no bye, the session stays resumable
    for (const v of ['b', 'c', 'd', 'e']) await server.send(sid, v);

    const second = new ResilientClient(info.url, { ...fast, resume: saved });
    const got: unknown[] = [];
    const gaps: unknown[] = [];
    const resumed = new Promise<ClientResumedEvent>((resolve) => second.on('resumed', resolve));
    second.on('message', (m) => got.push(m.data));
    second.on('gap', (g) => gaps.push(g));
    second.connect();
    expect(await resumed).toEqual({ recovered: false, reason: 'gap', missing: 2 });
    await eventually(() => got.length === 2, 2000, 'retained');
    expect(got).toEqual(['d', 'e']);
    expect(gaps).toEqual([{ reason: 'resume', missing: 2 }]);
    await second.close();
  });

  it('an unknown session is reported as not recovered with reason unknown_session', async () => {
    const { info } = await startServer();
    const client = new ResilientClient(info.url, {
      ...fast,
      resume: { sid: 'gone', key: 'k', ack: 7 },
    });
    const resumed = new Promise<ClientResumedEvent>((resolve) => client.on('resumed', resolve));
    client.connect();
    expect(await resumed).toEqual({ recovered: false, reason: 'unknown_session' });
    expect(client.lastSeq).toBe(0);
    await client.close();
  });

  it('send resolves with ok.data, rejects on a non-retryable nack with its code', async () => {
    const { info } = await startServer({
      onMessage: (m) => {
        if (m.data === 'no') throw new NackError('forbidden', 'not allowed');
        return { echo: m.data };
      },
    });
    const client = new ResilientClient(info.url, fast);
    client.connect();
    expect(await client.send('hi')).toEqual({ echo: 'hi' });
    const err = await client.send('no').catch((e: unknown) => e);
    expect(isClientError(err) && err.code).toBe('forbidden');
    await client.close();
  });

  it('a retryable nack is retried with the same id until the handler accepts it', async () => {
    let attempts = 0;
    const ids = new Set<string>();
    const { info } = await startServer({
      onMessage: (m) => {
        ids.add(m.id);
        if (++attempts < 3) throw new NackError('busy', 'try again', { retryable: true });
        return 'done';
      },
    });
    const client = new ResilientClient(info.url, fast);
    client.connect();
    expect(await client.send('work')).toBe('done');
    expect(attempts).toBe(3);
    expect(ids.size).toBe(1);
    await client.close();
  });

  it('stops for good on a terminal close code (4502) and rejects pending sends', async () => {
    const { server, info } = await startServer();
    const first = new ResilientClient(info.url, fast);
    const ready = opened(first);
    first.connect();
    const { sid } = await ready;
    const client = new ResilientClient(info.url, {
      ...fast,
      resume: { sid, key: 'wrong', ack: 0 },
    });
    const closed = new Promise<{ code: number; willReconnect: boolean }>((resolve) =>
      client.on('close', resolve),
    );
    client.connect();
    expect(await closed).toMatchObject({ code: 4502, willReconnect: false });
    expect(client.state).toBe('closed');
    await sleep(50);
    expect(client.stats.reconnects).toBe(0);
    expect(server.isAttached(sid)).toBe(true);
    await first.close();
  });

  it('treats 1001 (server going away) as retryable', async () => {
    const { server, info } = await startServer();
    const client = new ResilientClient(info.url, fast);
    const lost: { lastCloseCode: number; attempt: number }[] = [];
    const closes: unknown[] = [];
    client.on('reconnecting', (e) => lost.push(e));
    client.on('close', (e) => closes.push(e));
    const ready = opened(client);
    client.connect();
    await ready;
    await server.close();
    await eventually(() => lost.length > 0, 2000, 'reconnecting');
    expect(lost[0]).toMatchObject({ lastCloseCode: 1001, attempt: 1 });
    expect(closes).toEqual([]);
    await client.close();
  });

  it('close() says bye: the server forgets the session', async () => {
    const { server, info } = await startServer();
    const client = new ResilientClient(info.url, fast);
    const ready = opened(client);
    client.connect();
    const { sid } = await ready;
    await client.close();
    expect(client.state).toBe('closed');
    await eventually(
      async () => (await server.store.getSession(sid)) === undefined,
      2000,
      'forgotten',
    );
  });
});
