/**
 * The pieces of `resilient-ws mcp-bridge` that need no server: the command line, the bounded
 * stdin line splitter, JSON-RPC classification and the stdout writer's backpressure. The
 * bridge itself, against real servers and as a real process, is in
 * test/integration/mcp-bridge.test.ts.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BRIDGE_DEFAULTS, parseBridgeArgs } from './bridge-args.js';
import { LineSplitter, classify, errorResponse, idKey } from './bridge-jsonrpc.js';
import { JsonLineWriter } from './bridge-output.js';
import { mcpBridge } from './bridge.js';

const URL_ = 'ws://127.0.0.1:9/ws';

describe('mcp-bridge command line', () => {
  it('takes the URL and defaults', () => {
    expect(parseBridgeArgs([URL_], {})).toEqual({
      kind: 'run',
      options: {
        url: URL_,
        token: undefined,
        tokenSource: 'none',
        ...BRIDGE_DEFAULTS,
      },
    });
  });

  it('reads every flag, as --flag value and --flag=value', () => {
    const r = parseBridgeArgs(
      [
        '--backoff-base-ms=20',
        URL_,
        '--backoff-cap-ms',
        '100',
        '--max-message-bytes',
        '4096',
        '--connect-timeout-ms=0',
        '--log-level',
        'debug',
        '--token-env',
        'MY_TOKEN',
      ],
      { MY_TOKEN: 'secret-from-env' },
    );
    expect(r).toEqual({
      kind: 'run',
      options: {
        url: URL_,
        token: 'secret-from-env',
        tokenSource: 'env',
        backoffBaseMs: 20,
        backoffCapMs: 100,
        maxMessageBytes: 4096,
        connectTimeoutMs: 0,
        logLevel: 'debug',
      },
    });
    expect(parseBridgeArgs([URL_, '--token', 'abc'], {})).toMatchObject({
      options: { token: 'abc', tokenSource: 'flag' },
    });
  });

  it.each([
    [[], /URL is missing/],
    [[URL_, 'ws://other/ws'], /one server URL expected/],
    [['http://host/ws'], /must start with ws:\/\/ or wss:\/\//],
    [['not a url'], /is not a URL/],
    [[URL_, '--nope', '1'], /unknown flag --nope/],
    [[URL_, '--log-level'], /--log-level needs a value/],
    [[URL_, '--log-level', 'loud'], /--log-level must be one of/],
    [[URL_, '--backoff-base-ms', '-1'], /integer >= 1/],
    [[URL_, '--backoff-base-ms', '1.5'], /integer >= 1/],
    [[URL_, '--backoff-base-ms', '200', '--backoff-cap-ms', '100'], /must be >= --backoff-base/],
    [[URL_, '--max-message-bytes', '10'], /integer >= 256/],
    [[URL_, '--token', 'a', '--token-env', 'B'], /not both/],
    [[URL_, '--token-env', 'UNSET_VAR'], /UNSET_VAR is not set/],
    [[URL_, '--token-env', 'a-b'], /not a variable name/],
    [[URL_, '--token', 'a', '--token', 'b'], /given twice/],
  ])('refuses %j', (argv, message) => {
    const r = parseBridgeArgs(argv, {});
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.message).toMatch(message);
  });

  it('--help anywhere asks for help', () => {
    expect(parseBridgeArgs([URL_, '--help'], {})).toEqual({ kind: 'help' });
    expect(parseBridgeArgs(['-h'], {})).toEqual({ kind: 'help' });
  });

  it('writes usage and errors to stderr only, with exit codes 0 and 2', async () => {
    for (const [argv, code] of [
      [['--help'], 0],
      [['--bad'], 2],
    ] as const) {
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      let err = '';
      const exit = await mcpBridge({
        argv,
        env: {},
        stdout,
        stderr: { write: (s: string) => void (err += s) },
        signals: false,
      });
      expect(exit).toBe(code);
      expect(out).toBe('');
      expect(err).toMatch(/Usage: resilient-ws mcp-bridge <ws-url>/);
    }
  });
});

describe('LineSplitter', () => {
  const texts = (s: LineSplitter, ...chunks: string[]) =>
    chunks.flatMap((c) => s.push(Buffer.from(c)));

  it('splits at \\n across chunks and drops a \\r before it', () => {
    const s = new LineSplitter(100);
    expect(texts(s, 'a', 'b\r\nc\n', '\nd')).toEqual([
      { kind: 'line', text: 'ab' },
      { kind: 'line', text: 'c' },
      { kind: 'line', text: '' },
    ]);
    expect(s.end()).toEqual([{ kind: 'line', text: 'd' }]);
    expect(s.end()).toEqual([]);
  });

  it('keeps multi-byte characters split between chunks whole', () => {
    const s = new LineSplitter(100);
    const bytes = Buffer.from('"é€😀"\n');
    const out = [...s.push(bytes.subarray(0, 2)), ...s.push(bytes.subarray(2, 5))];
    out.push(...s.push(bytes.subarray(5)));
    expect(out).toEqual([{ kind: 'line', text: '"é€😀"' }]);
  });

  it('skips a line over the limit up to its newline, holding at most the limit', () => {
    const s = new LineSplitter(8);
    expect(texts(s, '12345678\n', '123456', '789', 'abc\nok\n')).toEqual([
      { kind: 'line', text: '12345678' },
      { kind: 'overlong', bytes: 12 },
      { kind: 'line', text: 'ok' },
    ]);
    expect(texts(s, 'x'.repeat(20))).toEqual([]);
    expect(s.end()).toEqual([{ kind: 'overlong', bytes: 20 }]);
  });

  it('reports a line that is not UTF-8', () => {
    const s = new LineSplitter(100);
    expect(s.push(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]))).toEqual([{ kind: 'notUtf8', bytes: 3 }]);
  });
});

describe('classify', () => {
  it('tells requests, notifications and responses apart', () => {
    expect(classify({ jsonrpc: '2.0', id: 1, method: 'a' })).toMatchObject({
      kind: 'request',
      id: 1,
      method: 'a',
    });
    expect(classify({ jsonrpc: '2.0', method: 'n' })).toMatchObject({
      kind: 'notification',
      method: 'n',
    });
    expect(classify({ jsonrpc: '2.0', id: 'x', result: {} })).toMatchObject({
      kind: 'response',
      id: 'x',
    });
    expect(classify({ jsonrpc: '2.0', id: null, error: { code: 1 } })).toMatchObject({
      kind: 'response',
      id: null,
    });
  });

  it.each([
    [[{ jsonrpc: '2.0', method: 'a' }], null, /batches/],
    ['text', null, /must be an object/],
    [null, null, /must be an object/],
    [{ id: 3, method: 'a' }, 3, /jsonrpc must be "2.0"/],
    [{ jsonrpc: '2.0', id: 3, method: 7 }, 3, /method must be a string/],
    [{ jsonrpc: '2.0', id: null, method: 'a' }, null, /request id/],
    [{ jsonrpc: '2.0', id: {}, result: 1 }, null, /response id/],
    [{ jsonrpc: '2.0', id: 4 }, 4, /neither/],
  ])('refuses %j (id %j)', (value, id, reason) => {
    const c = classify(value);
    expect(c.kind).toBe('invalid');
    expect(c).toMatchObject({ id });
    expect(c.kind === 'invalid' && c.reason).toMatch(reason);
  });

  it('keeps ids 1 and "1" apart, and builds error responses', () => {
    expect(idKey(1)).not.toBe(idKey('1'));
    expect(errorResponse(7, -32000, 'gone', { why: 'x' })).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32000, message: 'gone', data: { why: 'x' } },
    });
  });
});

describe('JsonLineWriter', () => {
  /** A stream that takes `highWaterMark` bytes, then holds its callbacks until released. */
  function slowSink() {
    const chunks: string[] = [];
    const held: (() => void)[] = [];
    const sink = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        held.push(cb);
      },
    });
    const release = () => {
      while (held.length > 0) held.shift()!();
    };
    return { sink, chunks, release };
  }

  it('writes one line per message, in order, and waits for drain when the stream is full', async () => {
    const { sink, chunks, release } = slowSink();
    let writes = 0;
    const write = sink.write.bind(sink);
    sink.write = ((...args: Parameters<typeof write>) => {
      writes++;
      return write(...args);
    }) as typeof sink.write;
    const w = new JsonLineWriter(sink, () => {});
    for (let i = 0; i < 5; i++) w.write({ jsonrpc: '2.0', method: 'n', params: { i } });
    // The first write filled the stream (over 16 bytes): the others wait here, not in it.
    expect(writes).toBe(1);
    expect(w.queued).toBe(4);
    let flushed = false;
    void w.flush(5_000).then(() => (flushed = true));
    while (!flushed) {
      release(); // the reader takes what it has, the stream drains, the writer goes on
      await new Promise((r) => setImmediate(r));
    }
    expect(w.queued).toBe(0);
    expect(
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { params: { i: number } }).params.i),
    ).toEqual([0, 1, 2, 3, 4]);
  });

  it('reports a broken stream once and drops what follows', () => {
    const sink = new PassThrough();
    const broken: Error[] = [];
    const w = new JsonLineWriter(sink, (e) => broken.push(e));
    sink.emit('error', new Error('EPIPE'));
    sink.emit('error', new Error('EPIPE again'));
    w.write({ jsonrpc: '2.0', method: 'x' });
    expect(broken.map((e) => e.message)).toEqual(['EPIPE']);
    expect(w.queued).toBe(0);
  });
});

describe('mcp-bridge memory', () => {
  it('remembers a bounded number of requests it answered itself', async () => {
    const { Bridge } = await import('./bridge.js');
    const { pino } = await import('pino');
    const stdin = new PassThrough();
    const out: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk.toString());
        cb();
      },
    });
    const bridge = new Bridge(
      {
        ...BRIDGE_DEFAULTS,
        url: URL_,
        token: undefined,
        tokenSource: 'none',
        maxMessageBytes: 256,
        connectTimeoutMs: 0,
        logLevel: 'silent',
      },
      pino({ level: 'silent' }),
      { argv: [], env: {}, stdin, stdout, signals: false },
    );
    const exit = bridge.run();
    const big = 'x'.repeat(300);
    const n = 20_000;
    for (let i = 0; i < n; i++)
      stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { big } })}\n`,
      );
    await new Promise((r) => setTimeout(r, 200));
    const answered = (bridge as unknown as { answeredHere: Set<string> }).answeredHere;
    expect(answered.size).toBeGreaterThan(0);
    expect(answered.size).toBeLessThanOrEqual(10_000);
    stdin.end();
    expect(await exit).toBe(0);
  }, 20_000);
});
