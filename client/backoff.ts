/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * delay = random() * min(cap, base * 2^attempt). Jitter over the whole range spreads a crowd
 * of clients that lost the same server, so they do not all come back in the same instant.
 */
import type { ClientClock } from './clock.js';

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 500. */
  baseMs: number;
  /** Largest ceiling, in ms. Default 20 000. */
  capMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { baseMs: 500, capMs: 20_000 };

/** The delay in ms before retry number `attempt` (0-based); always in [0, min(cap, base * 2^attempt)]. */
export function fullJitter(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** attempt);
  const r = random();
  // A misbehaving injected random must not produce a negative or over-cap delay.
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
  return unit * ceiling;
}

/** Counts attempts; `reset()` after a success starts again from the base delay. */
export class Backoff {
  private attempt = 0;
  private resetTimer: unknown;
  private resetArmed = false;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number,
    private readonly clock: ClientClock,
  ) {}

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return fullJitter(this.attempt++, this.options, this.random);
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
