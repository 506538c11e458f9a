import { describe, expect, it } from 'vitest';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import {
  deadLetterBytes,
  DeadLetterWriter,
  pageByBytes,
  pageLimit,
  type DeadLetter,
  type DeadLetterSink,
} from './dead-letter-store.js';

function setup(add: DeadLetterSink['add']) {
  const events = new Emitter<CoreEvents>();
  const errors: CoreEvents['error'][] = [];
  events.on('error', (e) => errors.push(e));
  return { writer: new DeadLetterWriter({ add }, events), errors };
}

describe('DeadLetterWriter', () => {
  it('passes each dead letter on as given, and reports nothing when the store takes it', async () => {
    const seen: unknown[][] = [];
    const { writer, errors } = setup((...args) => {
      seen.push(args);
      return Promise.resolve();
    });
    writer.add('s', 'ttl', '"a"', 5, 3);
    writer.add('s', 'overflow', '"b"', 6);
    await Promise.resolve();
    expect(seen).toEqual([
      ['s', 'ttl', '"a"', 5, 3],
      ['s', 'overflow', '"b"', 6, undefined],
    ]);
    expect(errors).toEqual([]);
    expect(writer.failures).toBe(0);
  });

  it('a store that throws: the caller goes on, the failure is an error event and counted', () => {
    const boom = new Error('store down');
    const { writer, errors } = setup(() => {
      throw boom;
    });
    expect(() => writer.add('s', 'ttl', '1', 0, 1)).not.toThrow();
    expect(errors).toEqual([{ where: 'dead-letter', error: boom }]);
    expect(writer.failures).toBe(1);
  });

  it('a store that rejects: no unhandled rejection, the failure is an error event and counted', async () => {
    const boom = new Error('redis timeout');
    const { writer, errors } = setup(() => Promise.reject(boom));
    writer.add('s', 'overflow', '1', 0);
    writer.add('s', 'overflow', '2', 0);
    expect(errors).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([
      { where: 'dead-letter', error: boom },
      { where: 'dead-letter', error: boom },
    ]);
    expect(writer.failures).toBe(2);
  });
});

describe('pageLimit', () => {
  it('defaults to 100 and clamps to 1..1001', () => {
    expect(pageLimit(undefined)).toBe(100);
    expect(pageLimit(Number.NaN)).toBe(100);
    expect(pageLimit(0)).toBe(1);
    expect(pageLimit(2.7)).toBe(2);
    expect(pageLimit(1001)).toBe(1001);
    expect(pageLimit(Number.POSITIVE_INFINITY)).toBe(1001);
  });
});

describe('deadLetterBytes and pageByBytes', () => {
  const entry = (data: string): DeadLetter => ({ id: 1, sid: 's', reason: 'ttl', data, at: 0 });

  it('weighs data in UTF-8 bytes', () => {
    expect(deadLetterBytes('"abc"')).toBe(5);
    expect(deadLetterBytes('"é"')).toBe(4);
    expect(deadLetterBytes('"😀"')).toBe(6);
  });

  it('takes entries while they fit, and always the first one', () => {
    const e = (n: number) => entry('x'.repeat(n));
    expect(pageByBytes([], 10)).toBe(0);
    expect(pageByBytes([e(4), e(4), e(2)], 10)).toBe(3);
    expect(pageByBytes([e(4), e(4), e(3)], 10)).toBe(2);
    expect(pageByBytes([e(50), e(1)], 10)).toBe(1);
    expect(pageByBytes([e(50)], 0)).toBe(1);
  });
});
