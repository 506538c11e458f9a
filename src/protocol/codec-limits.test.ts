/**
 * The decoder's limits (docs/protocol.md §5, docs/security.md "Limits"): the depth of `msg`
 * data (`too_deep`, with the id of the msg), the id bounds' messages, and the optional
 * `nack.retryAfterMs`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, decodeServerMessage, nestsDeeper } from './codec.js';
import { MAX_ID_LENGTH } from './frames.js';

/** Levels of arrays and objects in a parsed value (a scalar is 0). */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0);
}

const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('nestsDeeper', () => {
  it('agrees with the depth of the value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, limit) => {
        expect(nestsDeeper(v, limit)).toBe(depthOf(v) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('stops at the limit: a value far too deep for recursion is answered', () => {
    expect(nestsDeeper(JSON.parse(deepArray(100_000)), 32)).toBe(true);
    expect(nestsDeeper(JSON.parse(deepArray(32)), 32)).toBe(false);
    expect(nestsDeeper(JSON.parse(deepArray(33)), 32)).toBe(true);
    expect(nestsDeeper({ a: [1, { b: 'x' }] }, 3)).toBe(false);
    expect(nestsDeeper({ a: [1, { b: [] }] }, 3)).toBe(true);
  });
});

describe('decodeClientMessage with maxDepth', () => {
  const msgWith = (data: string, id = 'm1') =>
    `{"t":"msg","id":${JSON.stringify(id)},"data":${data}}`;

  it('data nesting maxDepth levels is accepted, one more is too_deep with the id of the msg', () => {
    expect(decodeClientMessage(msgWith(deepArray(32)), 32)).toEqual([
      { ok: true, frame: { t: 'msg', id: 'm1', data: JSON.parse(deepArray(32)) as unknown } },
    ]);
    expect(decodeClientMessage(msgWith(deepArray(33)), 32)).toEqual([
      {
        ok: false,
        code: 'too_deep',
        id: 'm1',
        message: 'msg.data nests arrays and objects deeper than 32 levels (maxJsonDepth)',
      },
    ]);
  });

  it('without maxDepth nothing is refused for depth (the SDK decodes the server this way)', () => {
    expect(decodeClientMessage(msgWith(deepArray(10_000)))[0]!.ok).toBe(true);
  });

  it('only msg data is checked: deep unknown fields of any frame are dropped as before', () => {
    for (const text of [
      `{"t":"ack","seq":1,"x":${deepArray(50)}}`,
      `{"t":"hello","v":1,"x":${deepArray(50)}}`,
      `{"t":"msg","id":"a","data":1,"x":${deepArray(50)}}`,
    ])
      expect(decodeClientMessage(text, 2)[0]!.ok).toBe(true);
  });

  it('a deep msg with an invalid id is bad_frame, as without the limit', () => {
    expect(decodeClientMessage(msgWith(deepArray(50), ''), 2)).toEqual([
      { ok: false, code: 'bad_frame', message: expect.any(String) as string },
    ]);
  });

  it('each frame of a batch is checked on its own', () => {
    const out = decodeClientMessage(
      [msgWith('[[1]]', 'a'), msgWith('[[[1]]]', 'b'), msgWith('{"c":[1]}', 'c')].join('\n'),
      2,
    );
    expect(out.map((d) => (d.ok ? 'ok' : `${d.code}:${d.id}`))).toEqual(['ok', 'too_deep:b', 'ok']);
  });

  it('a 1 MiB deep frame is answered (no stack overflow)', () => {
    const levels = 512 * 1024 - 20;
    const [d] = decodeClientMessage(msgWith(deepArray(levels)), 32);
    expect(d).toMatchObject({ ok: false, code: 'too_deep', id: 'm1' });
  });
});

describe('id bounds', () => {
  it('names the bound in the message for resume.sid and resume.key', () => {
    for (const field of ['sid', 'key'])
      for (const value of ['', 'x'.repeat(MAX_ID_LENGTH + 1)]) {
        const resume = { sid: 's', key: 'k', ack: 0, [field]: value };
        expect(decodeClientMessage(JSON.stringify({ t: 'hello', v: 1, resume }))).toEqual([
          {
            ok: false,
            code: 'bad_frame',
            message: `hello.resume.${field} must be a string of 1-${MAX_ID_LENGTH} characters`,
          },
        ]);
      }
  });
});

describe('nack.retryAfterMs (server → client)', () => {
  const nack = (extra: Record<string, unknown>) =>
    JSON.stringify({
      t: 'nack',
      id: 'a',
      code: 'rate_limited',
      message: 'm',
      retryable: true,
      ...extra,
    });

  it('is passed on when it is a number >= 0', () => {
    expect(decodeServerMessage(nack({ retryAfterMs: 250 }))).toEqual([
      {
        ok: true,
        frame: {
          t: 'nack',
          id: 'a',
          code: 'rate_limited',
          message: 'm',
          retryable: true,
          retryAfterMs: 250,
        },
      },
    ]);
  });

  it('is optional, and a value that is not a finite number >= 0 is ignored', () => {
    const texts = [undefined, -1, '250', null, true].map((retryAfterMs) => nack({ retryAfterMs }));
    texts.push(nack({}).replace('}', ',"retryAfterMs":1e400}'));
    for (const text of texts) {
      const [d] = decodeServerMessage(text);
      expect(d).toMatchObject({ ok: true });
      expect(d!.ok && d!.frame).not.toHaveProperty('retryAfterMs');
    }
  });
});
