/**
 * Exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * the ceiling doubles per attempt from `baseMs` up to `capMs`, and the delay is drawn below it.
 * - `full` (default): delay = random() * ceiling. Jitter over the whole range spreads a crowd
 *   of clients that lost the same server, so they do not all come back in the same instant.
 *   Used by the SDK's reconnect, upstream retries and store reconnects.
 * - `equal`: delay = ceiling / 2 + random() * ceiling / 2. Never shorter than half the
 *   ceiling: what a breaker's open duration needs (a full-jitter draw near 0 would re-probe a
 *   sick downstream at once).
 * - `none`: delay = ceiling (deterministic).
 * Browser-safe: no Node imports (the SDK uses it).
 */

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 500. */
  baseMs: number;
  /** Largest ceiling, in ms. Default 20 000. */
  capMs: number;
  /** How the delay is drawn below the ceiling. Default `full`. */
  jitter?: Jitter;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { baseMs: 500, capMs: 20_000 };

/** The ceiling before retry number `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  return Math.min(options.capMs, options.baseMs * 2 ** attempt);
}

/** A misbehaving injected random must not produce a negative or over-cap delay. */
function unit(random: () => number): number {
  const r = random();
  return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
}

/** The delay in ms before retry number `attempt` (0-based); always in [0, min(cap, base * 2^attempt)]. */
export function fullJitter(attempt: number, options: BackoffOptions, random: () => number): number {
  return unit(random) * backoffCeiling(attempt, options);
}

/** The delay in ms before retry number `attempt`; always in [ceiling / 2, ceiling]. */
export function equalJitter(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
): number {
  const ceiling = backoffCeiling(attempt, options);
  return ceiling / 2 + (unit(random) * ceiling) / 2;
}

/** The delay for `attempt` with the jitter that `options` asks for (default full). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
): number {
  switch (options.jitter ?? 'full') {
    case 'full':
      return fullJitter(attempt, options, random);
    case 'equal':
      return equalJitter(attempt, options, random);
    case 'none':
      return backoffCeiling(attempt, options);
  }
}

/**
 * What `resetAfter` schedules with. The SDK passes its ClientClock (structurally the same);
 * the default uses the global timers, which exist in browsers and Node.
 */
export interface TimerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const globalTimers: TimerClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/**
 * Counts attempts; `reset()` after a success starts again from the base delay. It is the
 * `{ next(), reset() }` shape a breaker's `openMs` accepts, so a breaker can open for longer
 * each time a probe fails.
 */
export class Backoff {
  private attempt = 0;
  private resetTimer: unknown;
  private resetArmed = false;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
    private readonly clock: TimerClock = globalTimers,
  ) {}

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** A new backoff with the same settings and its own count (one per breaker, say). */
  fork(): Backoff {
    return new Backoff(this.options, this.random, this.clock);
  }

  /** The delay in ms before the next attempt; counts the attempt. */
  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  reset(): void {
    this.cancelReset();
    this.attempt = 0;
  }

  /**
   * Reset once a connection has stayed up for `ms` (cancelled by `cancelReset` when it is
   * lost first), so a connect-then-immediate-close loop keeps backing off.
   */
  resetAfter(ms: number): void {
    this.cancelReset();
    this.resetArmed = true;
    this.resetTimer = this.clock.setTimeout(() => {
      this.resetArmed = false;
      this.attempt = 0;
    }, ms);
  }

  cancelReset(): void {
    if (!this.resetArmed) return;
    this.resetArmed = false;
    this.clock.clearTimeout(this.resetTimer);
  }
}
