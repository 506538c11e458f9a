import { describe, expect, it } from 'vitest';
import { CloseCode, CloseRange, isApplicationCloseCode, isRetryableClose } from './close-codes.js';

describe('isRetryableClose', () => {
  it.each([4000, 4001, 4002, 4003, 4250, 4498, 4499])('%i (4000–4499) is retryable', (code) => {
    expect(isRetryableClose(code)).toBe(true);
  });

  it.each([4500, 4501, 4502, 4750, 4998, 4999])('%i (4500–4999) is terminal', (code) => {
    expect(isRetryableClose(code)).toBe(false);
  });

  it.each([
    [1000, 'normal (after bye)'],
    [1007, 'invalid payload data'],
    [1008, 'policy'],
    [1009, 'too big'],
  ])('%i (%s) is terminal', (code) => {
    expect(isRetryableClose(code)).toBe(false);
  });

  it.each([
    [1001, 'going away'],
    [1006, 'abnormal'],
    [1011, 'internal error'],
    [1012, 'service restart'],
  ])('%i (%s) is retryable', (code) => {
    expect(isRetryableClose(code)).toBe(true);
  });

  it('every named code in the retryable range is retryable and every terminal one is not', () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      const expected = ![
        'Normal',
        'Policy',
        'TooBig',
        'Unauthorized',
        'ProtocolError',
        'BadKey',
      ].includes(name);
      expect([name, isRetryableClose(code)]).toEqual([name, expected]);
    }
  });

  it('the named codes have the values docs/protocol.md §11 documents', () => {
    expect(CloseCode).toMatchObject({
      Normal: 1000,
      GoingAway: 1001,
      Policy: 1008,
      TooBig: 1009,
      HeartbeatTimeout: 4000,
      Replaced: 4001,
      SlowConsumer: 4002,
      Overloaded: 4003,
      Unauthorized: 4500,
      ProtocolError: 4501,
      BadKey: 4502,
    });
  });
});

describe('close codes reserved for applications', () => {
  it.each([4400, 4401, 4450, 4499])(
    '%i (4400–4499) is an application code and retryable',
    (code) => {
      expect([isApplicationCloseCode(code), isRetryableClose(code)]).toEqual([true, true]);
    },
  );

  it.each([4900, 4901, 4950, 4999])(
    '%i (4900–4999) is an application code and terminal',
    (code) => {
      expect([isApplicationCloseCode(code), isRetryableClose(code)]).toEqual([true, false]);
    },
  );

  it.each([1000, 1001, 3999, 4000, 4003, 4399, 4500, 4502, 4899, 5000])(
    '%i is not an application code',
    (code) => {
      expect(isApplicationCloseCode(code)).toBe(false);
    },
  );

  it('every code of each application range follows the rule of the range it sits in', () => {
    const { ApplicationRetryable, ApplicationTerminal } = CloseRange;
    for (let code = ApplicationRetryable.first; code <= ApplicationRetryable.last; code++)
      expect([code, isRetryableClose(code)]).toEqual([code, true]);
    for (let code = ApplicationTerminal.first; code <= ApplicationTerminal.last; code++)
      expect([code, isRetryableClose(code)]).toEqual([code, false]);
  });

  it('the ranges are the ones docs/protocol.md §11 documents', () => {
    expect(CloseRange).toEqual({
      Retryable: { first: 4000, last: 4499 },
      Terminal: { first: 4500, last: 4999 },
      ApplicationRetryable: { first: 4400, last: 4499 },
      ApplicationTerminal: { first: 4900, last: 4999 },
    });
  });

  it('no code the library sends falls in an application range', () => {
    const inAppRange = Object.entries(CloseCode).filter(([, code]) => isApplicationCloseCode(code));
    expect(inAppRange).toEqual([]);
  });
});
