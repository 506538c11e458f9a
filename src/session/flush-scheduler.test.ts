import { describe, expect, it, vi } from 'vitest';
import { FlushScheduler, RUN_MASK, SATURATED_IDLE_MS, type Flushable } from './flush-scheduler.js';

function controlled() {
  const turns: (() => void)[] = [];
  const defer = vi.fn((fn: () => void) => {
    turns.push(fn);
  });
  const endTurn = (): void => turns.shift()!();
  return { scheduler: new FlushScheduler(defer), defer, turns, endTurn };
}

const item = (log: string[], name: string): Flushable => ({ flush: () => log.push(name) });

describe('FlushScheduler', () => {
  it('defers once per turn however many items are marked, and flushes each in mark order', () => {
    const { scheduler, defer, turns, endTurn } = controlled();
    const log: string[] = [];
    scheduler.mark(item(log, 'a'));
    scheduler.mark(item(log, 'b'));
    scheduler.mark(item(log, 'c'));
    expect(defer).toHaveBeenCalledTimes(1);
    expect(log).toEqual([]);
    endTurn();
    expect(log).toEqual(['a', 'b', 'c']);
    expect(turns).toHaveLength(0);
  });

  it('marks made during a flush go to the next turn, not lost and not re-entrant', () => {
    const { scheduler, defer, endTurn } = controlled();
    const log: string[] = [];
    const late = item(log, 'late');
    scheduler.mark({
      flush: () => {
        log.push('first');
        scheduler.mark(late);
      },
    });
    endTurn();
    expect(log).toEqual(['first']);
    expect(defer).toHaveBeenCalledTimes(2);
    endTurn();
    expect(log).toEqual(['first', 'late']);
  });

  it('run() flushes now; the turn already scheduled then finds nothing to do', () => {
    const { scheduler, endTurn } = controlled();
    const log: string[] = [];
    scheduler.mark(item(log, 'a'));
    scheduler.run();
    expect(log).toEqual(['a']);
    endTurn();
    expect(log).toEqual(['a']);
  });

  it('after a turn, a new mark schedules a new turn', () => {
    const { scheduler, defer, endTurn } = controlled();
    const log: string[] = [];
    scheduler.mark(item(log, 'a'));
    endTurn();
    scheduler.mark(item(log, 'b'));
    expect(defer).toHaveBeenCalledTimes(2);
    endTurn();
    expect(log).toEqual(['a', 'b']);
  });

  it('by default flushes on setImmediate, after the current microtasks', async () => {
    const scheduler = new FlushScheduler();
    const log: string[] = [];
    scheduler.mark(item(log, 'a'));
    await Promise.resolve();
    expect(log).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a']);
  });

  it('knows a saturated loop: less than SATURATED_IDLE_MS of idle time since the previous run', () => {
    let idle = 0;
    const turns: (() => void)[] = [];
    const scheduler = new FlushScheduler(
      (fn) => turns.push(fn),
      () => idle,
    );
    const runAt = (t: number): void => {
      idle = t;
      scheduler.mark({ flush: () => undefined });
      turns.shift()!();
    };
    runAt(100);
    expect(scheduler.saturated).toBe(false); // the first run has no previous one
    runAt(100 + SATURATED_IDLE_MS / 2);
    expect(scheduler.saturated).toBe(true);
    expect(scheduler.streaming(scheduler.runs)).toBe(true);
    expect(scheduler.streaming(scheduler.runs - 1)).toBe(true);
    expect(scheduler.streaming(scheduler.runs - 2)).toBe(false);
    runAt(200);
    expect(scheduler.saturated).toBe(false);
    expect(scheduler.streaming(scheduler.runs)).toBe(false);
  });

  it('counts runs modulo RUN_MASK + 1, and streaming() compares across the wrap', () => {
    const scheduler = new FlushScheduler(
      () => undefined,
      () => 0,
    );
    scheduler.runs = RUN_MASK;
    scheduler.run(); // the first run: not saturated
    scheduler.run();
    expect(scheduler.runs).toBe(1);
    expect(scheduler.saturated).toBe(true);
    expect(scheduler.streaming(0)).toBe(true);
    expect(scheduler.streaming(RUN_MASK)).toBe(false);
  });

  it('an item that throws does not strand the items after it: they flush at the next run', () => {
    const turns: (() => void)[] = [];
    const scheduler = new FlushScheduler(
      (fn) => turns.push(fn),
      () => 0,
    );
    const log: string[] = [];
    scheduler.mark({
      flush: () => {
        throw new Error('boom');
      },
    });
    scheduler.mark(item(log, 'b'));
    expect(() => turns.shift()!()).toThrow('boom');
    expect(log).toEqual([]);
    expect(turns).toHaveLength(1);
    turns.shift()!();
    expect(log).toEqual(['b']);
  });
});
