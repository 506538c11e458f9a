/**
 * A JSON Web Key Set fetched from the identity provider (`jwtJwksUrl`), through jose's
 * createRemoteJWKSet (a fetch with a timeout, the set cached for 10 minutes, an unknown `kid`
 * refetching it at most every 30 s), with one addition: when a refresh fails, the set fetched
 * last stays in use, and the fetch is tried again only after `RETRY_AFTER_MS`. An identity
 * provider that is down for a while then costs one waiting hello per retry, instead of
 * turning every new client away or making each hello wait out the timeout.
 * Before the first successful fetch there is nothing to fall back on: `jwks_unavailable`, a
 * retryable AuthError (the handshake closes with 4003 and the client comes back).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';
import { AuthError } from './principal.js';

/** While the key set cannot be refreshed, how long the last one is used before trying again. */
export const RETRY_AFTER_MS = 30_000;

type LocalSet = ReturnType<typeof createLocalJWKSet>;

// Not a failure to fetch: the set was there but held no usable key for this token.
const KEY_SELECTION_CODES = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
]);

function isKeySelection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && KEY_SELECTION_CODES.has(code);
}

export interface RemoteKeysOptions {
  readonly timeoutMs: number;
  /** Wall clock in ms (tests). Default `Date.now`. */
  readonly now?: () => number;
}

export class RemoteKeys {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly now: () => number;
  private stale: { readonly set: LocalSet; readonly until: number } | undefined;

  constructor(
    readonly url: URL,
    options: RemoteKeysOptions,
  ) {
    this.remote = createRemoteJWKSet(url, { timeoutDuration: options.timeoutMs });
    this.now = options.now ?? Date.now;
  }

  /** jose's key resolver: the key for a token's header (`kid`, `alg`). */
  readonly key = async (
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<CryptoKey> => {
    const stale = this.stale;
    if (stale !== undefined && this.now() < stale.until) return stale.set(header, token);
    this.stale = undefined;
    try {
      return await this.remote(header, token);
    } catch (error) {
      if (isKeySelection(error)) throw error;
      // The fetch failed (refused, timed out, not 200, not a key set): the last set, if any.
      const last = this.remote.jwks();
      if (last === undefined)
        throw new AuthError(
          'jwks_unavailable',
          `the JSON Web Key Set at ${this.url.origin}${this.url.pathname} could not be fetched: ${describe(error)}`,
          { cause: error, retryable: true },
        );
      const set = createLocalJWKSet(last);
      this.stale = { set, until: this.now() + RETRY_AFTER_MS };
      return set(header, token);
    }
  };

  /** Whether the keys in use are the last ones fetched, kept because a refresh failed. */
  get usingStale(): boolean {
    return this.stale !== undefined && this.now() < this.stale.until;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const base = error instanceof Error ? error.message : String(error);
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is its cause.
  return cause instanceof Error ? `${base} (${cause.message})` : base;
}
