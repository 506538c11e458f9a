import { describe, expect, it } from 'vitest';
import { isClientError } from './errors.js';
import { WELCOME, connected, msg, setup, tick, welcome } from './test-support/harness.js';

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  const error: unknown = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  return isClientError(error) ? error.code : error;
}

describe('send', () => {
  it('sends a msg with a unique id and resolves with ok.data', async () => {
    const h = setup();
    const sock = connected(h);
    const a = h.client.send({ n: 1 });
    const b = h.client.send('two');
    await tick();
    // Sends made in one tick leave as one WebSocket message.
    expect(sock.sent.at(-1)).toBe(
      '{"t":"msg","id":"c1","data":{"n":1}}\n{"t":"msg","id":"c2","data":"two"}',
    );
    sock.receive({ t: 'ok', id: 'c2', data: 'B' }, { t: 'ok', id: 'c1', data: 'A' });
    await expect(a).resolves.toBe('A');
    await expect(b).resolves.toBe('B');
  });

  it('queues sends made before the welcome and flushes them in order', async () => {
    const h = setup();
    const a = h.client.send(1);
    h.client.connect();
    const b = h.client.send(2);
    await tick();
    const sock = h.server.last();
    welcome(sock);
    expect(sock.framesOf('msg')).toEqual([
      { t: 'msg', id: 'c1', data: 1 },
      { t: 'msg', id: 'c2', data: 2 },
    ]);
    sock.receive({ t: 'ok', id: 'c1' }, { t: 'ok', id: 'c2', dup: true, data: 'again' });
    await expect(a).resolves.toBeUndefined();
    await expect(b).resolves.toBe('again');
  });

  it('resends unanswered messages with the same id after a reconnect', async () => {
    const h = setup();
    const first = connected(h);
    const a = h.client.send('a');
    const b = h.client.send('b');
    await tick();
    first.receive({ t: 'ok', id: 'c1', data: 1 });
    first.serverClose(1006);
    const c = h.client.send('c');
    h.clock.advance(250);
    const second = h.server.last();
    welcome(second, { resumed: true, recovered: true, reason: undefined });
    expect(second.framesOf('msg')).toEqual([
      { t: 'msg', id: 'c2', data: 'b' },
      { t: 'msg', id: 'c3', data: 'c' },
    ]);
    // The server handled c2 before the drop: its dedup answers dup.
    second.receive({ t: 'ok', id: 'c2', dup: true }, { t: 'ok', id: 'c3', data: 3 });
    await expect(a).resolves.toBe(1);
    await expect(b).resolves.toBeUndefined();
    await expect(c).resolves.toBe(3);
  });

  it('rejects on a non-retryable nack with its code', async () => {
    const h = setup();
    const sock = connected(h);
    const p = h.client.send('x');
    await tick();
    sock.receive({ t: 'nack', id: 'c1', code: 'invalid', message: 'no', retryable: false });
    const error: unknown = await p.catch((e: unknown) => e);
    expect(isClientError(error) && [error.code, error.message]).toEqual(['invalid', 'no']);
  });

  it('retries a retryable nack with the same id after a backoff delay', async () => {
    const h = setup();
    const sock = connected(h);
    const p = h.client.send('x');
    await tick();
    sock.receive({ t: 'nack', id: 'c1', code: 'busy', message: 'later', retryable: true });
    h.clock.advance(249);
    await tick();
    expect(sock.framesOf('msg')).toHaveLength(1);
    h.clock.advance(1);
    await tick();
    expect(sock.framesOf('msg')).toEqual([
      { t: 'msg', id: 'c1', data: 'x' },
      { t: 'msg', id: 'c1', data: 'x' },
    ]);
    sock.receive({ t: 'ok', id: 'c1', data: 'done' });
    await expect(p).resolves.toBe('done');
  });

  it('bounds the queue with maxQueue', async () => {
    const h = setup({ maxQueue: 2 });
    const a = h.client.send(1);
    void h.client.send(2);
    expect(await codeOf(h.client.send(3))).toBe('queue_full');
    const sock = connected(h);
    sock.receive({ t: 'ok', id: 'c1' });
    await a;
    const d = h.client.send(4);
    await tick();
    expect(sock.framesOf('msg').map((f) => f.data)).toEqual([1, 2, 4]);
    sock.receive({ t: 'ok', id: 'c4' });
    await d;
  });

  it('prefixes ids with a random string by default, so restarted clients never collide', async () => {
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const h = setup({ idPrefix: undefined });
      const sock = connected(h);
      void h.client.send(i).catch(() => {});
      await tick();
      ids.push(sock.framesOf('msg')[0]?.id);
    }
    expect(ids[0]).toMatch(/^[0-9a-f]{12}-1$/);
    expect(ids[1]).not.toBe(ids[0]);
  });

  it('rejects data that JSON cannot carry', async () => {
    const h = setup();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(await codeOf(h.client.send(undefined))).toBe('bad_data');
    expect(await codeOf(h.client.send(cycle))).toBe('bad_data');
    expect(await codeOf(h.client.send(10n))).toBe('bad_data');
  });
});

