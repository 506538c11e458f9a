import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeFrame,
  encodeMsg,
  joinFrames,
  type ClientFrame,
  type Decoded,
  type ServerFrame,
} from './index.js';

const one = <F>(results: Decoded<F>[]): Decoded<F> => {
  expect(results).toHaveLength(1);
  return results[0]!;
};
const client = (value: unknown): Decoded<ClientFrame> =>
  one(decodeClientMessage(typeof value === 'string' ? value : JSON.stringify(value)));
const server = (value: unknown): Decoded<ServerFrame> =>
  one(decodeServerMessage(typeof value === 'string' ? value : JSON.stringify(value)));

describe('decodeClientMessage: valid frames', () => {
  it.each<[string, unknown, ClientFrame]>([
    ['hello', { t: 'hello', v: 1 }, { t: 'hello', v: 1 }],
    ['hello with token', { t: 'hello', v: 1, token: 'tok' }, { t: 'hello', v: 1, token: 'tok' }],
    [
      'hello with resume',
      { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: 0 } },
      { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: 0 } },
    ],
    [
      'hello with another version (refused later, not here)',
      { t: 'hello', v: 2 },
      { t: 'hello', v: 2 },
    ],
    ['ack', { t: 'ack', seq: 7 }, { t: 'ack', seq: 7 }],
    ['ack 0', { t: 'ack', seq: 0 }, { t: 'ack', seq: 0 }],
    [
      'msg',
      { t: 'msg', id: 'a', data: { x: [1, 'y'] } },
      { t: 'msg', id: 'a', data: { x: [1, 'y'] } },
    ],
    ['msg with null data', { t: 'msg', id: 'a', data: null }, { t: 'msg', id: 'a', data: null }],
    [
      'msg with a 128-char id',
      { t: 'msg', id: 'i'.repeat(128), data: 1 },
      { t: 'msg', id: 'i'.repeat(128), data: 1 },
    ],
    ['ping', { t: 'ping' }, { t: 'ping' }],
    ['pong', { t: 'pong' }, { t: 'pong' }],
    ['bye', { t: 'bye' }, { t: 'bye' }],
  ])('%s', (_name, input, frame) => {
    expect(client(input)).toEqual({ ok: true, frame });
  });

  it('ignores unknown fields and does not copy them', () => {
    expect(client({ t: 'ping', future: 1 })).toEqual({ ok: true, frame: { t: 'ping' } });
    expect(client({ t: 'msg', id: 'a', data: 1, priority: 'high' })).toEqual({
      ok: true,
      frame: { t: 'msg', id: 'a', data: 1 },
    });
    expect(
      client({ t: 'hello', v: 1, x: 1, resume: { sid: 's', key: 'k', ack: 3, extra: true } }),
    ).toEqual({ ok: true, frame: { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: 3 } } });
  });

  it('accepts surrounding JSON whitespace', () => {
    expect(client(' {"t":"ping"} ')).toEqual({ ok: true, frame: { t: 'ping' } });
  });
});

