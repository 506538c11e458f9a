/**
 * The client transport on a fake socket (the SDK's test harness): sends resolve on `ok`,
 * a dropped connection is no close, a lost or ended session and a terminal close fire
 * `onerror` then `onclose` once, `close()` fires `onclose` alone, gaps are errors, and
 * progress (or a response) the MCP SDK would call unknown is not passed on.
 */
import { describe, expect, it } from 'vitest';
import { ResilientClient } from '../client/index.js';
import type { FakeWebSocket } from '../client/test-support/fake-websocket.js';
import { setup, tick, welcome, type Harness } from '../client/test-support/harness.js';
import { ResilientClientTransport, type JsonRpcMessage } from './index.js';

interface Recorded {
  transport: ResilientClientTransport;
  h: Harness;
  sock: FakeWebSocket;
  received: JsonRpcMessage[];
  /** `error: …` and `close` in order. */
  calls: string[];
}

/** A transport over a harness client, started and welcomed. */
async function started(options: Parameters<typeof setup>[0] = {}): Promise<Recorded> {
  const h = setup({ onSessionLost: 'stop', ...options });
  const transport = new ResilientClientTransport(h.client);
  const received: JsonRpcMessage[] = [];
  const calls: string[] = [];
  transport.onmessage = (m) => received.push(m);
  transport.onerror = (e) => calls.push(`error: ${e.message}`);
  transport.onclose = () => calls.push('close');
  await transport.start();
  const sock = h.server.last();
  welcome(sock);
  return { transport, h, sock, received, calls };
}

const call = (id: number, token?: number): JsonRpcMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'slow', ...(token === undefined ? {} : { _meta: { progressToken: token } }) },
});
const progress = (token: number, n: number) => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: token, progress: n },
});
/** A server `msg` frame carrying `data`. */
const msg = (seq: number, data: unknown) => ({ t: 'msg', seq, data });
/** Lets the microtask that delivers a response run. */
const settle = (): Promise<void> => tick();

