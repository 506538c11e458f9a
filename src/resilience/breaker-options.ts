/**
 * A breaker's options, their defaults (the `breaker*` settings of docs/configuration.md: 5
 * consecutive failures or >= 50 % of >= 20 calls in 30 s; open 60 s; 3 probes; 2 successes to
 * close) and their validation, done once at construction. A bad value throws RwsError `invalid_breaker_option` naming the key.
 */
import { RwsError } from '../errors.js';
import { CountWindow, TimeWindow, type OutcomeWindow } from './outcome-window.js';
import { TurnClock } from './turn-clock.js';

/** Grows with each re-open and starts over when the breaker closes (e.g. `Backoff`). */
export interface OpenBackoff {
  next(): number;
  reset(): void;
}

export type WindowOptions =
  { kind: 'time'; ms: number; buckets?: number } | { kind: 'count'; size: number };

export interface BreakerOptions {
  /** Consecutive failures that open; 0 = rule off. Default 5. */
  failureThreshold?: number;
  /** Percent 0–100 of failed calls in the window that opens; 0 = rule off. Default 50. */
  failureRate?: number;
  /** Calls the window must hold before a rate rule can open. Default 20. */
  minCalls?: number;
  /** Default `{ kind: 'time', ms: 30_000, buckets: 10 }`. */
  window?: WindowOptions;
  /** A call taking at least this long (ms) is slow; 0 = slow-call rule off (default). */
  slowCallMs?: number;
  /** Percent 1–100 of slow calls in the window that opens. Default 100. */
  slowCallRate?: number;
  /** Open duration in ms (default 60 000), or a backoff that grows with each re-open. */
  openMs?: number | OpenBackoff;
  /** Most calls admitted at once while half-open. Default 3. */
  halfOpenProbes?: number;
  /** Successful probes that close. Default 2. */
  successThreshold?: number;
  /**
   * A half-open permit not reported within this many ms is a hung probe: the next call that
   * finds every permit taken counts it as failed and reopens the breaker, so a probe that
   * never returns cannot wedge it. Default 30 000 (3× the default upstream timeout); 0 = off.
   */
  probeTimeoutMs?: number;
  /**
   * Default: the system time read at most once per event-loop turn (TurnClock: a clock read
   * costs more than the breaker itself on some VMs). Used as given otherwise: tests pass a
   * ManualClock, which is exact.
   */
  clock?: { now(): number };
}

export const BREAKER_DEFAULTS = Object.freeze({
  failureThreshold: 5,
  failureRate: 50,
  minCalls: 20,
  windowMs: 30_000,
  windowBuckets: 10,
  slowCallMs: 0,
  slowCallRate: 100,
  openMs: 60_000,
  halfOpenProbes: 3,
  successThreshold: 2,
  probeTimeoutMs: 30_000,
});

/** Bounds that keep the window's memory fixed and sane. */
const MAX_COUNT_WINDOW = 10_000_000;
const MAX_BUCKETS = 10_000;

export interface ResolvedBreakerOptions {
  failureThreshold: number;
  failureRate: number;
  minCalls: number;
  window: OutcomeWindow;
  /** Whether recording needs the time (a time window). */
  timed: boolean;
  slowCallMs: number;
  slowCallRate: number;
  openMs: number | OpenBackoff;
  halfOpenProbes: number;
  successThreshold: number;
  probeTimeoutMs: number;
  clock: { now(): number };
}

function invalid(key: string, value: unknown, allowed: string): RwsError {
  return new RwsError(
    'invalid_breaker_option',
    `breaker option ${key} = ${String(value)} is invalid: expected ${allowed}`,
    { details: { key, allowed } },
  );
}

type Bounds = [key: string, value: number | undefined, fallback: number, min: number, max: number];

function bounded(integer: boolean, [key, value, fallback, min, max]: Bounds): number {
  const v = value ?? fallback;
  const ok = integer ? Number.isInteger(v) : Number.isFinite(v);
  if (!ok || v < min || v > max)
    throw invalid(key, v, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  return v;
}

const int = (...b: Bounds): number => bounded(true, b);
const num = (...b: Bounds): number => bounded(false, b);

function resolveWindow(w: WindowOptions | undefined): OutcomeWindow {
  if (w === undefined)
    return new TimeWindow(BREAKER_DEFAULTS.windowMs, BREAKER_DEFAULTS.windowBuckets);
  if (w.kind === 'count')
    return new CountWindow(int('window.size', w.size, 0, 1, MAX_COUNT_WINDOW));
  if (w.kind === 'time') {
    const buckets = int(
      'window.buckets',
      w.buckets,
      BREAKER_DEFAULTS.windowBuckets,
      1,
      MAX_BUCKETS,
    );
    const ms = num('window.ms', w.ms, 0, buckets, Number.MAX_SAFE_INTEGER);
    return new TimeWindow(ms, buckets);
  }
  throw invalid('window.kind', (w as { kind: unknown }).kind, "'time' or 'count'");
}

export function resolveBreakerOptions(o: BreakerOptions = {}): ResolvedBreakerOptions {
  const window = resolveWindow(o.window);
  const openMs = o.openMs ?? BREAKER_DEFAULTS.openMs;
  if (typeof openMs === 'number') num('openMs', openMs, 0, 0, Number.MAX_SAFE_INTEGER);
  else if (typeof openMs?.next !== 'function' || typeof openMs.reset !== 'function') {
    throw invalid('openMs', openMs, 'a number of ms or an object with next() and reset()');
  }
  const clock = o.clock ?? new TurnClock();
  if (typeof clock.now !== 'function') throw invalid('clock', clock, 'an object with now()');
  return {
    failureThreshold: int(
      'failureThreshold',
      o.failureThreshold,
      BREAKER_DEFAULTS.failureThreshold,
      0,
      1e9,
    ),
    failureRate: num('failureRate', o.failureRate, BREAKER_DEFAULTS.failureRate, 0, 100),
    // A count window never holds more than its size: cap minCalls there (as resilience4j
    // does), or the rate rules could never fire.
    minCalls: Math.min(
      int('minCalls', o.minCalls, BREAKER_DEFAULTS.minCalls, 1, 1e9),
      o.window?.kind === 'count' ? o.window.size : Infinity,
    ),
    window,
    timed: window instanceof TimeWindow,
    slowCallMs: num(
      'slowCallMs',
      o.slowCallMs,
      BREAKER_DEFAULTS.slowCallMs,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    slowCallRate: num('slowCallRate', o.slowCallRate, BREAKER_DEFAULTS.slowCallRate, 1, 100),
    openMs,
    halfOpenProbes: int(
      'halfOpenProbes',
      o.halfOpenProbes,
      BREAKER_DEFAULTS.halfOpenProbes,
      1,
      10_000,
    ),
    successThreshold: int(
      'successThreshold',
      o.successThreshold,
      BREAKER_DEFAULTS.successThreshold,
      1,
      10_000,
    ),
    probeTimeoutMs: num(
      'probeTimeoutMs',
      o.probeTimeoutMs,
      BREAKER_DEFAULTS.probeTimeoutMs,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    clock,
  };
}
