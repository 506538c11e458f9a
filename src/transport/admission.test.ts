import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Admission, clientIp } from './admission.js';

function req(headers: Record<string, string | string[]>, peer = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
}

const options = {
  maxConnections: 100,
  maxConnectionsPerIp: 2,
  trustProxyHops: 0,
  allowedOrigins: '',
};

describe('clientIp', () => {
  it('0 hops: the peer address, whatever X-Forwarded-For says', () => {
    expect(clientIp(req({ 'x-forwarded-for': '1.2.3.4' }, '10.0.0.9'), 0)).toBe('10.0.0.9');
  });

  it('N hops: the N-th entry from the right; the leftmost when there are fewer; the peer without one', () => {
    const xff = { 'x-forwarded-for': '6.6.6.6, 1.1.1.1 ,2.2.2.2' };
    expect(clientIp(req(xff, '10.0.0.9'), 1)).toBe('2.2.2.2');
    expect(clientIp(req(xff, '10.0.0.9'), 2)).toBe('1.1.1.1');
    expect(clientIp(req(xff, '10.0.0.9'), 5)).toBe('6.6.6.6');
    expect(clientIp(req({}, '10.0.0.9'), 1)).toBe('10.0.0.9');
    expect(clientIp(req({ 'x-forwarded-for': ' , ' }, '10.0.0.9'), 1)).toBe('10.0.0.9');
    // Repeated headers are one list, in order.
    expect(clientIp(req({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] }), 1)).toBe('2.2.2.2');
  });
});

describe('Admission', () => {
  it('keeps an entry per IP only while it has open connections', () => {
    const a = new Admission(options);
    for (let i = 0; i < 1000; i++) {
      a.admit(`10.0.${i >> 8}.${i & 255}`);
      a.admit(`10.0.${i >> 8}.${i & 255}`);
    }
    expect([a.connections, a.trackedIps]).toEqual([2000, 1000]);
    for (let i = 0; i < 1000; i++) {
      a.release(`10.0.${i >> 8}.${i & 255}`);
      a.release(`10.0.${i >> 8}.${i & 255}`);
    }
    expect([a.connections, a.trackedIps]).toEqual([0, 0]);
  });

  it('refuses per IP at the limit, globally at the limit (503 first), and frees on release', () => {
    const a = new Admission({ ...options, maxConnections: 3 });
    const r = req({});
    a.admit('1.1.1.1');
    a.admit('1.1.1.1');
    expect(a.check(r, '1.1.1.1')).toMatchObject({
      status: 429,
      code: 'too_many_connections_from_ip',
    });
    expect(a.check(r, '2.2.2.2')).toBeUndefined();
    a.admit('2.2.2.2');
    expect(a.check(r, '2.2.2.2')).toMatchObject({ status: 503, code: 'too_many_connections' });
    a.release('1.1.1.1');
    expect(a.check(r, '1.1.1.1')).toBeUndefined();
  });

  it('checks Origin only when present and only against a non-empty list', () => {
    const open = new Admission(options);
    expect(open.check(req({ origin: 'https://evil.example' }), 'x')).toBeUndefined();
    const a = new Admission({ ...options, allowedOrigins: 'https://app.example.com' });
    expect(a.check(req({}), 'x')).toBeUndefined();
    expect(a.check(req({ origin: 'https://app.example.com' }), 'x')).toBeUndefined();
    for (const origin of ['https://evil.example', 'http://app.example.com', 'null', 'garbage'])
      expect(a.check(req({ origin }), 'x'), origin).toMatchObject({
        status: 403,
        code: 'origin_not_allowed',
      });
  });

  it('refuses an allowedOrigins value that is not a list of origins', () => {
    expect(() => new Admission({ ...options, allowedOrigins: 'app.example.com' })).toThrow(
      /allowedOrigins/,
    );
  });
});