describe('decodeClientMessage: invalid frames', () => {
  it.each<[string, string]>([
    ['not JSON', 'hello there'],
    ['truncated JSON', '{"t":"ping"'],
    ['a JSON array', '[{"t":"ping"}]'],
    ['JSON null', 'null'],
    ['a JSON string', '"ping"'],
    ['a JSON number', '42'],
    ['an object without t', '{"seq":1}'],
    ['a numeric t', '{"t":5}'],
    ['a null t', '{"t":null}'],
    ['an object t', '{"t":{"x":1}}'],
  ])('%s is bad_frame', (_name, text) => {
    const d = client(text);
    expect(d).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(d.ok === false && d.message.length > 0).toBe(true);
  });

  it.each<[string, unknown]>([
    ['hello without v', { t: 'hello' }],
    ['hello with a string v', { t: 'hello', v: '1' }],
    ['hello with a numeric token', { t: 'hello', v: 1, token: 5 }],
    ['hello with a null resume', { t: 'hello', v: 1, resume: null }],
    ['hello with an array resume', { t: 'hello', v: 1, resume: ['s', 'k', 0] }],
    ['hello with a string resume', { t: 'hello', v: 1, resume: 's' }],
    ['resume without sid', { t: 'hello', v: 1, resume: { key: 'k', ack: 0 } }],
    ['resume with an empty sid', { t: 'hello', v: 1, resume: { sid: '', key: 'k', ack: 0 } }],
    [
      'resume with a 129-char sid',
      { t: 'hello', v: 1, resume: { sid: 's'.repeat(129), key: 'k', ack: 0 } },
    ],
    ['resume with an empty key', { t: 'hello', v: 1, resume: { sid: 's', key: '', ack: 0 } }],
    [
      'resume with a 129-char key',
      { t: 'hello', v: 1, resume: { sid: 's', key: 'k'.repeat(129), ack: 0 } },
    ],
    ['resume with a numeric key', { t: 'hello', v: 1, resume: { sid: 's', key: 1, ack: 0 } }],
    ['resume without ack', { t: 'hello', v: 1, resume: { sid: 's', key: 'k' } }],
    ['resume with a negative ack', { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: -1 } }],
    [
      'resume with a fractional ack',
      { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: 0.5 } },
    ],
    ['resume with a string ack', { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: '1' } }],
    ['ack without seq', { t: 'ack' }],
    ['ack with a negative seq', { t: 'ack', seq: -1 }],
    ['ack with a fractional seq', { t: 'ack', seq: 1.5 }],
    ['ack with a string seq', { t: 'ack', seq: '3' }],
    ['ack with an unsafe integer seq', { t: 'ack', seq: 2 ** 53 }],
    ['msg without id', { t: 'msg', data: 1 }],
    ['msg with an empty id', { t: 'msg', id: '', data: 1 }],
    ['msg with a 129-char id', { t: 'msg', id: 'i'.repeat(129), data: 1 }],
    ['msg with a numeric id', { t: 'msg', id: 1, data: 1 }],
    ['msg without data', { t: 'msg', id: 'a' }],
  ])('%s is bad_frame', (_name, value) => {
    const d = client(value);
    expect(d).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(d.ok === false && d.message.length > 0).toBe(true);
  });

  it.each(['subscribe', 'welcome', 'ok', 'error', 'HELLO', ''])('type %j is unknown_type', (t) => {
    expect(client({ t })).toMatchObject({ ok: false, code: 'unknown_type' });
  });

  it.each([
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '__defineGetter__',
  ])('an Object.prototype name %j as a type is unknown_type, not a crash', (t) => {
    expect(client({ t })).toMatchObject({ ok: false, code: 'unknown_type' });
    expect(server({ t })).toMatchObject({ ok: false, code: 'unknown_type' });
  });

  it('a "__proto__" key in the JSON does not lend the frame a type', () => {
    expect(client('{"__proto__":{"t":"ping"}}')).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(({} as Record<string, unknown>).t).toBeUndefined();
  });

  it('quotes at most 32 characters of an unknown type in the message', () => {
    const d = client({ t: 'x'.repeat(1000) });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.message).not.toContain('x'.repeat(33));
  });
});

describe('multi-frame messages', () => {
  it('splits on newlines and keeps the order', () => {
    const text = ['{"t":"ping"}', '{"t":"ack","seq":3}', '{"t":"msg","id":"a","data":"x"}'].join(
      '\n',
    );
    expect(decodeClientMessage(text)).toEqual([
      { ok: true, frame: { t: 'ping' } },
      { ok: true, frame: { t: 'ack', seq: 3 } },
      { ok: true, frame: { t: 'msg', id: 'a', data: 'x' } },
    ]);
  });

  it('ignores empty parts (leading, doubled and trailing newlines)', () => {
    expect(decodeClientMessage('\n{"t":"ping"}\n\n{"t":"pong"}\n')).toEqual([
      { ok: true, frame: { t: 'ping' } },
      { ok: true, frame: { t: 'pong' } },
    ]);
    expect(decodeClientMessage('{"t":"bye"}\n')).toEqual([{ ok: true, frame: { t: 'bye' } }]);
    // A message with no frame at all is reported, not silently ignored.
    expect(decodeClientMessage('\n\n')).toEqual([
      { ok: false, code: 'bad_frame', message: 'frame is not valid JSON' },
    ]);
  });

  it('reports each bad part on its own, in place', () => {
    const results = decodeClientMessage('{"t":"ping"}\nnope\n{"t":"what"}\n{"t":"pong"}');
    expect(results.map((d) => (d.ok ? d.frame.t : d.code))).toEqual([
      'ping',
      'bad_frame',
      'unknown_type',
      'pong',
    ]);
  });

  it('server messages split the same way', () => {
    const text = `${encodeMsg(1, '"a"')}\n\n${encodeMsg(2, '"b"')}\n${encodeFrame({ t: 'ping' })}\n`;
    expect(decodeServerMessage(text)).toEqual([
      { ok: true, frame: { t: 'msg', seq: 1, data: 'a' } },
      { ok: true, frame: { t: 'msg', seq: 2, data: 'b' } },
      { ok: true, frame: { t: 'ping' } },
    ]);
  });
});

