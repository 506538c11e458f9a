/**
 * options.token as a function: called before every connect and reconnect, its failures
 * handled like a failed connection (error token_failed, close 1006, retry after backoff);
 * options.headers on the upgrade request.
 */
import { describe, expect, it } from 'vitest';
import { ResilientClient } from './client.js';
import { isClientError } from './errors.js';
import type { WebSocketCtor } from './socket.js';
import { resolveWebSocket } from './socket.js';
import { FakeWebSocket, fakeServer } from './test-support/fake-websocket.js';
import { setup, tick, welcome } from './test-support/harness.js';

// random 0.5 and base 100 ms: the first retry waits 50 ms, the second up to 100 ms.
const BACKOFF = { baseMs: 100, capMs: 1000 };

describe('options.token as a function', () => {
  it('is called before every connect and reconnect, and its token goes in hello.token', async () => {
    let calls = 0;
    const h = setup({ token: () => `t${++calls}`, backoff: BACKOFF });
    h.client.connect();
    expect(calls).toBe(1);
    const first = h.server.last();
    welcome(first);
    expect(first.framesOf('hello')).toEqual([{ t: 'hello', v: 1, token: 't1' }]);

    first.serverClose(4000);
    expect(calls).toBe(1);
    h.clock.advance(100);
    expect(calls).toBe(2);
    const second = h.server.last();
    expect(second).not.toBe(first);
    welcome(second, { resumed: true, recovered: true, reason: undefined });
    expect(second.framesOf('hello')[0]).toMatchObject({ token: 't2', resume: { sid: 's1' } });

    // A failed attempt before welcome asks again too.
    second.fail();
    h.clock.advance(100);
    expect(calls).toBe(3);
    h.server.last().accept();
    expect(h.server.last().framesOf('hello')[0]).toMatchObject({ token: 't3' });
    await tick();
  });

  it('may be async: the socket opens once the token is there', async () => {
    let release: (token: string) => void = () => {};
    const h = setup({ token: () => new Promise<string>((resolve) => (release = resolve)) });
    h.client.connect();
    expect(h.server.sockets).toHaveLength(0);
    expect(h.client.state).toBe('connecting');
    release('async-token');
    await tick();
    expect(h.server.sockets).toHaveLength(1);
    h.server.last().accept();
    expect(h.server.last().framesOf('hello')).toEqual([{ t: 'hello', v: 1, token: 'async-token' }]);
  });

  it('sends no token when it returns undefined', () => {
    const h = setup({ token: () => undefined });
    h.client.connect();
    h.server.last().accept();
    expect(h.server.last().framesOf('hello')).toEqual([{ t: 'hello', v: 1 }]);
  });

  it.each([
    ['rejects', () => Promise.reject(new Error('refresh endpoint said 503'))],
    [
      'throws',
      () => {
        throw new Error('refresh endpoint said 503');
      },
    ],
    ['returns a number', () => 42 as unknown as string],
  ])(
    'that %s fails the attempt: token_failed, close 1006, a retry after backoff',
    async (_, fn) => {
      let calls = 0;
      const h = setup({
        backoff: BACKOFF,
        token: () => (++calls === 1 ? fn() : 'good-token'),
      });
      h.client.connect();
      await tick();
      expect(h.server.sockets).toHaveLength(0);
      const [error] = h.events.of('error');
      expect(error?.code).toBe('token_failed');
      expect(error?.message).toMatch(/^options\.token\(\) failed: /);
      expect(h.events.of('close')).toEqual([]);
      expect(h.events.of('reconnecting')).toMatchObject([
        { attempt: 1, lastCloseCode: 1006, reason: error!.message },
      ]);
      expect(h.client.state).toBe('reconnecting');

      h.clock.advance(100);
      await tick();
      expect(calls).toBe(2);
      welcome(h.server.last());
      expect(h.client.state).toBe('open');
      expect(h.server.last().framesOf('hello')[0]).toMatchObject({ token: 'good-token' });
      expect(h.client.stats.reconnects).toBe(1);
    },
  );

  it('that never settles fails after heartbeatTimeoutMs, and its late answer is ignored', async () => {
    let calls = 0;
    let late: (token: string) => void = () => {};
    const h = setup({
      backoff: BACKOFF,
      heartbeatTimeoutMs: 3000,
      token: () =>
        ++calls === 1 ? new Promise<string>((resolve) => (late = resolve)) : 'second-token',
    });
    h.client.connect();
    h.clock.advance(2999);
    expect(h.events.of('error')).toEqual([]);
    h.clock.advance(1);
    expect(h.events.of('error')[0]?.message).toBe(
      'options.token() failed: options.token() did not settle within 3000 ms',
    );
    late('too-late');
    await tick();
    expect(h.server.sockets).toHaveLength(0);
    h.clock.advance(100);
    expect(h.server.sockets).toHaveLength(1);
    h.server.last().accept();
    expect(h.server.last().framesOf('hello')[0]).toMatchObject({ token: 'second-token' });
  });

  it('close() while the token is pending stops: no socket, no retry', async () => {
    let release: (token: string) => void = () => {};
    const h = setup({ token: () => new Promise<string>((resolve) => (release = resolve)) });
    h.client.connect();
    await h.client.close();
    expect(h.client.state).toBe('closed');
    expect(h.clock.pending).toBe(0);
    release('late');
    await tick();
    h.clock.advance(60_000);
    expect(h.server.sockets).toHaveLength(0);
    expect(h.clock.pending).toBe(0);
  });

  it('an error listener that closes the client stops the retry', async () => {
    const h = setup({ token: () => Promise.reject(new Error('no session')) });
    h.client.on('error', () => void h.client.close());
    h.client.connect();
    await tick();
    expect(h.client.state).toBe('closed');
    h.clock.advance(60_000);
    expect(h.server.sockets).toHaveLength(0);
  });

  it('is refused when neither a string nor a function', () => {
    let error: unknown;
    try {
      new ResilientClient('ws://x', { token: 5 as unknown as string });
    } catch (e) {
      error = e;
    }
    expect(isClientError(error) && error.message).toBe(
      'options.token must be a string or a function returning one, got 5',
    );
  });
});

