import { describe, expect, it } from 'vitest';
import { CloseCode, isRetryableClose } from './close-codes.js';

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

  it('the named codes have the values PROTOCOL.md documents', () => {
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
