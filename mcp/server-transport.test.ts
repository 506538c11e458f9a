/**
 * The server transport and `serveMcp` on a fake resilient-ws server: the handler hands a
 * message on without waiting for its answer, progress is keyed per token and dropped once
 * answered or cancelled, a refused response becomes a JSON-RPC error for its id, and the
 * session's end fires `onclose` once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientMessage, MessageHandler, SendOptions, SendResult } from '../src/index.js';
import { RwsError } from '../src/errors.js';
import { NackError } from '../src/session/client-messages.js';
import {
  ResilientServerTransport,
  serveMcp,
  UNDELIVERABLE_RESPONSE,
  type McpHost,
  type JsonRpcMessage,
} from './index.js';

type Sent = { sid: string; data: unknown; options: SendOptions | undefined };

class FakeHost implements McpHost {
  handler: MessageHandler | undefined;
  readonly sent: Sent[] = [];
  readonly ended: string[] = [];
  /** Answers each send (default: stored). */
  answer: (s: Sent) => SendResult = () => ({ seq: this.sent.length });
  private readonly listeners: Record<string, ((e: { sid: string }) => void)[]> = {};

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  on(event: 'end' | 'reap', fn: (e: { sid: string }) => void): () => void {
    (this.listeners[event] ??= []).push(fn);
    return () => (this.listeners[event] = this.listeners[event]!.filter((f) => f !== fn));
  }

  emit(event: 'end' | 'reap', sid: string): void {
    for (const fn of this.listeners[event] ?? []) fn({ sid });
  }

  send(sid: string, data: unknown, options?: SendOptions): Promise<SendResult> {
    const s = { sid, data, options };
    this.sent.push(s);
    return new Promise((resolve) => resolve(this.answer(s)));
  }

  endSession(sid: string): Promise<boolean> {
    this.ended.push(sid);
    this.emit('end', sid);
    return Promise.resolve(true);
  }

  /** Runs the installed handler as the server does for one client message. */
  deliver(sid: string, data: unknown, id = 'c1'): Promise<unknown> {
    const m: ClientMessage = { sid, id, data };
    return Promise.resolve(this.handler!(m));
  }
}

const request = (id: number, token?: number | string): JsonRpcMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'slow', ...(token === undefined ? {} : { _meta: { progressToken: token } }) },
});
const progress = (token: number | string, n: number): JsonRpcMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: token, progress: n },
});

