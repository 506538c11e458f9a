/** The origin check and the constant-time token comparison of the HTTP API. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bearerMatches, isCrossOrigin, tokenMatches } from './http-util.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('isCrossOrigin', () => {
  it('no Origin header (curl, server to server): not cross-origin', () => {
    expect(isCrossOrigin(req({ host: '127.0.0.1:8080' }))).toBe(false);
  });

  it('same host and port, whatever the scheme and the case', () => {
    for (const [origin, host] of [
      ['http://127.0.0.1:8080', '127.0.0.1:8080'],
      ['https://Example.COM', 'example.com'],
      ['https://example.com', 'example.com:443'],
      ['http://example.com:80', 'example.com'],
      ['http://[::1]:8080', '[::1]:8080'],
    ])
      expect([origin, isCrossOrigin(req({ origin: origin!, host: host! }))]).toEqual([
        origin,
        false,
      ]);
  });

  it('another host or port, Origin null, a non-web scheme, garbage, or no Host: cross-origin', () => {
    for (const [origin, host] of [
      ['http://evil.example', '127.0.0.1:8080'],
      ['http://127.0.0.1:8081', '127.0.0.1:8080'],
      ['http://localhost:8080', '127.0.0.1:8080'],
      ['https://example.com', 'example.com:80'],
      ['null', '127.0.0.1:8080'],
      ['file:///x', '127.0.0.1:8080'],
      ['not a url', '127.0.0.1:8080'],
      ['http://127.0.0.1:8080', ''],
    ])
      expect([origin, isCrossOrigin(req({ origin: origin!, host: host! }))]).toEqual([
        origin,
        true,
      ]);
  });
});

describe('tokenMatches / bearerMatches', () => {
  it('match only the exact token', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('s3cre', 's3cret')).toBe(false);
    expect(tokenMatches(null, 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('s3cret', 's3cret')).toBe(false);
  });
});
