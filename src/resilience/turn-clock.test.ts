import { describe, expect, it } from 'vitest';
import { TurnClock } from './turn-clock.js';

function setup(maxUses = 4) {
  let time = 1000;
  let reads = 0;
  const pending: (() => void)[] = [];
  const clock = new TurnClock(
    () => {
      reads++;
      return time;
    },
    maxUses,
    (fn) => pending.push(fn),
  );
  return {
    clock,
    reads: () => reads,
    pending: () => pending.length,
    setTime: (t: number) => (time = t),
    endTurn: () => pending.splice(0).forEach((fn) => fn()),
  };
}

describe('TurnClock', () => {
  it('reads the time once per turn and sees it move in the next turn', () => {
    const h = setup(100);
    expect(h.clock.now()).toBe(1000);
    h.setTime(2000);
    expect(h.clock.now()).toBe(1000);
    expect(h.reads()).toBe(1);
    expect(h.pending()).toBe(1);
    h.endTurn();
    expect(h.clock.now()).toBe(2000);
    expect(h.reads()).toBe(2);
  });

  it('re-reads after maxUses even if the turn never ends, scheduling one end of turn', () => {
    const h = setup(4);
    const seen = [];
    for (let i = 0; i < 9; i++) {
      seen.push(h.clock.now());
      h.setTime(1000 + (i + 1) * 10);
    }
    expect(seen).toEqual([1000, 1000, 1000, 1000, 1040, 1040, 1040, 1040, 1080]);
    expect(h.reads()).toBe(3);
    expect(h.pending()).toBe(1);
  });

  it('schedules nothing while nobody reads it', () => {
    const h = setup();
    expect(h.pending()).toBe(0);
    h.clock.now();
    h.endTurn();
    expect(h.pending()).toBe(0);
  });

  it('defaults to Date.now and the real next turn', async () => {
    const clock = new TurnClock();
    const before = Date.now();
    const t = clock.now();
    expect(t).toBeGreaterThanOrEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.now()).toBeGreaterThan(t);
  });
});