describe('decodeServerMessage', () => {
  const base = {
    t: 'welcome',
    v: 1,
    sid: 's',
    key: 'k',
    epoch: 'e',
    resumed: true,
    recovered: true,
    last: 9,
    hb: 25000,
  } as const;
  const welcome = { ...base, recovered: false, reason: 'gap', missing: 2 } as const;

  it.each<[string, unknown, ServerFrame]>([
    ['welcome', welcome, welcome],
    ['welcome without reason and missing', base, base],
    ['welcome without v (defaults to 1)', { ...welcome, v: undefined }, welcome],
    ['msg', { t: 'msg', seq: 3, data: { a: 1 } }, { t: 'msg', seq: 3, data: { a: 1 } }],
    ['msg with id', { t: 'msg', seq: 3, id: 'x', data: 1 }, { t: 'msg', seq: 3, id: 'x', data: 1 }],
    ['volatile msg (no seq)', { t: 'msg', data: 'v' }, { t: 'msg', data: 'v' }],
    ['ok', { t: 'ok', id: 'a' }, { t: 'ok', id: 'a' }],
    ['ok dup', { t: 'ok', id: 'a', dup: true }, { t: 'ok', id: 'a', dup: true }],
    ['ok with dup false (dropped)', { t: 'ok', id: 'a', dup: false }, { t: 'ok', id: 'a' }],
    ['ok with data', { t: 'ok', id: 'a', data: [1] }, { t: 'ok', id: 'a', data: [1] }],
    [
      'nack',
      { t: 'nack', id: 'a', code: 'c', message: 'm', retryable: true },
      { t: 'nack', id: 'a', code: 'c', message: 'm', retryable: true },
    ],
    [
      'nack without message',
      { t: 'nack', id: 'a', code: 'c', retryable: false },
      { t: 'nack', id: 'a', code: 'c', message: '', retryable: false },
    ],
    ['ping', { t: 'ping' }, { t: 'ping' }],
    ['pong', { t: 'pong' }, { t: 'pong' }],
    ['error', { t: 'error', code: 'c', message: 'm' }, { t: 'error', code: 'c', message: 'm' }],
    ['error without message', { t: 'error', code: 'c' }, { t: 'error', code: 'c', message: '' }],
  ])('%s', (_name, input, frame) => {
    const d = server(input);
    expect(d.ok).toBe(true);
    if (d.ok)
      expect(JSON.parse(JSON.stringify(d.frame))).toEqual(JSON.parse(JSON.stringify(frame)));
  });

  it.each<[string, unknown]>([
    ['welcome without sid', { ...welcome, sid: undefined }],
    ['welcome with a numeric epoch', { ...welcome, epoch: 1 }],
    ['welcome with a string resumed', { ...welcome, resumed: 'true' }],
    ['welcome without recovered', { ...welcome, recovered: undefined }],
    ['welcome with a negative last', { ...welcome, last: -1 }],
    ['welcome without hb', { ...welcome, hb: undefined }],
    ['welcome with an unknown reason', { ...welcome, reason: 'because' }],
    ['welcome with a fractional missing', { ...welcome, missing: 1.5 }],
    ['msg without data', { t: 'msg', seq: 1 }],
    ['msg with seq 0', { t: 'msg', seq: 0, data: 1 }],
    ['msg with a string seq', { t: 'msg', seq: '1', data: 1 }],
    ['msg with a numeric id', { t: 'msg', seq: 1, id: 2, data: 1 }],
    ['ok without id', { t: 'ok' }],
    ['ok with an empty id', { t: 'ok', id: '' }],
    ['nack without code', { t: 'nack', id: 'a', retryable: true }],
    ['nack without retryable', { t: 'nack', id: 'a', code: 'c' }],
    ['error without code', { t: 'error', message: 'm' }],
  ])('%s is bad_frame', (_name, value) => {
    expect(server(value)).toMatchObject({ ok: false, code: 'bad_frame' });
  });

  it('a welcome whose reason is not a known one is bad_frame with a short message, whatever the value', () => {
    // A deeply nested reason made JSON.stringify throw a RangeError out of the decoder (found
    // while writing the codec properties), and a long one was copied whole into the message.
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const long = JSON.stringify('x'.repeat(100_000));
    for (const reason of [deep, long, '{"a":1}', '7']) {
      const text = JSON.stringify(welcome).slice(0, -1) + `,"reason":${reason}}`;
      const d = server(text);
      expect(d).toMatchObject({ ok: false, code: 'bad_frame' });
      if (!d.ok) expect(d.message.length).toBeLessThan(100);
    }
  });

  it.each(['hello', 'ack', 'bye', 'subscribe'])(
    'client-only or unknown type %j is unknown_type',
    (t) => {
      expect(server({ t })).toMatchObject({ ok: false, code: 'unknown_type' });
    },
  );
});

