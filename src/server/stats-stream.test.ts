/**
 * The stats stream on its own (a manual clock, fake responses): one timer and one snapshot
 * per tick whatever the number of viewers, the timer only while there are viewers, the
 * initial snapshot and the `retry:` hint, rates from consecutive snapshots, the viewer cap,
 * and backed-up viewers skipped then dropped.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { EventLog } from './event-log.js';
import { StatsStream, type SseResponse } from './stats-stream.js';

class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string> = {};
  chunks: string[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  writableNeedDrain = false;

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): this {
    this.ended = true;
    this.emit('close');
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  /** The `data:` events written, parsed. */
  get events(): Record<string, unknown>[] {
    return this.chunks
      .filter((c) => c.startsWith('data: '))
      .map((c) => JSON.parse(c.slice(6)) as Record<string, unknown>);
  }
  leave(): void {
    this.emit('close');
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: { maxViewers?: number; intervalMs?: number; events?: EventLog } = {}) {
  const clock = new ManualClock();
  const sent = { messages: 0, bytes: 0 };
  let calls = 0;
  const stream = new StatsStream({
    clock,
    sent: () => ({ ...sent }),
    snapshot: () => {
      calls++;
      return Promise.resolve({ connections: calls, dlq: { added: { ttl: calls } } });
    },
    ...options,
  });
  const open = () => {
    const res = new FakeResponse();
    stream.open(res as unknown as SseResponse);
    return res;
  };
  return { clock, sent, stream, open, calls: () => calls };
}

describe('StatsStream', () => {
  it('one timer and one snapshot per tick for every viewer, the same line to each', async () => {
    const { clock, stream, open, calls } = setup();
    expect(clock.pendingTimers).toBe(0);
    const viewers = [open(), open(), open()];
    await flush();
    expect(clock.pendingTimers).toBe(1);
    // The first viewer's snapshot at once; the others joined while it was computed.
    expect(calls()).toBe(1);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await flush();
    }
    expect(calls()).toBe(6);
    expect(stream.snapshots).toBe(6);
    const lines = viewers.map((v) => v.chunks.filter((c) => c.startsWith('data: ')));
    expect(lines[0]).toHaveLength(6);
    expect(lines[1]).toEqual(lines[0]);
    expect(lines[2]).toEqual(lines[0]);
  });

  it('starts with retry: and a snapshot; a later viewer gets the last one without a new one', async () => {
    const { clock, open, calls } = setup();
    const a = open();
    await flush();
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(a.chunks[0]).toBe('retry: 2000\n\n');
    expect(a.events).toHaveLength(1);
    clock.advance(1000);
    await flush();
    const b = open();
    expect(calls()).toBe(2);
    expect(b.chunks[0]).toBe('retry: 2000\n\n');
    expect(b.chunks[1]).toBe(a.chunks.at(-1));
  });

  it('rates per second from consecutive snapshots (null on the first), and the time', async () => {
    const { clock, sent, open } = setup({ intervalMs: 2000 });
    const a = open();
    await flush();
    sent.messages = 30;
    sent.bytes = 300;
    clock.advance(2000);
    await flush();
    sent.messages = 40;
    clock.advance(2000);
    await flush();
    const [first, second, third] = a.events;
    expect(first!.rates).toEqual({
      intervalMs: null,
      messagesSentPerSecond: null,
      bytesSentPerSecond: null,
      deadLettersPerSecond: null,
    });
    expect(second!.rates).toEqual({
      intervalMs: 2000,
      messagesSentPerSecond: 15,
      bytesSentPerSecond: 150,
      deadLettersPerSecond: 0.5,
    });
    expect((third!.rates as Record<string, number>).messagesSentPerSecond).toBe(5);
    expect(Date.parse(third!.at as string) - Date.parse(first!.at as string)).toBe(4000);
  });

  it('no timer without viewers: it stops with the last one and starts again with the next', async () => {
    const { clock, stream, open, calls } = setup();
    const a = open();
    const b = open();
    await flush();
    a.leave();
    expect(clock.pendingTimers).toBe(1);
    b.leave();
    expect(clock.pendingTimers).toBe(0);
    expect(stream.running).toBe(false);
    clock.advance(5000);
    await flush();
    expect(calls()).toBe(1);
    const c = open();
    await flush();
    expect(clock.pendingTimers).toBe(1);
    // A fresh snapshot (not the stale one), with no rates over the gap.
    expect(calls()).toBe(2);
    expect(c.events[0]!.rates).toMatchObject({ messagesSentPerSecond: null });
  });

  it('close() ends every viewer and stops the timer; no viewer after that', async () => {
    const { clock, stream, open } = setup();
    const a = open();
    const b = open();
    await flush();
    stream.close();
    expect([a.ended, b.ended]).toEqual([true, true]);
    expect(clock.pendingTimers).toBe(0);
    expect(() => open()).toThrow(expect.objectContaining({ code: 'draining', status: 503 }));
  });

  it('at most maxViewers: the next one is 503 too_many_viewers; a place frees when one leaves', () => {
    const { open } = setup({ maxViewers: 2 });
    const a = open();
    open();
    expect(() => open()).toThrow(
      expect.objectContaining({ code: 'too_many_viewers', status: 503 }),
    );
    a.leave();
    expect(() => open()).not.toThrow();
  });

  it('a backed-up viewer is skipped, then dropped; one over the byte bound is dropped at once', async () => {
    const { clock, stream, open } = setup();
    const ok = open();
    const slow = open();
    const huge = open();
    await flush();
    slow.writableNeedDrain = true;
    huge.writableLength = 10 * 1024 * 1024;
    clock.advance(1000);
    await flush();
    expect(huge.destroyed).toBe(true);
    expect(slow.events).toHaveLength(1);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await flush();
    }
    expect(slow.events).toHaveLength(1);
    expect(slow.destroyed).toBe(true);
    expect(stream.dropped).toBe(2);
    expect(stream.viewerCount).toBe(1);
    expect(ok.events).toHaveLength(12);
  });

  it('each snapshot carries the event-log entries since the previous one (first: the last 50)', async () => {
    const log = new EventLog(new Emitter<CoreEvents>(), new ManualClock());
    const add = (n: number) => {
      for (let i = 0; i < n; i++) log.add('reap', `s${log.lastId + 1}`, { leftover: 0 });
    };
    const { clock, open } = setup({ events: log });
    const ids = (e: Record<string, unknown>) => (e.events as { id: number }[]).map((x) => x.id);
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    add(60);
    const v = open();
    await flush();
    expect(ids(v.events[0]!)).toEqual(range(11, 60));
    expect(v.events[0]!.eventsMissed).toBeUndefined();
    add(3);
    clock.advance(1000);
    await flush();
    expect(ids(v.events[1]!)).toEqual([61, 62, 63]);
    expect(v.events[1]!).toMatchObject({
      events: [{ id: 61, type: 'reap', sid: 's61', detail: { leftover: 0 } }, {}, {}],
    });
    expect(v.events[1]!.eventsMissed).toBeUndefined();
    // More than 100 in one interval: the newest 100, and how many were left out.
    add(150);
    clock.advance(1000);
    await flush();
    expect(ids(v.events[2]!)).toEqual(range(114, 213));
    expect(v.events[2]!.eventsMissed).toBe(50);
    clock.advance(1000);
    await flush();
    expect(v.events[3]!.events).toEqual([]);
    // A new run (after the last viewer left) starts again with the last 50.
    v.leave();
    add(1);
    const w = open();
    await flush();
    expect(ids(w.events[0]!)).toEqual(range(165, 214));
  });
});
