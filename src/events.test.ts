import { describe, expect, it, vi } from 'vitest';
import { Emitter } from './events.js';

interface TestEvents {
  [name: string]: unknown;
  tick: number;
  named: { name: string };
}

describe('Emitter', () => {
  it('calls every listener of an event with the payload, in subscription order', () => {
    const e = new Emitter<TestEvents>();
    const calls: string[] = [];
    e.on('tick', (n) => calls.push(`a${n}`));
    e.on('tick', (n) => calls.push(`b${n}`));
    e.on('named', (p) => calls.push(p.name));
    e.emit('tick', 1);
    e.emit('named', { name: 'x' });
    expect(calls).toEqual(['a1', 'b1', 'x']);
  });

  it('emitting with no listener does nothing', () => {
    const e = new Emitter<TestEvents>();
    expect(() => e.emit('tick', 1)).not.toThrow();
    expect(e.has('tick')).toBe(false);
  });

  it('has() tells whether anyone listens', () => {
    const e = new Emitter<TestEvents>();
    const fn = (): void => {};
    e.on('tick', fn);
    expect(e.has('tick')).toBe(true);
    expect(e.has('named')).toBe(false);
    e.off('tick', fn);
    expect(e.has('tick')).toBe(false);
  });

  it('off() and the function returned by on() remove one listener', () => {
    const e = new Emitter<TestEvents>();
    const a = vi.fn();
    const b = vi.fn();
    const offA = e.on('tick', a);
    e.on('tick', b);
    offA();
    e.emit('tick', 1);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledWith(1);
    e.off('tick', b);
    e.emit('tick', 2);
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('off() of a listener that is not subscribed is harmless', () => {
    const e = new Emitter<TestEvents>();
    const a = vi.fn();
    e.on('tick', a);
    e.off('tick', () => {});
    e.off('named', () => {});
    e.emit('tick', 3);
    expect(a).toHaveBeenCalledWith(3);
  });

  it('once() fires exactly once', () => {
    const e = new Emitter<TestEvents>();
    const fn = vi.fn();
    e.once('tick', fn);
    e.emit('tick', 1);
    e.emit('tick', 2);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(1);
    expect(e.has('tick')).toBe(false);
  });

  it('once() can be cancelled before it fires', () => {
    const e = new Emitter<TestEvents>();
    const fn = vi.fn();
    const off = e.once('tick', fn);
    off();
    e.emit('tick', 1);
    expect(fn).not.toHaveBeenCalled();
  });

  it('a listener that removes itself during emit does not make others miss the event', () => {
    const e = new Emitter<TestEvents>();
    const calls: string[] = [];
    e.once('tick', () => calls.push('once'));
    e.on('tick', () => calls.push('always'));
    e.emit('tick', 1);
    e.emit('tick', 2);
    expect(calls).toEqual(['once', 'always', 'always']);
  });

  it('the same function subscribed twice is called twice and removed one at a time', () => {
    const e = new Emitter<TestEvents>();
    const fn = vi.fn();
    e.on('tick', fn);
    e.on('tick', fn);
    e.emit('tick', 1);
    expect(fn).toHaveBeenCalledTimes(2);
    e.off('tick', fn);
    e.emit('tick', 2);
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('Emitter.off with once', () => {
  it('removes a listener added with once by the original function', () => {
    const e = new Emitter<{ x: number }>();
    const fn = vi.fn();
    e.once('x', fn);
    e.off('x', fn);
    e.emit('x', 1);
    expect(fn).not.toHaveBeenCalled();
    expect(e.has('x')).toBe(false);
  });
});
