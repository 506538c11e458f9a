import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { BreakerRegistry } from './breaker-registry.js';
import type { StateChange } from './circuit-breaker.js';

describe('BreakerRegistry', () => {
  it('creates a breaker on first use and returns the same one after', () => {
    const r = new BreakerRegistry();
    const a = r.get('upstream');
    expect(r.get('upstream')).toBe(a);
    expect(r.find('upstream')).toBe(a);
    expect(r.find('store')).toBeUndefined();
    expect(r.list().map((b) => b.name)).toEqual(['upstream']);
  });

  it('merges defaults with per-breaker options', () => {
    const clock = new ManualClock();
    const r = new BreakerRegistry({ clock, failureThreshold: 2 });
    const strict = r.get('strict', { failureThreshold: 1 });
    const lax = r.get('lax');
    strict.onFailure(1);
    lax.onFailure(1);
    expect([strict.state, lax.state]).toEqual(['open', 'closed']);
    lax.onFailure(1);
    expect(lax.state).toBe('open');
  });

  it('re-emits every breaker state change', () => {
    const r = new BreakerRegistry({ clock: new ManualClock() });
    const seen: StateChange[] = [];
    r.on('stateChange', (c) => seen.push(c));
    r.get('a').forceOpen();
    r.get('b').disable();
    expect(seen.map((c) => `${c.name}:${c.to}`)).toEqual(['a:forced_open', 'b:disabled']);
    r.delete('a');
    r.get('b').reset();
    expect(seen).toHaveLength(3);
  });

  it('is bounded: past maxBreakers get throws breaker_limit', () => {
    const r = new BreakerRegistry({}, { maxBreakers: 2 });
    r.get('a');
    r.get('b');
    expect(() => r.get('c')).toThrow(expect.objectContaining({ code: 'breaker_limit' }) as Error);
    expect(r.get('a').name).toBe('a'); // existing ones still resolve
    expect(r.delete('a')).toBe(true);
    expect(r.delete('a')).toBe(false);
    expect(r.get('c').name).toBe('c');
  });

  it('two registries share nothing (no global breaker)', () => {
    const one = new BreakerRegistry();
    const two = new BreakerRegistry();
    one.get('upstream').forceOpen();
    expect(two.get('upstream').state).toBe('closed');
  });

  it('refuses a bad cap', () => {
    expect(() => new BreakerRegistry({}, { maxBreakers: 0 })).toThrow(/maxBreakers/);
  });
});