describe('close()', () => {
  it('sends bye, waits for the server close, rejects pending sends and forgets the session', async () => {
    const h = setup();
    const sock = connected(h);
    sock.receive(msg(1));
    const pending = h.client.send('late');
    const closed = h.client.close();
    expect(sock.frames().at(-1)).toEqual({ t: 'bye' });
    expect(await codeOf(h.client.send('after'))).toBe('closed');
    sock.serverClose(1000);
    await closed;
    expect(await codeOf(pending)).toBe('closed');
    expect(h.client.state).toBe('closed');
    expect(h.client.session).toBeUndefined();
    expect(h.events.of('close')).toEqual([{ code: 1000, reason: '', willReconnect: false }]);
    expect(h.clock.pending).toBe(0);
    h.clock.advance(60_000);
    expect(h.server.sockets).toHaveLength(1);
    await expect(h.client.close()).resolves.toBeUndefined();
  });

  it('gives up waiting for the server after 5 s', async () => {
    const h = setup();
    const sock = connected(h);
    const closed = h.client.close();
    h.clock.advance(5000);
    await closed;
    expect(sock.terminated).toBe(true);
    expect(h.events.of('close')).toMatchObject([{ code: 1000, willReconnect: false }]);
  });

  it('stops at once while waiting to reconnect, keeping the session for a later resume', async () => {
    const h = setup();
    connected(h).serverClose(1006);
    await h.client.close();
    expect(h.client.state).toBe('closed');
    expect(h.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
    h.clock.advance(60_000);
    expect(h.server.sockets).toHaveLength(1);
  });

  it('stops at once while connecting: no bye, the socket is closed, the session is kept', async () => {
    const session = { sid: 's1', key: 'k1', ack: 4 };
    const h = setup({ resume: session });
    h.client.connect();
    const sock = h.server.last();
    sock.accept(); // hello sent, welcome not yet received
    const pending = h.client.send('x');
    await h.client.close();
    expect(h.client.state).toBe('closed');
    expect(sock.terminated).toBe(true);
    expect(await codeOf(pending)).toBe('closed');
    expect(h.client.session).toEqual(session);
    expect(h.events.of('close')).toMatchObject([{ code: 1000, willReconnect: false }]);
    expect(h.clock.pending).toBe(0);
    // A welcome that was already on its way changes nothing.
    sock.receive({ ...WELCOME, resumed: true, recovered: true, reason: undefined });
    expect(sock.frames().map((f) => f.t)).toEqual(['hello']);
    expect(h.events.of('open')).toEqual([]);
  });

  it('can be called from a listener', async () => {
    const h = setup();
    let closed: Promise<void> | undefined;
    h.client.on('message', () => {
      closed ??= h.client.close();
    });
    const sock = connected(h);
    sock.receive(msg(1), msg(2));
    expect(sock.frames().map((f) => f.t)).toEqual(['hello', 'bye']);
    expect(h.events.of('message')).toHaveLength(2);
    sock.serverClose(1000);
    await closed;
  });
});
