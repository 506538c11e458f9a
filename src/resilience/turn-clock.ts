/**
 * The breaker's default clock: the system time, read at most once per event-loop turn (and
 * at least every `maxUses` reads), like Envoy's per-iteration "approximate time". Why: a
 * clock read measured 100–200 ns on the CI box (Date.now, performance.now and hrtime alike),
 * more than the breaker's whole budget (fast-fail <= 50 ns, success <= +60 ns), while the
 * breaker only needs time at the grain of its window buckets (3 s by default) and of its
 * open duration (60 s).
 *
 * Staleness is bounded: the cached time is dropped when the turn ends (one `setImmediate`,
 * scheduled only by a turn that read the clock, so an idle process schedules nothing) and
 * after `maxUses` reads, so even a loop that never yields to the event loop sees time move.
 * Slow-call timing through `execute` is exact for calls that span turns (any real I/O).
 * Tests inject an exact clock (ManualClock) instead.
 */

type Schedule = (fn: () => void) => void;

/**
 * Monotonic milliseconds on the epoch scale: `Date.now()` can step backwards (NTP, a VM
 * resumed), and a time window fed a step back would stop evicting its buckets.
 */
const monotonicNow = (): number => performance.timeOrigin + performance.now();

// Browser-safe: setImmediate is Node's; browsers get a zero-delay timeout.
const nextTurn: Schedule =
  typeof globalThis.setImmediate === 'function'
    ? (fn) => void globalThis.setImmediate(fn)
    : (fn) => void globalThis.setTimeout(fn, 0);

export class TurnClock {
  private cached = 0;
  /** Reads left before the cached time must be refreshed; 0 = refresh now. */
  private uses = 0;
  private scheduled = false;
  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    this.uses = 0;
  };

  /**
   * @param read the exact time source (default: monotonic, on the epoch scale)
   * @param maxUses reads served from one clock read at most (default 1024)
   * @param schedule runs a function at the start of the next turn (default setImmediate)
   */
  constructor(
    private readonly read: () => number = monotonicNow,
    private readonly maxUses = 1024,
    private readonly schedule: Schedule = nextTurn,
  ) {}

  now(): number {
    if (this.uses > 0) {
      this.uses--;
      return this.cached;
    }
    return this.refresh();
  }

  private refresh(): number {
    this.cached = this.read();
    this.uses = this.maxUses - 1;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.endOfTurn);
    }
    return this.cached;
  }
}
