/**
 * One line for a port that cannot be opened, naming the setting to change: the first failure
 * a newcomer meets, which used to print Node's stack trace.
 */
import { SETTINGS } from '../config/schema.js';
import { redactUrlCredentials } from '../config/url.js';
import { isRwsError } from '../errors.js';

const PORT = `${SETTINGS.port.flag} / ${SETTINGS.port.env}`;
const HOST = `${SETTINGS.host.flag} / ${SETTINGS.host.env}`;

/**
 * The message (without the `resilient-ws: ` prefix) for an error of `listen()` on `host` and
 * `port`, or undefined when the error is not about binding (the caller rethrows it).
 */
export function describeListenError(
  error: unknown,
  where: { readonly host: string; readonly port: number },
): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, hostname } = error as NodeJS.ErrnoException & { hostname?: string };
  const { host, port } = where;
  // The host is looked up before binding. Only a failed lookup of this host counts: listen()
  // also waits for a Redis store, whose own lookup failure is another matter.
  if (syscall === 'getaddrinfo' && hostname === host)
    return `host "${host}" does not resolve to an address (${code ?? 'lookup failed'}): pick another with ${HOST}`;
  if (syscall !== 'listen' && syscall !== 'bind') return undefined;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use: pick another with ${PORT} (0 picks a free one)`;
    case 'EACCES':
      return port > 0 && port < 1024
        ? `not permitted to listen on port ${port} on ${host} (ports below 1024 need privileges): pick one from 1024 up with ${PORT} (0 picks a free one)`
        : `not permitted to listen on port ${port} on ${host}: pick another with ${PORT} (0 picks a free one)`;
    case 'EADDRNOTAVAIL':
      return `address ${host} is not an address of this machine: pick another with ${HOST} (127.0.0.1: this machine only; 0.0.0.0: every interface)`;
    case 'EAFNOSUPPORT':
      return `address ${host} is of a family (IPv4/IPv6) this machine does not support: pick another with ${HOST}`;
    default:
      return `cannot listen on port ${port} on ${host} (${code ?? error.message}): check ${HOST} and ${PORT}`;
  }
}

/**
 * One line for a store that cannot be used at start (listen() waits for a Redis store: one
 * whose `maxmemory-policy` may evict keys is refused, one that never answers times out), or
 * undefined for any other error. The store URL is shown without its credentials.
 */
export function describeStoreError(error: unknown, store: string): string | undefined {
  if (!isRwsError(error) || error.code !== 'store_unavailable') return undefined;
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return `the store at ${redactUrlCredentials(store)} cannot be used: ${message}`;
}
