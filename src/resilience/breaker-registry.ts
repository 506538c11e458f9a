/**
 * Named breakers, owned by one server instance (never a process global: the original's
 * global breaker let five closed browser tabs black out every client). Bounded: a breaker
 * per downstream is a handful, so a name minted per request or per client would be a bug;
 * past `maxBreakers` `get` throws RwsError `breaker_limit` instead of growing.
 */
import { RwsError } from '../errors.js';
import { Emitter } from '../events.js';
import {
  CircuitBreaker,
  type BreakerOptions,
  type OpenBackoff,
  type StateChange,
} from './circuit-breaker.js';
import { TurnClock } from './turn-clock.js';

export interface BreakerRegistryLimits {
  /** Most breakers the registry holds. Default 1000. */
  maxBreakers?: number;
}

export const DEFAULT_MAX_BREAKERS = 1000;

export class BreakerRegistry extends Emitter<{ stateChange: StateChange }> {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly max: number;
  private readonly defaults: BreakerOptions;
  // One bound listener re-emits every breaker's changes.
  private readonly forward = (change: StateChange): void => this.emit('stateChange', change);

  /** @param defaults options every breaker starts from; `get`'s options override them. */
  constructor(defaults: BreakerOptions = {}, limits: BreakerRegistryLimits = {}) {
    super();
    // One cached system clock for all its breakers: one clock read per turn, not per breaker.
    this.defaults = { ...defaults, clock: defaults.clock ?? new TurnClock() };
    const max = limits.maxBreakers ?? DEFAULT_MAX_BREAKERS;
    if (!Number.isInteger(max) || max < 1) {
      throw new RwsError('invalid_breaker_option', `maxBreakers = ${max} must be an integer >= 1`);
    }
    this.max = max;
  }

  /**
   * The breaker called `name`, created on first use from the defaults plus `options`.
   * Options apply at creation only: a later `get` with other options returns the same breaker.
   */
  get(name: string, options?: BreakerOptions): CircuitBreaker {
    const found = this.breakers.get(name);
    if (found !== undefined) return found;
    if (this.breakers.size >= this.max) {
      throw new RwsError(
        'breaker_limit',
        `cannot create breaker "${name}": the registry holds its maximum of ${this.max} breakers`,
        { details: { name, maxBreakers: this.max } },
      );
    }
    const merged: BreakerOptions = { ...this.defaults, ...options };
    // An open-duration backoff counts re-opens: each breaker needs its own, never a shared one.
    const open = merged.openMs as (OpenBackoff & { fork?: () => OpenBackoff }) | number | undefined;
    if (typeof open === 'object' && typeof open.fork === 'function') merged.openMs = open.fork();
    const breaker = new CircuitBreaker(name, merged);
    breaker.on('stateChange', this.forward);
    this.breakers.set(name, breaker);
    return breaker;
  }

  find(name: string): CircuitBreaker | undefined {
    return this.breakers.get(name);
  }

  /** Every breaker, in creation order. */
  list(): CircuitBreaker[] {
    return [...this.breakers.values()];
  }

  /** Forgets a breaker (its events stop reaching this registry); false if unknown. */
  delete(name: string): boolean {
    const breaker = this.breakers.get(name);
    if (breaker === undefined) return false;
    breaker.off('stateChange', this.forward);
    return this.breakers.delete(name);
  }
}
