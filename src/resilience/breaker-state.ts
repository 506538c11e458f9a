/** The observable shapes of a breaker: its states, its state changes and its snapshot. */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled';

export type TransitionReason =
  | 'consecutive_failures'
  | 'failure_rate'
  | 'slow_call_rate'
  | 'open_elapsed'
  | 'probe_failed'
  | 'probes_succeeded'
  | 'forced_open'
  | 'reset'
  | 'disabled';

export interface StateChange {
  name: string;
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  /** Clock time of the change, ms. */
  at: number;
}

export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Calls, failures and slow calls in the window now. */
  calls: number;
  failures: number;
  slowCalls: number;
  /** Percent of the window's calls (0 when empty). */
  failureRate: number;
  slowCallRate: number;
  consecutiveFailures: number;
  /** When an open breaker lets the next call probe (ms); undefined unless open. */
  openUntil: number | undefined;
  halfOpenInFlight: number;
  /** Calls rejected since construction. */
  rejected: number;
  /** State changes since construction. */
  transitions: number;
  lastChange: StateChange | undefined;
}
