import { describe, expect, it } from 'vitest';
import { RwsError } from '../errors.js';
import { describeListenError, describeStoreError } from './listen-error.js';

/** An error shaped as Node's net module makes it. */
function errno(code: string, syscall: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, ...extra });
}

const at = { host: '127.0.0.1', port: 8080 };

describe('describeListenError', () => {
  it('a port in use names the port, the address and the setting to change', () => {
    expect(describeListenError(errno('EADDRINUSE', 'listen'), at)).toBe(
      'port 8080 on 127.0.0.1 is already in use: pick another with --port / RWS_PORT (0 picks a free one)',
    );
  });

  it('a privileged port says why and what to pick', () => {
    expect(describeListenError(errno('EACCES', 'listen'), { host: '0.0.0.0', port: 80 })).toBe(
      'not permitted to listen on port 80 on 0.0.0.0 (ports below 1024 need privileges): pick one from 1024 up with --port / RWS_PORT (0 picks a free one)',
    );
    expect(describeListenError(errno('EACCES', 'listen'), at)).toBe(
      'not permitted to listen on port 8080 on 127.0.0.1: pick another with --port / RWS_PORT (0 picks a free one)',
    );
  });

  it('an address of another machine, or a host that does not resolve, points at --host', () => {
    expect(
      describeListenError(errno('EADDRNOTAVAIL', 'listen'), { host: '10.1.2.3', port: 8080 }),
    ).toMatch(
      /^address 10\.1\.2\.3 is not an address of this machine: pick another with --host \/ RWS_HOST/,
    );
    expect(
      describeListenError(errno('ENOTFOUND', 'getaddrinfo', { hostname: 'gw.invalid' }), {
        host: 'gw.invalid',
        port: 8080,
      }),
    ).toBe(
      'host "gw.invalid" does not resolve to an address (ENOTFOUND): pick another with --host / RWS_HOST',
    );
    expect(describeListenError(errno('EAFNOSUPPORT', 'listen'), { host: '::1', port: 1 })).toMatch(
      /--host \/ RWS_HOST$/,
    );
  });

  it('another bind failure still gets one line naming both settings', () => {
    expect(describeListenError(errno('EINVAL', 'listen'), at)).toBe(
      'cannot listen on port 8080 on 127.0.0.1 (EINVAL): check --host / RWS_HOST and --port / RWS_PORT',
    );
  });

  it('leaves errors that are not about binding to the caller', () => {
    // A Redis store whose host does not resolve fails listen() too, but is not about --host.
    expect(
      describeListenError(errno('ENOTFOUND', 'getaddrinfo', { hostname: 'redis.invalid' }), at),
    ).toBeUndefined();
    expect(describeListenError(errno('ECONNREFUSED', 'connect'), at)).toBeUndefined();
    expect(describeListenError(new Error('boom'), at)).toBeUndefined();
    expect(describeListenError('EADDRINUSE', at)).toBeUndefined();
  });
});

describe('describeStoreError', () => {
  it('a store that cannot be used is one line naming the store, without its credentials', () => {
    const refused = new RwsError(
      'store_unavailable',
      'Redis maxmemory-policy is allkeys-lru: it may evict session keys',
    );
    expect(describeStoreError(refused, 'redis://user:secret@10.0.0.5:6379/0')).toBe(
      'the store at redis://<redacted>@10.0.0.5:6379/0 cannot be used: Redis maxmemory-policy is allkeys-lru: it may evict session keys',
    );
    expect(describeStoreError(new RwsError('store_unavailable', 'a\n  b'), 'redis://r:6379')).toBe(
      'the store at redis://r:6379 cannot be used: a b',
    );
  });

  it('leaves other errors to the caller', () => {
    expect(
      describeStoreError(new RwsError('server_closed', 'closed'), 'redis://r'),
    ).toBeUndefined();
    expect(describeStoreError(new Error('store_unavailable'), 'redis://r')).toBeUndefined();
  });
});
