/**
 * Malformed, unknown, batched and oversize frames: clear typed errors, nothing lost, the
 * session intact.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

describe('frames', () => {
  it.each([
    ['not JSON', 'hello there', 'bad_frame'],
    ['a JSON array', '[1,2]', 'bad_frame'],
    ['an object without t', '{"seq":1}', 'bad_frame'],
    ['a non-string t', '{"t":5}', 'bad_frame'],
    ['an unknown type', '{"t":"subscribe","ch":"x"}', 'unknown_type'],
    ['an ack with a negative seq', '{"t":"ack","seq":-1}', 'bad_frame'],
    ['an ack with a fractional seq', '{"t":"ack","seq":1.5}', 'bad_frame'],
    ['a msg without id', '{"t":"msg","data":1}', 'bad_frame'],
    [
      'a msg with an id over 128 chars',
      JSON.stringify({ t: 'msg', id: 'i'.repeat(129), data: 1 }),
      'bad_frame',
    ],
    ['a msg without data', '{"t":"msg","id":"a"}', 'bad_frame'],
    ['a second hello', '{"t":"hello","v":1}', 'bad_frame'],
  ])('%s gets error %s and the connection stays usable', async (_name, text, code) => {
    const { server, info } = await startServer();
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    c.sendRaw(text);
    const err = await c.next((f) => f.t === 'error');
    expect(err.code).toBe(code);
    expect(typeof err.message).toBe('string');
    expect((err.message as string).length).toBeGreaterThan(0);
    // Nothing lost: delivery and client messages still work on the same connection.
    await server.send(w.sid, 'after');
    expect((await c.messagesUpTo(1))[0]).toMatchObject({ seq: 1, data: 'after' });
    c.send({ t: 'msg', id: 'm1', data: 1 });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'm1' });
    c.close();
  });

  it('unknown fields are ignored (forward compatibility)', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    c.send({ t: 'hello', v: 1, future: { x: 1 } });
    expect(await c.next((f) => f.t === 'welcome')).toMatchObject({ resumed: false });
    c.send({ t: 'msg', id: 'a', data: 2, priority: 'high' });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'a' });
    c.close();
  });

  it('several frames in one WebSocket message are handled in order', async () => {
    const { server, info } = await startServer({ onMessage: (m) => m.data });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    c.sendRaw(
      ['{"t":"msg","id":"1","data":"a"}', '{"t":"msg","id":"2","data":"b"}', '{"t":"ping"}'].join(
        '\n',
      ),
    );
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: '1', data: 'a' });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: '2', data: 'b' });
    // ping is answered at once; client messages are answered after their handler.
    expect(c.frames.some((f) => f.t === 'pong')).toBe(true);
    // The server batches too: messages sent in one turn leave as one WebSocket message.
    await Promise.all(Array.from({ length: 20 }, (_, i) => server.send(w.sid, i)));
    await c.messagesUpTo(20);
    const batched = c.messages.filter((m) => m.includes('"t":"msg"'));
    expect(batched.length).toBeLessThan(20);
    expect(c.msgs().map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    c.close();
  });

  it('hello, a bad frame and a valid frame in one message: the session opens and the error is reported', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    c.sendRaw(['{"t":"hello","v":1}', '{"t":"bogus"}', '{"t":"ping"}'].join('\n'));
    await c.next((f) => f.t === 'welcome');
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ code: 'unknown_type' });
    await c.next((f) => f.t === 'pong');
    c.close();
  });

  it('a binary message is read as UTF-8 text and validated the same way', async () => {
    const { info } = await startServer();
    const c = await RawClient.connect(info.url);
    c.sendRaw(Buffer.from('{"t":"hello","v":1}'));
    expect(await c.next((f) => f.t === 'welcome')).toMatchObject({ t: 'welcome' });
    c.close();
  });

  it('an oversize message closes with 1009 but the session survives for a resume', async () => {
    const { server, info } = await startServer({ maxFrame: 2048 });
    const a = await RawClient.connect(info.url);
    const w = (await a.hello()) as Welcome;
    await server.send(w.sid, 'kept');
    a.sendRaw('x'.repeat(4096));
    expect((await a.closed).code).toBe(1009);
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: true,
      recovered: true,
      last: 1,
    });
    expect((await b.messagesUpTo(1))[0]).toMatchObject({ data: 'kept' });
    b.close();
  });

  it('client messages: ok after the handler, dup on repeat, nack with code and retryable', async () => {
    const { NackError } = await import('../../src/index.js');
    const handled: unknown[] = [];
    const { info } = await startServer({
      onMessage: (m) => {
        if (m.data === 'refuse')
          throw new NackError('not_allowed', 'refused by the app', { retryable: false });
        if (m.data === 'later') throw new NackError('busy', 'try later', { retryable: true });
        if (m.data === 'boom') throw new Error('crash');
        if (m.data === 'bigint') return { n: 1n };
        handled.push(m.data);
        return { len: String(m.data).length };
      },
    });
    const c = await RawClient.connect(info.url);
    await c.hello();
    c.send({ t: 'msg', id: 'a', data: 'hello' });
    expect(await c.next((f) => f.t === 'ok' && f.id === 'a')).toEqual({
      t: 'ok',
      id: 'a',
      data: { len: 5 },
    });
    c.send({ t: 'msg', id: 'a', data: 'hello' });
    // A duplicate gets the original result (kept within the result budget), not a second run.
    expect(await c.next((f) => f.t === 'ok' && f.id === 'a')).toEqual({
      t: 'ok',
      id: 'a',
      dup: true,
      data: { len: 5 },
    });
    c.send({ t: 'msg', id: 'b', data: 'refuse' });
    expect(await c.next((f) => f.t === 'nack')).toEqual({
      t: 'nack',
      id: 'b',
      code: 'not_allowed',
      message: 'refused by the app',
      retryable: false,
    });
    c.send({ t: 'msg', id: 'c', data: 'later' });
    expect(await c.next((f) => f.t === 'nack')).toMatchObject({
      id: 'c',
      code: 'busy',
      retryable: true,
    });
    c.send({ t: 'msg', id: 'd', data: 'boom' });
    expect(await c.next((f) => f.t === 'nack')).toMatchObject({
      id: 'd',
      code: 'handler_error',
      retryable: false,
    });
    // A result that is not JSON is a handler error, and the id is not kept as handled.
    c.send({ t: 'msg', id: 'e', data: 'bigint' });
    expect(await c.next((f) => f.t === 'nack' && f.id === 'e')).toMatchObject({
      code: 'handler_error',
      retryable: false,
    });
    c.send({ t: 'msg', id: 'e', data: 'bigint' });
    expect(await c.next((f) => f.t === 'nack' && f.id === 'e')).toMatchObject({
      code: 'handler_error',
    });
    // A refused id is forgotten, so a retry is handled for real.
    c.send({ t: 'msg', id: 'c', data: 'now ok' });
    expect(await c.next((f) => f.t === 'ok' && f.id === 'c')).toMatchObject({ data: { len: 6 } });
    expect(handled).toEqual(['hello', 'now ok']);
    c.close();
  });
});
