/**
 * Who a session belongs to. `authenticate(hello, request)` (a library option, or the
 * gateway's token and JWT checks built from the configuration, src/auth/) answers every
 * `hello` with a principal, `true` (accepted, no user) or a refusal; the principal is stored
 * with the session, a resume must present the same user, and client-message handlers, the
 * upstream and the admin API see it (docs/security.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HelloFrame } from '../protocol/index.js';
import { RwsError } from '../errors.js';

/** An authenticated identity. `user` names it (1–256 UTF-16 units); `claims` are what the
 *  application wants handlers and the admin API to see (JSON, at most `MAX_CLAIMS_BYTES`
 *  serialized; never put secrets here). */
export interface Principal {
  readonly user: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** What `authenticate` may look at besides `hello`: the WebSocket upgrade request, reduced. */
export interface AuthRequest {
  /** The client address (after `trustProxyHops`). */
  readonly ip: string;
  /** The upgrade request's headers (`authorization`, `cookie`, `origin`, …). */
  readonly headers: IncomingHttpHeaders;
  /** The upgrade request's URL (path and query). */
  readonly url: string;
}

/** A principal: accepted as that user. `true`: accepted without a user. `false`: refused. */
export type AuthResult = Principal | boolean;

/**
 * Checks a `hello`. Refuse by answering `false` or by throwing `AuthError` (whose `reason`
 * is counted in `rws_auth_failures_total{reason}`): the connection closes with 4500 and the
 * client is told only `unauthorized`. Any other throw (and a retryable `AuthError`) means the
 * check could not be made: counted as `error` (or the reason), closed with 4003, retried.
 */
export type Authenticate = (
  hello: HelloFrame,
  request: AuthRequest,
) => AuthResult | Promise<AuthResult>;

/** Longest `user` accepted (UTF-16 code units). */
export const MAX_USER_LENGTH = 256;
/** Largest `claims` accepted, as serialized JSON (UTF-8 bytes). */
export const MAX_CLAIMS_BYTES = 4096;

/**
 * Thrown by an `authenticate` hook to refuse with a reason (a metric label: keep the set of
 * reasons small and fixed, e.g. `missing_token`, `bad_token`, `expired`): the connection
 * closes with 4500, and the client does not come back. `retryable`: the check itself could
 * not be made (a key set that cannot be fetched): it closes with 4003 `unavailable` instead,
 * and the client retries, as it does when the hook throws any other error.
 */
export class AuthError extends RwsError {
  readonly reason: string;
  readonly retryable: boolean;
  constructor(
    reason: string,
    message?: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(
      'unauthorized',
      message ?? `refused: ${reason}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AuthError';
    this.reason = reason;
    this.retryable = options?.retryable ?? false;
  }
}

/** The bearer token of an `Authorization` header, if any (`Bearer <token>`, any case). */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (value === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

/** The token a client presented: `hello.token`, else an `Authorization: Bearer` header. */
export function presentedToken(hello: HelloFrame, request: AuthRequest): string | undefined {
  return hello.token ?? bearerToken(request.headers);
}