describe('options.headers', () => {
  function recordingServer() {
    const args: unknown[][] = [];
    const server = fakeServer();
    const Base = server.WebSocket;
    const Ctor = function (this: unknown, ...a: unknown[]) {
      args.push(a);
      return new Base(a[0] as string, a[1] as string[]);
    } as unknown as WebSocketCtor;
    return { args, Ctor, server };
  }

  it('passes { headers } as the third constructor argument, and nothing when unset', () => {
    const withHeaders = recordingServer();
    const headers = { Authorization: 'Bearer abc' };
    new ResilientClient('ws://x/ws', { WebSocket: withHeaders.Ctor, headers }).connect();
    expect(withHeaders.args).toEqual([['ws://x/ws', ['rws.v1'], { headers }]]);
    const without = recordingServer();
    new ResilientClient('ws://x/ws', { WebSocket: without.Ctor }).connect();
    expect(without.args).toEqual([['ws://x/ws', ['rws.v1']]]);
  });

  it('is validated', () => {
    expect(() => new ResilientClient('ws://x', { headers: { a: 1 } as never })).toThrow(
      /options\.headers must be an object of header names to string values/,
    );
  });

  it('loads ws even where a global WebSocket exists (it would drop the headers)', async () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = FakeWebSocket;
    try {
      const ws = (await import('ws')).default;
      expect(await resolveWebSocket()).toBe(FakeWebSocket);
      expect(await resolveWebSocket({ headers: true })).toBe(ws);

      // The client does the same: the global is not used (a refused loopback port).
      const stub = fakeServer();
      g.WebSocket = stub.WebSocket;
      const client = new ResilientClient('ws://127.0.0.1:1/ws', { headers: { 'x-a': 'b' } });
      const lost = new Promise((resolve) => client.once('reconnecting', resolve));
      client.connect();
      expect(await lost).toMatchObject({ attempt: 1, lastCloseCode: 1006 });
      expect(stub.sockets).toHaveLength(0);
      await client.close();
    } finally {
      if (saved === undefined) delete g.WebSocket;
      else g.WebSocket = saved;
    }
  });
});
