/**
 * Connection keeps its times as whole-ms offsets from `openedAt`, and a negative
 * `handshakeAfter` stands for "no hello yet". The production clock is `Date.now()`, which
 * steps backwards when NTP or an operator sets the time: a hello read before `openedAt` must
 * not read as "no hello", or the heartbeat would measure the handshake deadline from the
 * epoch and close a hello still in flight (found in review).
 */
import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../clock.js';
import { startHeartbeat } from './heartbeat.js';
import { Connection } from '../session/connection.js';
import { FlushScheduler } from '../session/flush-scheduler.js';
import type { Hub } from '../session/hub.js';
import { FakeTransport } from '../session/test-support/fake-transport.js';

describe('connection times when the wall clock steps back', () => {
  it('a hello read before openedAt counts from openedAt, never as "no hello"', () => {
    let now = 1_700_000_010_000;
    const conn = new Connection(new FakeTransport(), {
      scheduler: new FlushScheduler(() => {}),
      limits: {
        highWaterMark: 1000,
        maxBatchFrames: 64,
        maxBatchChars: 10_000,
        maxBuffered: 1 << 20,
      },
      now: () => now,
      writable: () => {},
      message: () => {},
      closed: () => {},
    });
    const openedAt = now;
    now -= 1000; // the system clock is set back by one second
    conn.handshakeAt = now;
    expect(conn.handshakeAt).toBe(openedAt);
  });

  it('the heartbeat does not cut a hello in flight after the clock stepped back', () => {
    let now = 1_700_000_010_000;
    let tick: (() => void) | undefined;
    const clock: Clock = {
      now: () => now,
      every(_ms: number, fn: () => void): TimerHandle {
        tick = fn;
        return { cancel: () => {} };
      },
      after(): TimerHandle {
        return { cancel: () => {} };
      },
    };
    const transport = new FakeTransport();
    const conn = new Connection(transport, {
      scheduler: new FlushScheduler(() => {}),
      limits: {
        highWaterMark: 1000,
        maxBatchFrames: 64,
        maxBatchChars: 10_000,
        maxBuffered: 1 << 20,
      },
      now: () => clock.now(),
      writable: () => {},
      message: () => {},
      closed: () => {},
    });
    const hub = { connections: new Set([conn]), events: { emit: () => {} } } as unknown as Hub;
    startHeartbeat(hub, clock, { intervalMs: 25_000, timeoutMs: 10_000, helloTimeoutMs: 10_000 });

    // As FrameHandler does on hello, after the clock was set back by one second.
    now -= 1000;
    conn.state = 'handshaking';
    conn.handshakeAt = clock.now();

    // 100 ms later the authenticate hook / store has not answered yet; the deadline is 10 s.
    now += 100;
    tick!();
    expect(transport.closed).toBeUndefined();
  });
});
