import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { RepeatLimiter, type LogLine } from './log-limiter.js';

function setup(options: { windowMs?: number; maxKeys?: number } = {}) {
  const clock = new ManualClock();
  const lines: LogLine[] = [];
  const limiter = new RepeatLimiter((line) => lines.push(line), clock, options);
  const warn = (key: string, n = 1): void => {
    for (let i = 0; i < n; i++)
      limiter.log(key, { level: 'warn', fields: { key, i }, msg: `${key} failed` });
  };
  return { clock, lines, limiter, warn };
}

describe('RepeatLimiter', () => {
  it('writes the first line of a key, counts the rest, then writes one line with repeated: N', () => {
    const { clock, lines, warn } = setup();
    warn('upstream:timeout', 50);
    expect(lines).toEqual([
      { level: 'warn', fields: { key: 'upstream:timeout', i: 0 }, msg: 'upstream:timeout failed' },
    ]);
    clock.advance(10_000);
    expect(lines).toHaveLength(2);
    // The count line carries the last suppressed line's fields.
    expect(lines[1]).toEqual({
      level: 'warn',
      fields: { key: 'upstream:timeout', i: 49, repeated: 49 },
      msg: 'upstream:timeout failed',
    });
  });

  it('writes at most one line per key per window under a steady flood', () => {
    const { clock, lines, warn } = setup({ windowMs: 1000 });
    for (let t = 0; t < 10; t++) {
      warn('a', 100);
      clock.advance(1000);
    }
    // 1 first line + one count line per window; every line is accounted for.
    expect(lines.length).toBeLessThanOrEqual(11);
    const total = lines.reduce((n, l) => n + ((l.fields.repeated as number | undefined) ?? 1), 0);
    expect(total).toBe(1000);
  });

  it('keeps keys apart and writes a line again once the key went quiet for a window', () => {
    const { clock, lines, warn } = setup({ windowMs: 1000 });
    warn('a');
    warn('b');
    warn('a');
    expect(lines.map((l) => l.fields.key)).toEqual(['a', 'b']);
    clock.advance(1000);
    expect(lines.map((l) => l.fields.repeated)).toEqual([undefined, undefined, 1]);
    clock.advance(1000);
    warn('a');
    warn('b');
    expect(lines.slice(3).map((l) => [l.fields.key, l.fields.repeated])).toEqual([
      ['a', undefined],
      ['b', undefined],
    ]);
  });

  it('stops its timer when there is nothing left to report', () => {
    const { clock, warn } = setup({ windowMs: 1000 });
    expect(clock.pendingTimers).toBe(0);
    warn('a');
    expect(clock.pendingTimers).toBe(0);
    warn('a', 3);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(3000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('bounds the keys it tracks and counts lines of further keys together', () => {
    const { clock, lines, warn } = setup({ windowMs: 1000, maxKeys: 3 });
    for (let k = 0; k < 10; k++) warn(`k${k}`);
    expect(lines).toHaveLength(3);
    clock.advance(1000);
    expect(lines[3]).toMatchObject({ level: 'warn', fields: { repeated: 7, maxKeys: 3 } });
    warn('k9');
    expect(lines[4]).toMatchObject({ fields: { key: 'k9' } });
  });

  it('flush() writes pending counts at once and forgets every key', () => {
    const { clock, lines, limiter, warn } = setup();
    warn('a', 4);
    limiter.flush();
    expect(lines[1]).toMatchObject({ fields: { repeated: 3 } });
    expect(clock.pendingTimers).toBe(0);
    warn('a');
    expect(lines).toHaveLength(3);
  });
});
