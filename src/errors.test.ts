import { describe, expect, it } from 'vitest';
import { isRwsError, RwsError } from './errors.js';

describe('RwsError', () => {
  it('carries a stable code, the message, a name and the cause', () => {
    const cause = new Error('root');
    const e = new RwsError('outbox_full', 'the outbox is full', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('outbox_full');
    expect(e.message).toBe('the outbox is full');
    expect(e.name).toBe('RwsError');
    expect(e.cause).toBe(cause);
    expect(e.details).toBeUndefined();
  });

  it('has no cause when none is given', () => {
    expect('cause' in new RwsError('internal', 'y')).toBe(false);
  });

  it('serializes to its code, message and details; code and message win over details', () => {
    const e = new RwsError('outbox_full', 'full', {
      details: { policy: 'reject', code: 'spoofed', message: 'spoofed' },
    });
    expect(e.details).toEqual({ policy: 'reject', code: 'spoofed', message: 'spoofed' });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      policy: 'reject',
      code: 'outbox_full',
      message: 'full',
    });
    expect(new RwsError('not_found', 'b').toJSON()).toEqual({ code: 'not_found', message: 'b' });
  });
});

describe('RwsError codes', () => {
  it('takes the catalog codes; a code outside it, or an unchecked string, does not compile', () => {
    const wide: string = 'outbox_full';
    // @ts-expect-error -- not a code of the catalog (src/error-codes.ts)
    const typo = new RwsError('outbox_ful', 'm');
    // @ts-expect-error -- a plain string could be anything: narrow it with isRwsErrorCode
    const unchecked = new RwsError(wide, 'm');
    expect([typo.code, unchecked.code]).toEqual(['outbox_ful', 'outbox_full']);
    expect(new RwsError('outbox_full', 'm')).toBeInstanceOf(RwsError);
  });

  it('a subclass with its own code space passes any string to super()', () => {
    class AppError extends RwsError {
      constructor(code: string) {
        super(code, 'app');
      }
    }
    const e = new AppError('my_app_code');
    expect(isRwsError(e) && e.code).toBe('my_app_code');
    expect(e.name).toBe('AppError');
    expect(e).toBeInstanceOf(RwsError);
  });
});

describe('isRwsError', () => {
  it('is true for an RwsError and its subclasses', () => {
    class Sub extends RwsError {}
    expect(isRwsError(new RwsError('internal', 'm'))).toBe(true);
    expect(isRwsError(new Sub('c', 'm'))).toBe(true);
  });

  it('is true for a plain object carrying the brand (an error from another package copy)', () => {
    const foreign = { [Symbol.for('resilient-ws.error')]: true, code: 'outbox_full', message: 'x' };
    expect(isRwsError(foreign)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('x')],
    ['an Error with a code', Object.assign(new Error('x'), { code: 'E' })],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'outbox_full'],
    ['a plain object with a code', { code: 'outbox_full' }],
    ['a branded object without a code', { [Symbol.for('resilient-ws.error')]: true }],
    ['a branded object with a numeric code', { [Symbol.for('resilient-ws.error')]: true, code: 1 }],
    [
      'an object with a truthy non-true brand',
      { [Symbol.for('resilient-ws.error')]: 1, code: 'c' },
    ],
    ['an object with a different symbol', { [Symbol('resilient-ws.error')]: true, code: 'c' }],
  ])('is false for %s', (_name, value) => {
    expect(isRwsError(value)).toBe(false);
  });
});
