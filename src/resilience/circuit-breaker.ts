/**
 * A circuit breaker with resilience4j's semantics, written for a hot path that is a few field
 * updates (measured in bench/breaker.bench.ts against cockatiel and opossum).
 *
 * States: `closed` (calls pass; outcomes are counted) → `open` (calls fail fast with a frozen,
 * pre-allocated BrokenCircuitError) → `half_open` (at most `halfOpenProbes` calls in flight;
 * `successThreshold` successes close, one failure reopens) → `closed`.
 * - Opens when `failureThreshold` consecutive failures happen, or, once the window holds at
 *   least `minCalls` calls, when failures reach `failureRate` % or slow calls `slowCallRate` %.
 * - OPEN → HALF_OPEN is lazy: no timer runs; the first call after the open duration probes.
 *   The open duration is fixed or comes from a backoff (`next()` per open, `reset()` on close).
 * - A hung probe cannot wedge the breaker: a permit not reported within `probeTimeoutMs` is
 *   counted as a failed probe by the next call that finds every permit taken (it reopens).
 * - Reports are attributed to the current state: in `open` they are ignored (calls admitted
 *   before it opened); in `half_open` only as many reports as permits are outstanding count,
 *   oldest permit first, and the rest are ignored. A slow probe counts as a failed one.
 * Manual states: `forceOpen()` → `forced_open` (every call rejected) and `disable()` →
 * `disabled` (every call admitted, nothing counted). Both are sticky: the breaker never
 * leaves them on its own; `reset()` is the way back to `closed` (window, counters and the
 * open backoff cleared), and `forceOpen()` / `disable()` switch between them.
 *
 * Sync API for callers that own their call: `if (b.tryAcquire()) { ...; b.onSuccess(ms) }`
 * (or `onFailure(ms)`, or `release()` when cancelled). `execute(fn)` wraps an async call.
 */
import { Emitter } from '../events.js';
import { BrokenCircuitError } from './broken-circuit-error.js';
import {
  resolveBreakerOptions,
  type BreakerOptions,
  type ResolvedBreakerOptions,
} from './breaker-options.js';
import type { OutcomeWindow } from './outcome-window.js';

import type {
  BreakerSnapshot,
  BreakerState,
  StateChange,
  TransitionReason,
} from './breaker-state.js';

export { BrokenCircuitError, isBrokenCircuitError } from './broken-circuit-error.js';
export type {
  BreakerSnapshot,
  BreakerState,
  StateChange,
  TransitionReason,
} from './breaker-state.js';
export type { BreakerOptions, OpenBackoff, WindowOptions } from './breaker-options.js';

/** Per-state fields live on the state object, so they cannot leak into another state. */
type Inner =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly until: number }
  | { readonly kind: 'half_open'; inFlight: number; successes: number }
  | { readonly kind: 'forced_open' }
  | { readonly kind: 'disabled' };

const CLOSED: Inner = Object.freeze({ kind: 'closed' });
const FORCED_OPEN: Inner = Object.freeze({ kind: 'forced_open' });
const DISABLED: Inner = Object.freeze({ kind: 'disabled' });

export class CircuitBreaker extends Emitter<{ stateChange: StateChange }> {
  readonly name: string;
  private inner: Inner = CLOSED;
  private readonly o: ResolvedBreakerOptions;
  private readonly window: OutcomeWindow;
  private readonly clock: { now(): number };
  private consecutive = 0;
  private rejectedCount = 0;
  private transitionCount = 0;
  private last: StateChange | undefined;
  /** Issue times of the outstanding half-open permits: a ring, oldest at probeHead. */
  private readonly probeAt: Float64Array;
  private probeHead = 0;
  private readonly rejection: BrokenCircuitError;
  // Pre-bound so execute() allocates no closure per call.
  private readonly ok = <T>(value: T): T => {
    this.onSuccess(0);
    return value;
  };
  private readonly fail = (error: unknown): never => {
    this.onFailure(0);
    throw error;
  };

