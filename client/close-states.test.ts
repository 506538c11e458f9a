/**
 * Regression: close() in every state resolves and leaves no timer behind. With no welcomed
 * connection (idle, connecting, socket open but not yet welcomed, waiting to reconnect) it
 * stops at once: no `bye`, the socket is closed, `session` is kept for a later resume.
 * When open it says `bye` and waits at most 5 s for the server's close.
 */
import { describe, expect, it } from 'vitest';
import { connected, msg, setup, tick, welcome } from './test-support/harness.js';

describe('close() in every state', () => {
  it('idle', async () => {
    const h = setup();
    await h.client.close();
    expect(h.client.state).toBe('closed');
    expect(h.clock.pending).toBe(0);
  });

  it('open, with a pending ack, a retry timer and the bye timer; server closes 1000', async () => {
    const h = setup();
    const sock = connected(h);
    const p = h.client.send('x').catch(() => undefined);
    await tick();
    sock.receive({ t: 'nack', id: 'c1', code: 'overloaded', message: '', retryable: true });
    sock.receive(msg(1));
    const closed = h.client.close();
    expect(sock.framesOf('bye')).toEqual([{ t: 'bye' }]);
    sock.serverClose(1000);
    await closed;
    await p;
    expect(h.clock.pending).toBe(0);
  });

  it('open, server never answers bye: resolves after 5 s', async () => {
    const h = setup();
    connected(h);
    let done = false;
    const closed = h.client.close().then(() => (done = true));
    h.clock.advance(4999);
    await tick();
    expect(done).toBe(false);
    h.clock.advance(1);
    await closed;
    expect(h.clock.pending).toBe(0);
  });

  it('waiting to reconnect', async () => {
    const h = setup();
    connected(h).fail();
    expect(h.client.state).toBe('reconnecting');
    await h.client.close();
    expect(h.clock.pending).toBe(0);
  });

  it('connecting, the socket never opens (server unreachable): stops at once', async () => {
    const h = setup();
    h.client.connect();
    const sock = h.server.last();
    let done = false;
    void h.client.close().then(() => (done = true));
    await tick();
    expect(done).toBe(true);
    expect(h.client.state).toBe('closed');
    expect(sock.terminated).toBe(true);
    expect(h.clock.pending).toBe(0);
  });

  it('reconnecting, socket open but not yet welcomed: stops at once and keeps the session', async () => {
    const h = setup();
    connected(h).fail();
    h.clock.advance(250);
    const sock = h.server.last();
    sock.accept();
    let done = false;
    void h.client.close().then(() => (done = true));
    await tick();
    expect(done).toBe(true);
    expect(h.client.state).toBe('closed');
    expect(h.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
    // A welcome still on its way is ignored: no bye, the session is not ended.
    h.clock.advance(9_000);
    welcome(sock, { resumed: true, recovered: true, reason: undefined });
    await tick();
    expect(sock.framesOf('bye')).toEqual([]);
    expect(h.events.of('open')).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });
});
