import { describe, expect, it } from 'vitest';
import {
  BoundedSet,
  classify,
  idKey,
  LineSplitter,
  MAX_KEY_LENGTH,
  parseLine,
  progressKey,
  truncatedResponseId,
  progressTokenOf,
  withProgressToken,
  type JsonRpcObject,
} from './serve-jsonrpc.js';

describe('classify', () => {
  it('tells requests, notifications and responses apart', () => {
    expect(classify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toMatchObject({
      kind: 'request',
      id: 1,
      method: 'tools/list',
    });
    expect(classify({ jsonrpc: '2.0', id: 'a', method: 'ping' })?.kind).toBe('request');
    expect(classify({ jsonrpc: '2.0', method: 'notifications/initialized' })?.kind).toBe(
      'notification',
    );
    expect(classify({ jsonrpc: '2.0', id: 3, result: {} })?.kind).toBe('response');
    expect(
      classify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })?.kind,
    ).toBe('response');
  });

  it.each([
    ['a string', 'hello'],
    ['an array (batch)', [{ jsonrpc: '2.0', method: 'x' }]],
    ['no jsonrpc', { id: 1, method: 'x' }],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'x' }],
    ['a method that is not a string', { jsonrpc: '2.0', id: 1, method: 7 }],
    ['a request with id null', { jsonrpc: '2.0', id: null, method: 'x' }],
    ['an object id', { jsonrpc: '2.0', id: {}, method: 'x' }],
    [
      'both result and error',
      { jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: '' } },
    ],
    ['neither result nor error', { jsonrpc: '2.0', id: 1 }],
    ['a malformed error', { jsonrpc: '2.0', id: 1, error: { message: 'x' } }],
    ['a response without id', { jsonrpc: '2.0', result: 1 }],
  ])('refuses %s', (_what, value) => {
    expect(classify(value)).toBeUndefined();
  });
});

describe('keys and ids', () => {
  it('keeps 1 and "1" apart', () => {
    expect(idKey(1)).not.toBe(idKey('1'));
    expect(progressKey(1)).toBe('mcp:p:number:1');
    expect(progressKey('1')).toBe('mcp:p:string:1');
  });

  it('hashes a progress key that would pass the key length limit, stably', () => {
    const long = 'x'.repeat(500);
    const key = progressKey(long);
    expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(key).toMatch(/^mcp:p:string:x+~[0-9a-z]+$/);
    expect(progressKey(long)).toBe(key);
    expect(progressKey(long + 'y')).not.toBe(key);
    expect(progressKey('x'.repeat(100))).toBe(`mcp:p:string:${'x'.repeat(100)}`);
  });

  it('reads and rewrites the progress token of a request without touching the original', () => {
    const m = {
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: 'slow', _meta: { progressToken: 'tok', other: 1 } },
    } as JsonRpcObject;
    expect(progressTokenOf(m)).toBe('tok');
    const r = withProgressToken(m, 99);
    expect(progressTokenOf(r)).toBe(99);
    expect(r.params).toMatchObject({ name: 'slow', _meta: { other: 1 } });
    expect(progressTokenOf(m)).toBe('tok');
    expect(progressTokenOf({ jsonrpc: '2.0', id: 1, method: 'x' })).toBe(undefined);
  });
});

describe('LineSplitter', () => {
  function split(max: number, chunks: (string | Buffer)[]): { lines: string[]; long: number[] } {
    const lines: string[] = [];
    const long: number[] = [];
    const s = new LineSplitter(
      max,
      (l) => lines.push(l),
      (b) => long.push(b),
    );
    for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
    s.end();
    return { lines, long };
  }

  it('splits on newlines across chunks, drops \\r and empty lines, flushes the last line', () => {
    expect(split(100, ['{"a":', '1}\n\n{"b"', ':2}\r\n', '  \n', 'tail'])).toEqual({
      lines: ['{"a":1}', '{"b":2}', 'tail'],
      long: [],
    });
  });

  it('keeps a multi-byte character split between chunks whole', () => {
    const bytes = Buffer.from('"é"\n');
    expect(split(100, [bytes.subarray(0, 2), bytes.subarray(2)]).lines).toEqual(['"é"']);
  });

  it('discards a line longer than the bound (counted in bytes) and goes on after it', () => {
    const r = split(10, ['short\n', 'x'.repeat(8), 'y'.repeat(8), 'z\nok\n', 'é'.repeat(6), '\n']);
    expect(r.lines).toEqual(['short', 'ok']);
    expect(r.long).toEqual([17, 12]);
  });

  it('reports the first and last bytes of a discarded line', () => {
    const edges: [string, string][] = [];
    const s = new LineSplitter(
      300,
      () => undefined,
      (_b, head, tail) => edges.push([head, tail]),
    );
    const line = '{"result":"' + 'a'.repeat(1000) + '","jsonrpc":"2.0","id":"r-7"}\r\n';
    for (let i = 0; i < line.length; i += 7) s.push(Buffer.from(line.slice(i, i + 7)));
    expect(edges).toHaveLength(1);
    expect(edges[0]![0]).toMatch(/^\{"result":"aaa/);
    expect(edges[0]![0].length).toBe(256);
    expect(edges[0]![1]).toMatch(/a","jsonrpc":"2.0","id":"r-7"}$/);
    expect(truncatedResponseId(...edges[0]!)).toBe('r-7');
  });

  it('accepts a line of exactly the bound', () => {
    expect(split(5, ['12345\n123456\n'])).toEqual({ lines: ['12345'], long: [6] });
  });
});

describe('parseLine', () => {
  it('says why a line is dropped', () => {
    expect(parseLine('server starting...')).toBe('not_json');
    expect(parseLine('{"level":"info"}')).toBe('not_jsonrpc');
    expect(parseLine('42')).toBe('not_jsonrpc');
    expect(parseLine('{"jsonrpc":"2.0","id":1,"result":{}}')).toMatchObject({ kind: 'response' });
  });
});

describe('truncatedResponseId', () => {
  it('finds the id of a response written id first or (as the SDK does) id last', () => {
    expect(truncatedResponseId('{"jsonrpc":"2.0","id":12,"result":{"content":[', '')).toBe(12);
    expect(truncatedResponseId('{"jsonrpc":"2.0", "id": "a\\"b", "error":{', '')).toBe('a"b');
    expect(truncatedResponseId('{"result":{"x":"', 'xx"}},"jsonrpc":"2.0","id":4}')).toBe(4);
  });

  it('finds nothing in a request, a notification or an id nested in the result', () => {
    expect(truncatedResponseId('{"jsonrpc":"2.0","id":12,"method":"x","params":{', '')).toBe(
      undefined,
    );
    expect(truncatedResponseId('{"method":"x","params":{"', '"jsonrpc":"2.0","id":4}')).toBe(
      undefined,
    );
    expect(truncatedResponseId('{"result":{"x":"', '{"jsonrpc":"2.0","id":4}}')).toBe(undefined);
    expect(truncatedResponseId('not json', 'at all')).toBe(undefined);
  });
});

describe('BoundedSet', () => {
  it('forgets the oldest past its bound; a re-added item is young again', () => {
    const s = new BoundedSet<number>(3);
    for (const n of [1, 2, 3]) s.add(n);
    s.add(1);
    s.add(4);
    expect([1, 2, 3, 4].map((n) => s.has(n))).toEqual([true, false, true, true]);
    expect(s.size).toBe(3);
  });
});
