/**
 * Sampling of high-frequency log lines (the `logSample` setting; docs/operations.md "Logs"):
 * of each sampled kind, one line in N is written and carries how many of its kind were left
 * out since the previous written one (`sampled: {every: N, suppressed: k}`), so nothing is
 * lost without a count: the lines of a kind stand for the sum of (1 + suppressed) events.
 *
 * - The first line of a kind is written, then the (N+1)th, (2N+1)th … (each after N-1
 *   suppressed ones).
 * - A kind quiet for a window (no line of it, written or not) starts over: its next line is
 *   written at once, with whatever count was still pending.
 * - A count pending for a window is not left waiting for a next line that may never come:
 *   the kind's last suppressed line is written with it (so at most two windows late).
 *   `flush()` (at shutdown) writes every pending count.
 * - Warnings and errors are never sampled, whatever the configuration: they are written as
 *   they come, never counted (a flood of them is the RepeatLimiter's job, which bounds lines
 *   per window; this class thins routine lines by count).
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { LineLevel, LogLine } from './log-limiter.js';

export interface LogSamplerOptions {
  /** Quiet spell after which a kind starts over, and longest wait of a pending count before
   *  the timer writes it; default 10 s. */
  readonly windowMs?: number;
}

/** Levels that are never sampled. */
const NEVER_SAMPLED: ReadonlySet<LineLevel> = new Set(['warn', 'error', 'fatal']);

interface KindState {
  readonly every: number;
  /** Whether a line of this kind was written since it last started over. */
  written: boolean;
  /** Lines suppressed since the last written one. */
  pending: number;
  /** When the first of the pending lines came. */
  since: number;
  /** When the last line of this kind came (written or not). */
  lastAt: number;
  /** The newest suppressed line, written with the count when the count cannot wait. */
  last: LogLine | undefined;
}

export class LogSampler<K extends string = string> {
  private readonly windowMs: number;
  private readonly kinds = new Map<string, KindState>();
  private timer: TimerHandle | undefined;

  /** `every`: N per kind; kinds absent or with N ≤ 1 are written as they come. */
  constructor(
    private readonly write: (line: LogLine) => void,
    private readonly clock: Clock,
    every: Readonly<Partial<Record<K, number>>>,
    options: LogSamplerOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 10_000;
    for (const [kind, n] of Object.entries(every) as [K, number | undefined][]) {
      if (n !== undefined && n > 1)
        this.kinds.set(kind, {
          every: n,
          written: false,
          pending: 0,
          since: 0,
          lastAt: 0,
          last: undefined,
        });
    }
  }

  /** Whether lines of `kind` below warn are sampled. */
  samples(kind: K): boolean {
    return this.kinds.has(kind);
  }

  /** Writes `line` or counts it, by its kind's N; a warning or an error is always written. */
  log(kind: K, line: LogLine): void {
    const state = this.kinds.get(kind);
    if (state === undefined || NEVER_SAMPLED.has(line.level)) {
      this.write(line);
      return;
    }
    const now = this.clock.now();
    const quiet = now - state.lastAt >= this.windowMs;
    state.lastAt = now;
    if (!state.written || quiet || state.pending >= state.every - 1) {
      this.emit(state, line, state.pending);
      return;
    }
    if (state.pending === 0) state.since = now;
    state.pending++;
    state.last = line;
    this.arm();
  }

  /** Writes every pending count now (at shutdown) and stops the timer. */
  flush(): void {
    for (const state of this.kinds.values()) this.report(state);
    this.timer?.cancel();
    this.timer = undefined;
  }

  private emit(state: KindState, line: LogLine, suppressed: number): void {
    state.written = true;
    state.pending = 0;
    state.last = undefined;
    this.write({
      level: line.level,
      fields: { ...line.fields, sampled: { every: state.every, suppressed } },
      msg: line.msg,
    });
  }

  /** The last suppressed line stands for itself and the pending ones before it. */
  private report(state: KindState): void {
    if (state.last !== undefined) this.emit(state, state.last, state.pending - 1);
  }

  // One timer, only while a count is pending, so that a count is written even when no
  // further line of its kind ever comes.
  private arm(): void {
    this.timer ??= this.clock.every(this.windowMs, () => {
      const now = this.clock.now();
      let waiting = false;
      for (const state of this.kinds.values()) {
        if (state.pending > 0 && now - state.since >= this.windowMs) this.report(state);
        waiting ||= state.pending > 0;
      }
      if (!waiting) {
        this.timer?.cancel();
        this.timer = undefined;
      }
    });
  }
}