  constructor(name: string, options?: BreakerOptions) {
    super();
    this.name = name;
    this.o = resolveBreakerOptions(options);
    this.window = this.o.window;
    this.clock = this.o.clock;
    this.probeAt = new Float64Array(this.o.halfOpenProbes);
    this.rejection = Object.freeze(new BrokenCircuitError(name));
  }

  get state(): BreakerState {
    return this.inner.kind;
  }

  /** Whether a call may go ahead; if so, report it with onSuccess, onFailure or release. */
  tryAcquire(): boolean {
    const s = this.inner;
    if (s.kind === 'closed') return true;
    // The fast-fail path, inline: one (cached) clock read, a compare, a counter.
    if (s.kind === 'open' && this.clock.now() < s.until) return this.reject();
    return this.acquireSlow();
  }

  onSuccess(durationMs: number): void {
    const s = this.inner;
    if (s.kind === 'closed') {
      this.consecutive = 0;
      this.record(false, durationMs);
    } else if (s.kind === 'half_open') {
      this.probeDone(s, !this.isSlow(durationMs));
    }
  }

  onFailure(durationMs: number): void {
    const s = this.inner;
    if (s.kind === 'closed') {
      this.consecutive++;
      this.record(true, durationMs);
    } else if (s.kind === 'half_open') {
      this.probeDone(s, false);
    }
  }

  /** Gives a permit back without counting the call (it was cancelled before it ran). */
  release(): void {
    const s = this.inner;
    if (s.kind === 'half_open' && s.inFlight > 0) this.retireOldestProbe(s);
  }

