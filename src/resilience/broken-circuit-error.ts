/**
 * The rejection of a call that a breaker did not admit. Each breaker pre-allocates one and
 * freezes it, so the open path allocates no error and captures no stack (the fast-fail path
 * is the one that runs hottest during an outage). Its `stack` names only the breaker: a
 * captured one would point at the breaker's construction, not at the rejected caller.
 */
import { RwsError, isRwsError } from '../errors.js';

export const BREAKER_OPEN = 'breaker_open';

export class BrokenCircuitError extends RwsError {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;

  constructor(breaker: string) {
    super(BREAKER_OPEN, `circuit breaker "${breaker}" is open`, { details: { breaker } });
    this.breaker = breaker;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Whether `e` is a breaker's rejection (works across package copies: checks the code). */
export function isBrokenCircuitError(e: unknown): e is BrokenCircuitError {
  return isRwsError(e) && e.code === BREAKER_OPEN;
}
