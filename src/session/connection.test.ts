/**
 * The writer of one connection: batching into WebSocket messages, and the backpressure
 * signals it gives (observed through what reaches the fake transport and the onWritable
 * callback).
 */
import { describe, expect, it, vi } from 'vitest';
import { Connection, type WriterLimits } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { FakeTransport } from './test-support/fake-transport.js';

function setup(limits: Partial<WriterLimits> = {}) {
  const turns: (() => void)[] = [];
  const scheduler = new FlushScheduler((fn) => turns.push(fn));
  const transport = new FakeTransport();
  let now = 1000;
  const onWritable = vi.fn();
  const conn = new Connection(transport, {
    scheduler,
    limits: {
      highWaterMark: 1000,
      maxBatchFrames: 64,
      maxBatchChars: 10_000,
      maxBuffered: 2 * 1000 + 1024 * 1024,
      ...limits,
    },
    now: () => now,
    writable: onWritable,
    message: () => {},
    closed: () => {},
  });
  conn.state = 'open';
  transport.bind({
    onMessage: () => {},
    onClose: () => {},
    onDrain: () => conn.drained(),
  });
  const endTurn = (): void => {
    while (turns.length > 0) turns.shift()!();
  };
  const setNow = (t: number): void => {
    now = t;
  };
  return { conn, transport, endTurn, onWritable, setNow, turns };
}

const frame = (i: number): string => `{"t":"msg","seq":${i},"data":${i}}`;

describe('Connection batching', () => {
  it('writes nothing until the end of the turn, then one message with the frames joined by newlines', () => {
    const { conn, transport, endTurn } = setup();
    for (let i = 1; i <= 5; i++) conn.write(frame(i));
    expect(transport.messages).toEqual([]);
    endTurn();
    expect(transport.messages).toEqual([[1, 2, 3, 4, 5].map(frame).join('\n')]);
  });

  it('a single frame goes alone, without a newline', () => {
    const { conn, transport, endTurn } = setup();
    conn.sendFrame({ t: 'ping' });
    endTurn();
    expect(transport.messages).toEqual(['{"t":"ping"}']);
  });

  it('puts at most maxBatchFrames frames in one message', () => {
    const { conn, transport, endTurn } = setup({ maxBatchFrames: 4 });
    for (let i = 1; i <= 10; i++) conn.write(frame(i));
    endTurn();
    expect(transport.messages.map((m) => m.split('\n').length)).toEqual([4, 4, 2]);
    expect(transport.messages.join('\n')).toBe(
      Array.from({ length: 10 }, (_, i) => frame(i + 1)).join('\n'),
    );
  });

  it('keeps messages under maxBatchChars, and a larger frame goes alone', () => {
    const { conn, transport, endTurn } = setup({ maxBatchChars: 50 });
    const small = '{"t":"msg","data":"0123456789"}'; // 31 chars
    const big = JSON.stringify({ t: 'msg', data: 'x'.repeat(100) });
    conn.write(small);
    conn.write(small);
    conn.write(big);
    conn.write(small);
    endTurn();
    expect(transport.messages).toEqual([small, small, big, small]);
    for (const m of transport.messages) expect(m.length <= 50 || m === big).toBe(true);
  });

  it('writes made after a flush go in the next turn', () => {
    const { conn, transport, endTurn } = setup();
    conn.write(frame(1));
    endTurn();
    conn.write(frame(2));
    conn.write(frame(3));
    endTurn();
    expect(transport.messages).toEqual([frame(1), `${frame(2)}\n${frame(3)}`]);
  });

  it('a closed connection writes nothing more', () => {
    const { conn, transport, endTurn } = setup();
    conn.close(1000, 'bye');
    conn.write(frame(1));
    endTurn();
    expect(transport.messages).toEqual([]);
    expect(transport.closed).toEqual({ code: 1000, reason: 'bye' });
  });
});

describe('Connection close', () => {
  it('flushes what is queued and the error frame, then closes with the code', () => {
    const { conn, transport, turns } = setup();
    conn.write(frame(1));
    conn.close(4501, 'protocol error', { code: 'bad_ack', message: 'too high' });
    expect(transport.messages).toEqual([
      `${frame(1)}\n{"t":"error","code":"bad_ack","message":"too high"}`,
    ]);
    expect(transport.closed).toEqual({ code: 4501, reason: 'protocol error' });
    expect(conn.isOpen).toBe(false);
    // The scheduled turn finds nothing left to write.
    while (turns.length > 0) turns.shift()!();
    expect(transport.messages).toHaveLength(1);
  });

  it('is idempotent: the first code wins', () => {
    const { conn, transport } = setup();
    conn.close(4000, 'heartbeat timeout');
    conn.close(1000, 'bye', { code: 'x', message: 'y' });
    expect(transport.closed).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    expect(transport.messages).toEqual([]);
    expect(conn.closeCode).toBe(4000);
  });
});

describe('Connection backpressure signals', () => {
  it('after a flush that leaves the socket above the high-water mark, stored writes stop', () => {
    const { conn, transport, endTurn } = setup({ highWaterMark: 1000 });
    expect(conn.writable).toBe(true);
    conn.write(frame(1));
    transport.bufferedAmount = 5000;
    endTurn();
    expect(conn.writable).toBe(false);
  });

  it('a drain resumes writing only once the socket is at or below half the mark', () => {
    const { conn, transport, endTurn, onWritable } = setup({ highWaterMark: 1000 });
    conn.write(frame(1));
    transport.bufferedAmount = 5000;
    endTurn();
    conn.deferred = true;
    transport.drain(900);
    expect(conn.writable).toBe(false);
    expect(onWritable).not.toHaveBeenCalled();
    transport.drain(500);
    expect(conn.writable).toBe(true);
    expect(onWritable).toHaveBeenCalledTimes(1);
  });

  it('a drain while not congested does not call onWritable', () => {
    const { conn, onWritable } = setup();
    conn.deferred = true;
    conn.drained();
    expect(onWritable).not.toHaveBeenCalled();
  });

  it('this turn’s batch above the mark stops stored writes until it is flushed', () => {
    const { conn, endTurn, onWritable } = setup({ highWaterMark: 100 });
    conn.write(JSON.stringify({ t: 'msg', data: 'x'.repeat(120) }));
    expect(conn.writable).toBe(false);
    conn.deferred = true;
    endTurn();
    expect(conn.writable).toBe(true);
    expect(onWritable).toHaveBeenCalledTimes(1);
  });

  it('records when it last sent, for the heartbeat', () => {
    const { conn, endTurn, setNow } = setup();
    expect(conn.lastSentAt).toBe(1000);
    setNow(1500);
    conn.write(frame(1));
    expect(conn.lastSentAt).toBe(1000);
    endTurn();
    expect(conn.lastSentAt).toBe(1500);
  });
});
