/**
 * Admission of WebSocket upgrades, decided before `ws` completes the handshake and before any
 * session work: the Origin allowlist (403), the global connection limit (503) and the limit
 * per client IP (429). The client IP is the socket's peer address, or, with `trustProxyHops`
 * N > 0, the address N hops from the right of X-Forwarded-For (the rule of Express's
 * `trust proxy = N`): without it the header is ignored, so a client cannot name another
 * address to dodge its per-IP limit.
 *
 * Memory is bounded by the open connections: the per-IP map holds an entry only for an
 * address with open connections, and the entry is removed when its count reaches zero.
 */
import type { IncomingMessage } from 'node:http';
import { normaliseOrigin, parseOriginList } from '../origins.js';
import type { RwsErrorCode } from '../error-codes.js';

/** Why an upgrade was refused: the error code the refusal answers with. */
export type RefusalCode = Extract<
  RwsErrorCode,
  'origin_not_allowed' | 'too_many_connections' | 'too_many_connections_from_ip'
>;

export const REFUSAL_CODES: readonly RefusalCode[] = [
  'origin_not_allowed',
  'too_many_connections',
  'too_many_connections_from_ip',
];

export interface AdmissionOptions {
  /** Most open connections on this node (refused beyond: 503 `too_many_connections`). */
  maxConnections: number;
  /** Most open connections from one client IP (refused beyond: 429). */
  maxConnectionsPerIp: number;
  /** Proxies in front of the server that append to X-Forwarded-For; 0: the header is ignored. */
  trustProxyHops: number;
  /** Comma-separated origins allowed to open /ws from a browser; empty: any origin. */
  allowedOrigins: string;
}

export interface Refusal {
  /** The HTTP status of the upgrade's answer (the code's in server/routes.ts ERROR_STATUS). */
  status: number;
  code: RefusalCode;
  message: string;
}

// error-codes.test.ts reads `refusal(status, 'code'` and checks the status against ERROR_STATUS.
const refusal = (status: number, code: RefusalCode, message: string): Refusal => ({
  status,
  code,
  message,
});

/**
 * The client's IP: with `hops` = 0, the socket's peer address; with N > 0, the list is the
 * peer address followed by the X-Forwarded-For entries from right to left, and the client is
 * its N-th entry after the peer (the address the outermost trusted proxy saw), or the
 * leftmost entry when there are fewer.
 */
export function clientIp(req: IncomingMessage, hops: number): string {
  const peer = req.socket.remoteAddress ?? '';
  if (hops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return peer;
  const entries = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) return peer;
  return entries[Math.max(0, entries.length - hops)]!;
}

export class Admission {
  /** Open connections per client IP; an IP is present only while its count is above 0. */
  private readonly perIp = new Map<string, number>();
  private open = 0;
  private readonly origins: ReadonlySet<string> | undefined;

  constructor(private readonly options: AdmissionOptions) {
    const list = parseOriginList(options.allowedOrigins);
    if (list === undefined) throw new TypeError('allowedOrigins: not a list of http(s) origins');
    this.origins = list.length === 0 ? undefined : new Set(list);
  }

  /** Open connections admitted and not yet closed. */
  get connections(): number {
    return this.open;
  }

  /** Client IPs with open connections (the per-IP map's size). */
  get trackedIps(): number {
    return this.perIp.size;
  }

  /** The client IP of this upgrade request, under the configured proxy rule. */
  ipOf(req: IncomingMessage): string {
    return clientIp(req, this.options.trustProxyHops);
  }

  /** Why this upgrade must be refused, or undefined if it may proceed. Counts nothing. */
  check(req: IncomingMessage, ip: string): Refusal | undefined {
    const origin = req.headers.origin;
    // No Origin: not a browser (Node, native clients); they are not subject to the allowlist.
    if (this.origins !== undefined && origin !== undefined) {
      const o = normaliseOrigin(origin);
      if (o === undefined || !this.origins.has(o))
        return refusal(403, 'origin_not_allowed', 'this origin may not open /ws');
    }
    if (this.open >= this.options.maxConnections)
      return refusal(
        503,
        'too_many_connections',
        `the server has its maximum of ${this.options.maxConnections} connections`,
      );
    if ((this.perIp.get(ip) ?? 0) >= this.options.maxConnectionsPerIp)
      return refusal(
        429,
        'too_many_connections_from_ip',
        `this address has its maximum of ${this.options.maxConnectionsPerIp} connections`,
      );
    return undefined;
  }

  /** A connection from `ip` was opened: it holds a slot until `release(ip)`. */
  admit(ip: string): void {
    this.open++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
  }

  /** A connection admitted with `admit(ip)` closed. */
  release(ip: string): void {
    this.open = Math.max(0, this.open - 1);
    const n = this.perIp.get(ip);
    if (n === undefined) return;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
  }
}
