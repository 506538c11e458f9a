/**
 * The writer of one connection: batching into WebSocket messages, and the backpressure
 * signals it gives (observed through what reaches the fake transport and the onWritable
 * callback).
 */
import { describe, expect, it, vi } from 'vitest';
import { Connection, type WriterLimits } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { FakeTransport } from './test-support/fake-transport.js';

/**
 * `gapMs`: the event loop's idle time between two turns' check phases, as the scheduler reads
 * it: 10 ms by default (a loop with time to spare), under SATURATED_IDLE_MS for a saturated
 * loop.
 */
function setup(limits: Partial<WriterLimits> = {}, gapMs = 10) {
  const turns: (() => void)[] = [];
  let loopNow = 0;
  const scheduler = new FlushScheduler(
    (fn) => turns.push(fn),
    () => loopNow,
  );
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
  /** The check phase of this turn: what was marked in it (not what a flush marks again). */
  const endTurn = (): void => {
    loopNow += gapMs;
    const due = turns.splice(0);
    for (const run of due) run();
  };
  const setNow = (t: number): void => {
    now = t;
  };
  return { conn, transport, endTurn, onWritable, setNow, turns };
}

const frame = (i: number): string => `{"t":"msg","seq":${i},"data":${i}}`;

describe('Connection batching', () => {
  it('an idle connection writes its first frame at once; the rest of the turn leave at its end, joined by newlines', () => {
    const { conn, transport, endTurn } = setup();
    for (let i = 1; i <= 5; i++) conn.write(frame(i));
    expect(transport.messages).toEqual([frame(1)]);
    endTurn();
    expect(transport.messages).toEqual([frame(1), [2, 3, 4, 5].map(frame).join('\n')]);
  });

  it('under load (its last flush joined frames) it batches from the first frame, until a quiet turn', () => {
    const { conn, transport, endTurn } = setup();
    for (let i = 1; i <= 3; i++) conn.write(frame(i));
    endTurn(); // 1 at once, 2 and 3 joined: under load
    transport.messages.length = 0;
    for (let i = 4; i <= 6; i++) conn.write(frame(i));
    expect(transport.messages).toEqual([]);
    endTurn();
    expect(transport.messages).toEqual([[4, 5, 6].map(frame).join('\n')]);
    conn.write(frame(7)); // still under load: waits for the turn's end
    expect(transport.messages).toHaveLength(1);
    endTurn(); // a turn with one frame: quiet again
    conn.write(frame(8));
    expect(transport.messages).toEqual([[4, 5, 6].map(frame).join('\n'), frame(7), frame(8)]);
  });

  it('two frames every turn (one at once, one queued) count as a joined turn: then one write per turn', () => {
    const { conn, transport, endTurn } = setup();
    for (let turn = 0; turn < 5; turn++) {
      conn.write(frame(2 * turn));
      conn.write(frame(2 * turn + 1));
      endTurn();
    }
    // The first turn: one at once, one at its end; then each turn's two leave together.
    expect(transport.messages).toEqual([
      frame(0),
      frame(1),
      ...[1, 2, 3, 4].map((t) => `${frame(2 * t)}\n${frame(2 * t + 1)}`),
    ]);
  });

  it('one frame per turn is written at once every turn, and nothing is left for the flush', () => {
    const { conn, transport, endTurn } = setup();
    for (let i = 1; i <= 3; i++) {
      conn.write(frame(i));
      expect(transport.messages).toHaveLength(i);
      endTurn();
    }
    expect(transport.messages).toEqual([1, 2, 3].map(frame));
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
    // The first at once, the other nine in batches of at most 4.
    expect(transport.messages.map((m) => m.split('\n').length)).toEqual([1, 4, 4, 1]);
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
    for (let i = 1; i <= 3; i++) conn.write(frame(i));
    endTurn();
    conn.write(frame(4));
    conn.write(frame(5));
    const first = [frame(1), `${frame(2)}\n${frame(3)}`];
    expect(transport.messages).toEqual(first);
    endTurn();
    expect(transport.messages).toEqual([...first, `${frame(4)}\n${frame(5)}`]);
  });

  it('in a saturated loop, a connection written every turn sends two turns in one write (autocorking)', () => {
    const { conn, transport, endTurn } = setup({}, 0);
    for (let i = 1; i <= 8; i++) {
      conn.write(frame(i));
      endTurn();
    }
    endTurn();
    // The first two leave at once (the loop is not known to be saturated yet), then each
    // frame is held one turn and leaves with the next one.
    expect(transport.messages).toEqual([
      frame(1),
      frame(2),
      `${frame(3)}\n${frame(4)}`,
      `${frame(5)}\n${frame(6)}`,
      `${frame(7)}\n${frame(8)}`,
    ]);
  });

  it('a held batch is held once: it leaves at the next turn even with nothing added', () => {
    const { conn, transport, endTurn } = setup({}, 0);
    conn.write(frame(1));
    endTurn();
    conn.write(frame(2));
    endTurn();
    conn.write(frame(3)); // streaming: queued, then held one turn
    endTurn();
    expect(transport.messages).toEqual([frame(1), frame(2)]);
    endTurn();
    expect(transport.messages).toEqual([frame(1), frame(2), frame(3)]);
  });

  it('with time between turns nothing is held, and a large batch is never held', () => {
    const idle = setup({}, 10);
    for (let i = 1; i <= 4; i++) {
      idle.conn.write(frame(i));
      idle.endTurn();
    }
    expect(idle.transport.messages).toEqual([1, 2, 3, 4].map(frame));
    const busy = setup({ maxBatchFrames: 4 }, 0);
    busy.conn.write(frame(1));
    busy.endTurn();
    busy.conn.write(frame(2));
    busy.endTurn();
    for (let i = 3; i <= 4; i++) busy.conn.write(frame(i)); // 2 frames: half the batch
    busy.endTurn();
    expect(busy.transport.messages).toEqual([frame(1), frame(2), `${frame(3)}\n${frame(4)}`]);
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
    conn.write(frame(1)); // at once
    conn.write(frame(2)); // queued
    conn.close(4501, 'protocol error', { code: 'bad_ack', message: 'too high' });
    expect(transport.messages).toEqual([
      frame(1),
      `${frame(2)}\n{"t":"error","code":"bad_ack","message":"too high"}`,
    ]);
    expect(transport.closed).toEqual({ code: 4501, reason: 'protocol error' });
    expect(conn.isOpen).toBe(false);
    // The scheduled turn finds nothing left to write.
    while (turns.length > 0) turns.shift()!();
    expect(transport.messages).toHaveLength(2);
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

  it('a frame written at once that leaves the socket above the mark stops stored writes at once', () => {
    const { conn, transport, endTurn, onWritable } = setup({ highWaterMark: 1000 });
    transport.bufferedAmount = 5000;
    conn.write(frame(1));
    expect(transport.messages).toEqual([frame(1)]);
    expect(conn.writable).toBe(false);
    conn.deferred = true;
    endTurn();
    transport.drain(400);
    expect(conn.writable).toBe(true);
    expect(onWritable).toHaveBeenCalledTimes(1);
  });

  it('a frame written at once is checked against the hard bound at the end of the turn', () => {
    const { conn, transport, endTurn } = setup({ maxBuffered: 3000 });
    transport.bufferedAmount = 5000;
    conn.write(frame(1));
    expect(transport.closed).toBeUndefined();
    endTurn();
    expect(transport.closed?.code).toBe(4002);
  });

  it('this turn’s batch above the mark stops stored writes until it is flushed', () => {
    const { conn, endTurn, onWritable } = setup({ highWaterMark: 100 });
    conn.write(frame(0)); // at once: the rest of the turn is queued
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
    conn.write(frame(1)); // at once
    expect(conn.lastSentAt).toBe(1500);
    setNow(1600);
    conn.write(frame(2)); // queued until the end of the turn
    expect(conn.lastSentAt).toBe(1500);
    endTurn();
    expect(conn.lastSentAt).toBe(1600);
  });
});
