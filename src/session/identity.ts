/**
 * Runs the `authenticate` hook for one `hello` and checks what it answered: a principal
 * becomes the session's identity (its user, and its claims serialized once), `true` accepts
 * without a user, anything else refuses with a reason for `rws_auth_failures_total`.
 */
import {
  AuthError,
  MAX_CLAIMS_BYTES,
  MAX_USER_LENGTH,
  type AuthRequest,
  type Authenticate,
  type Principal,
} from '../auth/principal.js';
import type { HelloFrame } from '../protocol/index.js';

/** A connection's principal as the session keeps it. */
export interface SessionIdentity {
  readonly user: string;
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** `claims` as JSON text (what the store keeps), computed once. */
  readonly claimsJson: string | undefined;
}

export type AuthVerdict =
  | { ok: true; identity: SessionIdentity | undefined }
  /** `retryable`: the check could not be made (the hook failed); the client may retry. */
  | { ok: false; reason: string; retryable: boolean; error?: unknown };

/** Reasons of our own (an `AuthError`'s reason is the hook's). */
export const AUTH_REFUSED = 'refused';
export const AUTH_HOOK_ERROR = 'error';
export const AUTH_BAD_PRINCIPAL = 'bad_principal';

const NO_REQUEST: AuthRequest = { ip: '', headers: {}, url: '' };

export async function authenticateHello(
  authenticate: Authenticate,
  hello: HelloFrame,
  request: AuthRequest | undefined,
): Promise<AuthVerdict> {
  let answer: unknown;
  try {
    answer = await authenticate(hello, request ?? NO_REQUEST);
  } catch (error) {
    if (error instanceof AuthError) {
      const reason = boundedReason(error.reason);
      // A retryable one says why the check could not be made (a key set out of reach): the
      // operator needs that in the log; a refusal is the client's own and is only counted.
      return error.retryable
        ? { ok: false, reason, retryable: true, error }
        : { ok: false, reason, retryable: false };
    }
    return { ok: false, reason: AUTH_HOOK_ERROR, retryable: true, error };
  }
  if (answer === true) return { ok: true, identity: undefined };
  if (answer === false || answer === undefined || answer === null) {
    return { ok: false, reason: AUTH_REFUSED, retryable: false };
  }
  const identity = toIdentity(answer);
  return identity === undefined
    ? { ok: false, reason: AUTH_BAD_PRINCIPAL, retryable: false }
    : { ok: true, identity };
}

/** The identity of a valid principal, or undefined (a user that is not a non-empty string
 *  of at most MAX_USER_LENGTH, claims that are not a JSON object within MAX_CLAIMS_BYTES). */
export function toIdentity(answer: unknown): SessionIdentity | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { user, claims } = answer as Partial<Principal>;
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH) {
    return undefined;
  }
  if (claims === undefined) return { user, claims: undefined, claimsJson: undefined };
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(claims);
  } catch {
    return undefined;
  }
  if (json === undefined || Buffer.byteLength(json) > MAX_CLAIMS_BYTES) return undefined;
  return { user, claims: JSON.parse(json) as Record<string, unknown>, claimsJson: json };
}

/** A reason is a metric label: keep it short and printable. */
function boundedReason(reason: unknown): string {
  return typeof reason === 'string' && /^[a-z0-9_]{1,40}$/.test(reason) ? reason : AUTH_HOOK_ERROR;
}
