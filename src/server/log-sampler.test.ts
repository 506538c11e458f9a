import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { LineLevel, LogLine } from './log-limiter.js';
import { LogSampler } from './log-sampler.js';

function setup(every: Record<string, number>, windowMs = 10_000) {
  const clock = new ManualClock();
  const lines: LogLine[] = [];
  const sampler = new LogSampler((line) => lines.push(line), clock, every, { windowMs });
  let i = 0;
  const log = (kind: string, n = 1, level: LineLevel = 'debug'): void => {
    for (let k = 0; k < n; k++) sampler.log(kind, { level, fields: { kind, i: i++ }, msg: kind });
  };
  const sampled = () =>
    lines.map((l) => [
      l.fields.i,
      (l.fields.sampled as { suppressed: number } | undefined)?.suppressed,
    ]);
  /** Events a kind's written lines stand for: each is itself plus those suppressed before it. */
  const accounted = (kind: string) =>
    lines
      .filter((l) => l.fields.kind === kind)
      .reduce((n, l) => n + 1 + ((l.fields.sampled as { suppressed: number }).suppressed ?? 0), 0);
  return { clock, lines, sampler, log, sampled, accounted };
}

describe('LogSampler', () => {
  it('writes the 1st, (N+1)th, (2N+1)th line of a kind, each with the count suppressed before it', () => {
    const { lines, log, sampled } = setup({ session: 10 });
    log('session', 25);
    expect(sampled()).toEqual([
      [0, 0],
      [10, 9],
      [20, 9],
    ]);
    expect(lines[1]).toEqual({
      level: 'debug',
      fields: { kind: 'session', i: 10, sampled: { every: 10, suppressed: 9 } },
      msg: 'session',
    });
  });

  it('keeps kinds apart and leaves kinds without an N (or with N = 1) as they are', () => {
    const { lines, log } = setup({ session: 2, send: 1 });
    log('session');
    log('send');
    log('session');
    log('ack');
    log('session');
    expect(lines).toEqual([
      {
        level: 'debug',
        fields: { kind: 'session', i: 0, sampled: { every: 2, suppressed: 0 } },
        msg: 'session',
      },
      { level: 'debug', fields: { kind: 'send', i: 1 }, msg: 'send' },
      { level: 'debug', fields: { kind: 'ack', i: 3 }, msg: 'ack' },
      {
        level: 'debug',
        fields: { kind: 'session', i: 4, sampled: { every: 2, suppressed: 1 } },
        msg: 'session',
      },
    ]);
  });

  it('never samples warnings and errors of a sampled kind, and does not count them', () => {
    const { lines, log, sampled } = setup({ drop: 1000 });
    log('drop'); // i 0: written, the kind's first line
    log('drop', 3, 'warn'); // 1-3
    log('drop'); // 4: suppressed
    log('drop', 2, 'error'); // 5-6
    log('drop', 1, 'fatal'); // 7
    const loud = lines.filter((l) => l.level !== 'debug');
    expect(loud.map((l) => [l.level, l.fields.i])).toEqual([
      ['warn', 1],
      ['warn', 2],
      ['warn', 3],
      ['error', 5],
      ['error', 6],
      ['fatal', 7],
    ]);
    expect(loud.every((l) => l.fields.sampled === undefined)).toBe(true);
    expect(sampled().filter(([i]) => i === 0 || i === 4)).toEqual([[0, 0]]);
  });

  it('writes a count left pending for a window with the last suppressed line, and the rest at flush', () => {
    const { clock, lines, sampler, log, sampled, accounted } = setup({ session: 100 }, 1000);
    log('session', 5);
    expect(sampled()).toEqual([[0, 0]]);
    clock.advance(999);
    expect(lines).toHaveLength(1);
    clock.advance(1);
    expect(sampled()).toEqual([
      [0, 0],
      [4, 3],
    ]);
    expect(clock.pendingTimers).toBe(0);
    // The kind was quiet for the window: it starts over with its next line.
    log('session', 3);
    sampler.flush();
    expect(sampled().slice(2)).toEqual([
      [5, 0],
      [7, 1],
    ]);
    expect(clock.pendingTimers).toBe(0);
    expect(accounted('session')).toBe(8);
    sampler.flush();
    expect(lines).toHaveLength(4);
  });

  it('a kind quiet for a window starts over: its next line is written at once', () => {
    const { clock, log, sampled } = setup({ session: 100 }, 1000);
    log('session');
    clock.advance(1000);
    log('session');
    clock.advance(500);
    log('session'); // not quiet: suppressed
    clock.advance(1000);
    log('session'); // quiet again (the pending count was written by the timer meanwhile)
    expect(sampled()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it('under a steady flood writes one line per N, and every line is accounted for', () => {
    const { clock, lines, sampler, log, accounted } = setup({ send: 50, ack: 7 }, 1000);
    for (let ms = 0; ms < 5000; ms++) {
      log('send', 3);
      if (ms % 3 === 0) log('ack');
      clock.advance(1);
    }
    sampler.flush();
    expect(accounted('send')).toBe(15_000);
    expect(accounted('ack')).toBe(1667);
    const sends = lines.filter((l) => l.fields.kind === 'send');
    // 1 + 14999/50 lines, plus the one written at flush.
    expect(sends.length).toBeLessThanOrEqual(302);
    expect(
      sends
        .slice(1, -1)
        .every((l) => (l.fields.sampled as { suppressed: number }).suppressed === 49),
    ).toBe(true);
  });
});