  /** Runs `fn` if admitted; rejects with this breaker's BrokenCircuitError if not. */
  execute<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.tryAcquire()) return Promise.reject(this.rejection);
    // Time a call only when the slow-call rule needs it (two clock reads saved otherwise).
    if (this.o.slowCallMs > 0) return this.executeTimed(fn);
    let p: Promise<T>;
    try {
      p = fn();
    } catch (error) {
      return this.thrownSync(error);
    }
    // A caller without types may return a plain value: treat it as resolved.
    return (
      typeof (p as { then?: unknown } | null)?.then === 'function' ? p : Promise.resolve(p)
    ).then(this.ok<T>, this.fail);
  }

  forceOpen(): void {
    this.moveTo(FORCED_OPEN, 'forced_open', this.clock.now());
  }

  /** Back to `closed` from any state, with an empty window and the open backoff reset. */
  reset(): void {
    this.clearStats();
    this.moveTo(CLOSED, 'reset', this.clock.now());
  }

  disable(): void {
    this.moveTo(DISABLED, 'disabled', this.clock.now());
  }

  snapshot(): BreakerSnapshot {
    const s = this.inner;
    const w = this.window;
    if (this.o.timed) w.advance(this.clock.now());
    return {
      name: this.name,
      state: s.kind,
      calls: w.calls,
      failures: w.failures,
      slowCalls: w.slow,
      failureRate: w.calls === 0 ? 0 : (w.failures * 100) / w.calls,
      slowCallRate: w.calls === 0 ? 0 : (w.slow * 100) / w.calls,
      consecutiveFailures: this.consecutive,
      openUntil: s.kind === 'open' ? s.until : undefined,
      halfOpenInFlight: s.kind === 'half_open' ? s.inFlight : 0,
      rejected: this.rejectedCount,
      transitions: this.transitionCount,
      lastChange: this.last,
    };
  }

  private async executeTimed<T>(fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    try {
      const value = await fn();
      this.onSuccess(this.clock.now() - start);
      return value;
    } catch (error) {
      this.onFailure(this.clock.now() - start);
      throw error;
    }
  }

  /** `fn` threw instead of returning a promise: still a failed call, still a rejection. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async turns the throw into a rejection
  private async thrownSync(error: unknown): Promise<never> {
    this.onFailure(0);
    throw error;
  }

  private isSlow(durationMs: number): boolean {
    return this.o.slowCallMs > 0 && durationMs >= this.o.slowCallMs;
  }

  /** Closed state: count the outcome, then check the rules that open. */
  private record(failed: boolean, durationMs: number): void {
    const o = this.o;
    const w = this.window;
    const slow = this.isSlow(durationMs);
    // The only clock read of a closed-state call, and only for a time window.
    const now = o.timed ? this.clock.now() : -1;
    w.record(now, failed, slow);
    if (failed && o.failureThreshold > 0 && this.consecutive >= o.failureThreshold) {
      this.trip('consecutive_failures', now);
    } else if (w.calls >= o.minCalls) {
      // Integer compare, no division: rate% of calls.
      if (o.failureRate > 0 && w.failures * 100 >= o.failureRate * w.calls) {
        this.trip('failure_rate', now);
      } else if (o.slowCallMs > 0 && w.slow * 100 >= o.slowCallRate * w.calls) {
        this.trip('slow_call_rate', now);
      }
    }
  }

  private acquireSlow(): boolean {
    const s = this.inner;
    if (s.kind === 'closed' || s.kind === 'disabled') return true;
    if (s.kind === 'forced_open') return this.reject();
    const now = this.clock.now();
    if (s.kind === 'open') {
      if (now < s.until) return this.reject();
      this.moveTo({ kind: 'half_open', inFlight: 0, successes: 0 }, 'open_elapsed', now);
      // Decide on the state now: a stateChange listener may have moved the breaker again.
      return this.inner.kind === 'open' ? this.reject() : this.acquireSlow();
    }
    const max = this.probeAt.length;
    if (s.inFlight < max) {
      this.probeAt[(this.probeHead + s.inFlight) % max] = now;
      s.inFlight++;
      return true;
    }
    if (this.o.probeTimeoutMs > 0 && now - this.probeAt[this.probeHead]! >= this.o.probeTimeoutMs) {
      this.trip('probe_failed', now); // the oldest probe hung
    }
    return this.reject();
  }

  private reject(): false {
    this.rejectedCount++;
    return false;
  }

  private probeDone(s: Extract<Inner, { kind: 'half_open' }>, good: boolean): void {
    // No permit outstanding: a call admitted before the breaker opened, or a reclaimed probe.
    if (s.inFlight === 0) return;
    this.retireOldestProbe(s);
    if (!good) this.trip('probe_failed', -1);
    else if (++s.successes >= this.o.successThreshold) {
      this.clearStats();
      this.moveTo(CLOSED, 'probes_succeeded', this.clock.now());
    }
  }

  private retireOldestProbe(s: Extract<Inner, { kind: 'half_open' }>): void {
    s.inFlight--;
    this.probeHead = this.probeHead + 1 === this.probeAt.length ? 0 : this.probeHead + 1;
  }

  /** Opens for the next open duration; `now` < 0 means "not read yet". */
  private trip(reason: TransitionReason, now: number): void {
    const at = now >= 0 ? now : this.clock.now();
    const openMs = this.o.openMs;
    const ms = typeof openMs === 'number' ? openMs : Math.max(0, openMs.next());
    this.moveTo({ kind: 'open', until: at + ms }, reason, at);
  }

  private clearStats(): void {
    this.window.clear();
    this.consecutive = 0;
    if (typeof this.o.openMs !== 'number') this.o.openMs.reset();
  }

  private moveTo(next: Inner, reason: TransitionReason, at: number): void {
    const from = this.inner.kind;
    this.inner = next;
    this.probeHead = 0;
    if (from === next.kind) return;
    this.transitionCount++;
    const change: StateChange = { name: this.name, from, to: next.kind, reason, at };
    this.last = change;
    this.emit('stateChange', change);
  }
}
