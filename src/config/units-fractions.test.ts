/**
 * Regression: fractions the code cannot honour (half a byte, a fraction of a millisecond) are
 * refused at every magnitude; only binary floating-point noise is absorbed.
 */
import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize, resolveConfig } from './index.js';

describe('fractional amounts', () => {
  it('refuses half a byte like it refuses 1.1b', () => {
    expect(parseSize('1.1b')).toBeUndefined();
    expect(parseSize('1000000000.5b')).toBeUndefined();
  });

  it('refuses a fraction of a millisecond like it refuses 1.5ms', () => {
    expect(parseDuration('1.5ms')).toBeUndefined();
    expect(parseDuration('2073599.9996s')).toBeUndefined();
  });

  it('does not resolve maxFrame to a rounded value the user did not write', () => {
    expect(() => resolveConfig({ env: {}, argv: ['--max-frame', '1000000000.5b'] })).toThrow();
  });
});
