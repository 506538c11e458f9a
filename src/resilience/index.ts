/** The resilience library: circuit breakers and backoff. Re-exports only. */
export {
  CircuitBreaker,
  BrokenCircuitError,
  isBrokenCircuitError,
  type BreakerState,
  type TransitionReason,
  type StateChange,
  type BreakerSnapshot,
  type BreakerOptions,
  type OpenBackoff,
  type WindowOptions,
} from './circuit-breaker.js';
export { BREAKER_DEFAULTS } from './breaker-options.js';
export { TurnClock } from './turn-clock.js';
export {
  BreakerRegistry,
  DEFAULT_MAX_BREAKERS,
  type BreakerRegistryLimits,
} from './breaker-registry.js';
export {
  Backoff,
  DEFAULT_BACKOFF,
  backoffCeiling,
  backoffDelay,
  equalJitter,
  fullJitter,
  type BackoffOptions,
  type Jitter,
  type TimerClock,
} from './backoff.js';