describe('ResilientClientTransport', () => {
  it('has no sessionId; the resilient-ws session is rwsSession', async () => {
    const r = await started();
    expect('sessionId' in r.transport).toBe(false);
    expect(r.transport.rwsSession).toEqual({ sid: 's1', key: 'k1', ack: 0 });
  });

  it('a URL makes its own client with onSessionLost: stop', () => {
    const t = new ResilientClientTransport('ws://server.test/ws', { onSessionLost: 'resend' });
    expect(t.client).toBeInstanceOf(ResilientClient);
    expect((t.client as unknown as { opts: { onSessionLost: string } }).opts.onSessionLost).toBe(
      'stop',
    );
  });

  it('start() resolves before welcome; sends wait for it and resolve on ok', async () => {
    const h = setup();
    const t = new ResilientClientTransport(h.client);
    await t.start();
    let done = false;
    const sent = t.send(call(0)).then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    const sock = h.server.last();
    welcome(sock);
    await tick();
    expect(sock.frames().filter((f) => f.t === 'msg')).toEqual([
      { t: 'msg', id: 'c1', data: call(0) },
    ]);
    sock.receive({ t: 'ok', id: 'c1' });
    await sent;
    expect(done).toBe(true);
    await expect(t.start()).rejects.toThrow(/already started/);
  });

  it('a nack rejects the send with the ClientError', async () => {
    const r = await started();
    const sent = r.transport.send(call(0));
    await tick();
    r.sock.receive({
      t: 'nack',
      id: 'c1',
      code: 'invalid_message',
      message: 'no',
      retryable: false,
    });
    await expect(sent).rejects.toMatchObject({ name: 'ClientError', code: 'invalid_message' });
    expect(r.calls).toEqual([]);
  });

  it('a dropped connection is not a close: no onerror, no onclose, and it resumes', async () => {
    const r = await started();
    r.sock.fail();
    r.h.clock.advance(1000);
    welcome(r.h.server.last(), { resumed: true, recovered: true, last: 0 });
    r.h.server.last().receive(msg(1, call(9)));
    expect(r.calls).toEqual([]);
    expect(r.received).toHaveLength(1);
  });

  it('passes progress on only while its request is in flight; drops a response to a cancelled request', async () => {
    const r = await started();
    void r.transport.send(call(1, 1)).catch(() => undefined);
    void r.transport.send(call(2, 2)).catch(() => undefined);
    r.sock.receive(
      msg(1, progress(1, 1)),
      msg(2, progress(7, 1)), // no such request
      msg(3, { jsonrpc: '2.0', id: 1, result: {} }),
      msg(4, progress(1, 2)), // after the response
    );
    void r.transport.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 2 },
    });
    r.sock.receive(msg(5, progress(2, 1)), msg(6, { jsonrpc: '2.0', id: 2, result: {} }));
    await settle();
    expect(r.received).toEqual([progress(1, 1), { jsonrpc: '2.0', id: 1, result: {} }]);
    expect(r.calls).toEqual([]);
  });

  it('delivers a response after the notifications that came before it in the same batch', async () => {
    const r = await started();
    void r.transport.send(call(1, 1)).catch(() => undefined);
    const order: string[] = [];
    // The MCP SDK handles notifications one microtask late and responses at once.
    r.transport.onmessage = (m) => {
      if (m.method !== undefined) queueMicrotask(() => order.push(m.method!));
      else order.push(`response ${String(m.id)}`);
    };
    r.sock.receive(msg(1, progress(1, 1)), msg(2, { jsonrpc: '2.0', id: 1, result: {} }));
    await settle();
    expect(order).toEqual(['notifications/progress', 'response 1']);
  });

  it('a gap is an error, not a close', async () => {
    const r = await started();
    r.sock.receive(msg(1, progress(1, 1)), msg(4, progress(1, 2)));
    expect(r.calls).toEqual(['error: resilient-ws lost server messages: seqs 2-3']);
  });

  it('a lost session: onerror, then onclose once; the pending send rejects', async () => {
    const r = await started();
    const sent = r.transport.send(call(0)).catch((e: unknown) => e);
    await tick();
    r.sock.fail();
    r.h.clock.advance(1000);
    welcome(r.h.server.last(), {
      sid: 's2',
      key: 'k2',
      resumed: false,
      recovered: false,
      reason: 'unknown_session',
    });
    expect(r.calls).toEqual([
      'error: resilient-ws session lost (unknown_session): the server no longer has the MCP session; requests in flight may or may not have run',
      'close',
    ]);
    expect(await sent).toMatchObject({ code: 'session_lost' });
    r.h.server.last().serverClose(1000);
    await tick();
    expect(r.calls).toHaveLength(2);
    expect(r.h.client.state).toBe('closed');
  });

  it('a lost session closes a client given with onSessionLost: resend too', async () => {
    const r = await started({ onSessionLost: 'resend' });
    r.sock.fail();
    r.h.clock.advance(1000);
    welcome(r.h.server.last(), {
      sid: 's2',
      key: 'k2',
      resumed: false,
      recovered: false,
      reason: 'epoch_changed',
    });
    expect(
      r.calls.map((c) => c.split(':')[0] + (c.includes('(epoch_changed)') ? ' epoch' : '')),
    ).toEqual(['error epoch', 'close']);
    // It ends the new session (bye) instead of going on in it.
    expect(r.h.server.last().frames().at(-1)).toEqual({ t: 'bye' });
  });

  it('the server ending the session: onerror with its reason, then onclose once', async () => {
    const r = await started();
    r.sock.receive({ t: 'error', code: 'session_ended', message: 'maintenance' });
    r.sock.serverClose(1000);
    expect(r.calls).toEqual([
      'error: the server ended the resilient-ws session: maintenance',
      'close',
    ]);
    await expect(r.transport.send(call(1))).rejects.toThrow(/closed/);
  });

  it('a terminal close: onerror, then onclose once', async () => {
    const r = await started();
    r.sock.serverClose(4500, 'unauthorized');
    expect(r.calls).toEqual([
      'error: the resilient-ws client stopped (close 4500: unauthorized)',
      'close',
    ]);
  });

  it('close() ends the session and fires onclose alone, once', async () => {
    const r = await started();
    const closing = r.transport.close();
    expect(r.sock.frames().at(-1)).toEqual({ t: 'bye' });
    r.sock.serverClose(1000);
    await closing;
    await r.transport.close();
    expect(r.calls).toEqual(['close']);
  });

  it('close() before start() fires onclose once', async () => {
    const h = setup();
    const t = new ResilientClientTransport(h.client);
    let closes = 0;
    t.onclose = () => closes++;
    await t.close();
    expect(closes).toBe(1);
    await expect(t.start()).rejects.toThrow(/closed/);
  });

  it('an error event of the client is an onerror', async () => {
    const r = await started();
    r.sock.receive({ t: 'error', code: 'bad_frame', message: 'something odd' });
    expect(r.calls).toEqual(['error: something odd']);
  });
});
