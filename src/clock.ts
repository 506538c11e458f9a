/**
 * Time source. Production uses the system clock; tests inject a ManualClock so that TTLs,
 * sweeps and heartbeats are deterministic.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (monotonic enough for TTLs; never goes backwards in tests). */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until cancelled. The handle never keeps the process alive. */
  every(ms: number, fn: () => void): TimerHandle;
  /** Calls `fn` once after `ms` milliseconds unless cancelled. Never keeps the process alive. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

interface ManualTimer {
  at: number;
  every: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to. `advance(ms)` fires due timers in time order. */
export class ManualClock implements Clock {
  private time: number;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, ms, fn);
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, 0, fn);
  }

  /** Number of live timers: tests use it to show that there is one timer, not one per connection. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance needs ms >= 0, got ${ms}`);
    const end = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (!t.cancelled && t.at <= end && (next === undefined || t.at < next.at)) next = t;
      }
      if (next === undefined) break;
      this.time = Math.max(this.time, next.at);
      if (next.every > 0) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.time = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  private add(ms: number, every: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { at: this.time + Math.max(0, ms), every, fn, cancelled: false };
    if (every > 0 && timer.at === this.time) timer.at += every;
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
}