/** serveMcp on a fake host; each transport records what it received and its closes. */
function routed() {
  const host = new FakeHost();
  const received: Record<string, JsonRpcMessage[]> = {};
  const closes: Record<string, number> = {};
  const transports: Record<string, ResilientServerTransport> = {};
  const router = serveMcp(host, {
    connect(t, { sid }) {
      transports[sid] = t;
      received[sid] = [];
      closes[sid] = 0;
      t.onmessage = (m) => received[sid]!.push(m);
      t.onclose = () => closes[sid]!++;
    },
  });
  return { host, router, received, closes, transports };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('serveMcp', () => {
  it('creates one transport per session at its first message, sessionId = sid', async () => {
    const r = routed();
    await r.host.deliver('s1', request(0));
    await r.host.deliver('s1', request(1));
    await r.host.deliver('s2', request(0));
    expect(Object.keys(r.transports).sort()).toEqual(['s1', 's2']);
    expect(r.transports.s1!.sessionId).toBe('s1');
    expect(r.received.s1!.map((m) => m.id)).toEqual([0, 1]);
    expect(r.router.size).toBe(2);
  });

  it('returns once the message is handed on, without waiting for its answer', async () => {
    const r = routed();
    let answered = false;
    const handled = r.host.deliver('s1', request(0)).then(() => answered);
    // Nothing was ever sent back: the handler resolved anyway (so `ok` goes out at once).
    expect(await handled).toBe(false);
    expect(r.received.s1).toHaveLength(1);
    answered = true;
  });

  it('refuses data that is not one JSON-RPC message with a nack', async () => {
    const r = routed();
    const error = await r.host.deliver('s1', [request(0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NackError);
    expect((error as NackError).code).toBe('invalid_message');
    expect((error as NackError).retryable).toBe(false);
  });

  it('a connect that throws refuses that message; the next one connects again', async () => {
    const host = new FakeHost();
    let calls = 0;
    serveMcp(host, {
      connect(t) {
        if (++calls === 1) throw new Error('not ready');
        t.onmessage = () => undefined;
      },
    });
    await expect(host.deliver('s1', request(0))).rejects.toThrow('not ready');
    await host.deliver('s1', request(0));
    expect(calls).toBe(2);
  });

  it('the session ending (end, reap) fires onclose once and forgets the transport', async () => {
    const r = routed();
    await r.host.deliver('s1', request(0));
    await r.host.deliver('s2', request(0));
    r.host.emit('end', 's1');
    r.host.emit('end', 's1');
    r.host.emit('reap', 's2');
    expect(r.closes).toEqual({ s1: 1, s2: 1 });
    expect(r.router.size).toBe(0);
    await expect(r.transports.s1!.send(request(5))).rejects.toThrow(/closed/);
  });

  it('a message handled after its session ended connects no MCP server (nobody would close it)', async () => {
    const r = routed();
    // The claim of the message passed, then the session ended before its handler ran.
    r.host.emit('end', 's1');
    await expect(r.host.deliver('s1', request(0))).rejects.toMatchObject({
      code: 'unknown_session',
    });
    expect(r.router.size).toBe(0);
    expect(r.transports.s1).toBeUndefined();
  });

  it('router.close() closes every transport and refuses later messages', async () => {
    const r = routed();
    await r.host.deliver('s1', request(0));
    r.router.close();
    expect(r.closes.s1).toBe(1);
    await expect(r.host.deliver('s1', request(1))).rejects.toMatchObject({ code: 'mcp_closed' });
  });
});

describe('ResilientServerTransport', () => {
  it('sends progress keyed per token, and drops it once the response went out', async () => {
    const r = routed();
    await r.host.deliver('s1', request(3, 3));
    await r.host.deliver('s1', request(4, 'tok'));
    const t = r.transports.s1!;
    await t.send(progress(3, 1));
    await t.send(progress('tok', 1));
    await t.send(progress(99, 1)); // no request in flight has it
    await t.send({ jsonrpc: '2.0', id: 3, result: {} });
    await t.send(progress(3, 2)); // after the response: dropped
    await t.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info' } });
    expect(r.host.sent.map((s) => [s.sid, s.options?.key])).toEqual([
      ['s1', 'mcp:p:number:3'],
      ['s1', 'mcp:p:string:tok'],
      ['s1', undefined],
      ['s1', undefined],
    ]);
  });

  it('drops progress once the request is cancelled', async () => {
    const r = routed();
    await r.host.deliver('s1', request(3, 3));
    await r.host.deliver('s1', {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 3 },
    });
    await r.transports.s1!.send(progress(3, 1));
    expect(r.host.sent).toEqual([]);
  });

  it('a response refused as too large becomes a JSON-RPC error for its id; send rejects', async () => {
    const host = new FakeHost();
    host.answer = (s) => {
      if ((s.data as { result?: unknown }).result !== undefined)
        throw new RwsError('message_too_large', 'the serialized data is 2000000 bytes');
      return { seq: 1 };
    };
    const t = new ResilientServerTransport(host, 's1');
    await expect(t.send({ jsonrpc: '2.0', id: 7, result: { big: true } })).rejects.toMatchObject({
      code: 'message_too_large',
    });
    expect(host.sent[1]!.data).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: UNDELIVERABLE_RESPONSE,
        message:
          'resilient-ws could not deliver the response (message_too_large): the serialized data is 2000000 bytes',
        data: { code: 'message_too_large' },
      },
    });
    expect(host.sent[1]!.options).toEqual({ ifFull: 'reject' });
  });

  it('a response dropped by the overflow policy becomes a JSON-RPC error too', async () => {
    const host = new FakeHost();
    host.answer = (s) =>
      (s.data as { result?: unknown }).result !== undefined
        ? { dropped: 'overflow', policy: 'drop-newest' }
        : { seq: 1 };
    const t = new ResilientServerTransport(host, 's1');
    await expect(t.send({ jsonrpc: '2.0', id: 'a', result: {} })).rejects.toThrow(/drop-newest/);
    expect(host.sent[1]!.data).toMatchObject({ id: 'a', error: { data: { code: 'dropped' } } });
  });

  it('while the outbox is full, the error response is offered again every second', async () => {
    vi.useFakeTimers();
    const host = new FakeHost();
    let full = true;
    host.answer = () => {
      if (full) throw new RwsError('outbox_full', 'the outbox of session s1 is full');
      return { seq: 1 };
    };
    const t = new ResilientServerTransport(host, 's1');
    const sent = t.send({ jsonrpc: '2.0', id: 1, result: {} }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2500);
    expect(host.sent).toHaveLength(4); // the response, then the error at 0, 1 and 2 s
    full = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(await sent).toMatchObject({ code: 'outbox_full' });
    expect(host.sent).toHaveLength(5);
    expect(host.sent[4]!.data).toMatchObject({ id: 1, error: { data: { code: 'outbox_full' } } });
  });

  it('a response whose send fails because the store is unavailable is sent again, not lost', async () => {
    vi.useFakeTimers();
    const host = new FakeHost();
    let failures = 1;
    host.answer = () => {
      if (failures-- > 0) throw new RwsError('store_unavailable', 'Redis is not ready');
      return { seq: 1 };
    };
    const t = new ResilientServerTransport(host, 's1');
    const sent = t.send({ jsonrpc: '2.0', id: 1, result: {} }).then(
      () => 'ok',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(2500);
    expect(await sent).toBe('ok');
    expect(host.sent).toHaveLength(2);
    expect(host.sent[1]!.data).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    vi.useRealTimers();
  });

  it('other send failures reject as they are (unknown_session)', async () => {
    const host = new FakeHost();
    host.answer = () => {
      throw new RwsError('unknown_session', 'no session s1');
    };
    const t = new ResilientServerTransport(host, 's1');
    await expect(t.send({ jsonrpc: '2.0', id: 1, result: {} })).rejects.toMatchObject({
      code: 'unknown_session',
    });
    expect(host.sent).toHaveLength(1);
  });

  it('close() ends the resilient-ws session; onclose fires once', async () => {
    const r = routed();
    await r.host.deliver('s1', request(0));
    await r.transports.s1!.close();
    await r.transports.s1!.close();
    expect(r.host.ended).toEqual(['s1']);
    expect(r.closes.s1).toBe(1);
    expect(r.router.size).toBe(0);
  });
});