describe('encodeMsg', () => {
  const awkward = 'line one\nline "two"\r\n\ttab \\ back\u2028\u2029 \u0000 é 😀';

  it.each<[string, number | undefined, unknown, string | undefined]>([
    ['seq and id', 5, { a: 1, b: [true, null] }, 'id-1'],
    ['seq, no id', 5, 'plain', undefined],
    ['id, no seq (volatile)', undefined, 42, 'id-2'],
    ['neither seq nor id', undefined, null, undefined],
    ['string data with newlines and quotes', 7, awkward, undefined],
    ['an id with newlines and quotes', 8, { text: awkward }, 'a "quoted"\nid'],
  ])('%s: equals JSON.stringify of the frame, without raw newlines', (_name, seq, data, id) => {
    const text = encodeMsg(seq, JSON.stringify(data), id);
    const frame: Record<string, unknown> = { t: 'msg' };
    if (seq !== undefined) frame.seq = seq;
    if (id !== undefined) frame.id = id;
    frame.data = data;
    expect(text).toBe(JSON.stringify(frame));
    expect(text).not.toContain('\n');
    expect(text).not.toContain('\r');
    const decoded = decodeServerMessage(text);
    expect(decoded).toEqual([{ ok: true, frame }]);
  });

  it('frames joined by joinFrames come back apart in order', () => {
    const texts = [encodeMsg(1, '"a\\nb"'), encodeMsg(2, '"c"', 'x'), encodeFrame({ t: 'ping' })];
    expect(decodeServerMessage(joinFrames(texts)).map((d) => d.ok && d.frame)).toEqual([
      { t: 'msg', seq: 1, data: 'a\nb' },
      { t: 'msg', seq: 2, id: 'x', data: 'c' },
      { t: 'ping' },
    ]);
  });
});

describe('encodeFrame and joinFrames', () => {
  it('encodeFrame is JSON.stringify and never contains a raw newline', () => {
    const frame: ServerFrame = { t: 'error', code: 'bad_frame', message: 'a\nb "c"' };
    expect(encodeFrame(frame)).toBe(JSON.stringify(frame));
    expect(encodeFrame(frame)).not.toContain('\n');
  });

  it('round-trips every client frame through encodeFrame', () => {
    const frames: ClientFrame[] = [
      { t: 'hello', v: 1, token: 't', resume: { sid: 's', key: 'k', ack: 4 } },
      { t: 'ack', seq: 4 },
      { t: 'msg', id: 'm', data: { nested: ['\n'] } },
      { t: 'ping' },
      { t: 'pong' },
      { t: 'bye' },
    ];
    expect(decodeClientMessage(joinFrames(frames.map(encodeFrame)))).toEqual(
      frames.map((frame) => ({ ok: true, frame })),
    );
  });

  it('joinFrames returns a single frame unchanged and joins several with newlines', () => {
    expect(joinFrames(['{"t":"ping"}'])).toBe('{"t":"ping"}');
    expect(joinFrames(['a', 'b', 'c'])).toBe('a\nb\nc');
  });
});
