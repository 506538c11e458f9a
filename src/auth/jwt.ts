/**
 * Client JWTs checked with jose: the key (a shared secret, a PEM public key, a JWKS file or
 * URL) and the rules (algorithms, issuer, audience, required `exp`, clock skew, the user
 * claim) come from the configuration (`jwt*` settings), checked once at start-up.
 *
 * A refusal is an AuthError whose reason is one of a small fixed set (docs/security.md):
 * `bad_token` (not a well-formed JWT, or an algorithm not accepted, `none` included),
 * `bad_signature` (the signature does not verify, or no key of the set fits the token),
 * `expired`, `not_yet_valid`, `bad_claims` (issuer, audience, a missing or malformed `exp`,
 * the user claim) and `jwks_unavailable` (jwks.ts).
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  jwtVerify,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import { isLoopbackHost, type ResolvedConfig } from '../config/index.js';
import { RemoteKeys } from './jwks.js';
import { AuthError, MAX_CLAIMS_BYTES, MAX_USER_LENGTH, type Principal } from './principal.js';

/** The settings this module reads. */
export type JwtSettings = Pick<
  ResolvedConfig,
  | 'jwtSecret'
  | 'jwtPublicKeyFile'
  | 'jwtJwksFile'
  | 'jwtJwksUrl'
  | 'jwtJwksTimeout'
  | 'jwtAlgorithms'
  | 'jwtIssuer'
  | 'jwtAudience'
  | 'jwtClockSkew'
  | 'jwtUserClaim'
>;

/** The key sources, of which at most one may be set. */
export const KEY_SOURCES = ['jwtSecret', 'jwtPublicKeyFile', 'jwtJwksFile', 'jwtJwksUrl'] as const;

const HMAC = ['HS256', 'HS384', 'HS512'] as const;
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const EC = ['ES256', 'ES384', 'ES512'] as const;
const OKP = ['EdDSA', 'Ed25519'] as const;
/** Every algorithm `jwtAlgorithms` may name. */
export const KNOWN_ALGORITHMS: readonly string[] = [...HMAC, ...RSA, ...EC, ...OKP];
/** A JWKS's algorithms when `jwtAlgorithms` is empty. */
const JWKS_DEFAULT = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];
const EC_CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
/** Fewest bytes of an HS* secret (RFC 7518 §3.2: at least the size of the hash). */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Claims never handed on as `Principal.claims`: per-token bookkeeping that says nothing about
 * the user and changes with every token (so a resume with a fresh token would look different).
 */
export const DROPPED_CLAIMS: readonly string[] = ['iat', 'nbf', 'jti'];

/** A problem with the JWT settings: the setting, and what is wrong (never a secret). */
export interface JwtProblem {
  readonly key: keyof JwtSettings;
  readonly message: string;
}

type Key =
  KeyObject | ((header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>);

interface KeySource {
  readonly key: Key;
  /** Algorithms the key can verify, and those used when `jwtAlgorithms` is empty. */
  readonly possible: readonly string[];
  readonly defaults: readonly string[];
  readonly remote?: RemoteKeys;
}

/** Whether any `jwt*` key source is set. */
export function jwtConfigured(s: JwtSettings): boolean {
  return KEY_SOURCES.some((key) => s[key] !== '');
}

export class JwtVerifier {
  private constructor(
    private readonly key: Key,
    private readonly options: JWTVerifyOptions,
    private readonly userClaim: string,
    private readonly now: () => number,
    /** The remote key set, when the key comes from `jwtJwksUrl`. */
    readonly remote: RemoteKeys | undefined,
  ) {}

  /**
   * Builds the verifier from the settings, or answers every problem found. Reads the key
   * files (synchronously: it runs once, at start-up). Undefined verifier: no key source set.
   * `now`: the wall clock in ms that `exp` and `nbf` are checked against (tests).
   */
  static fromSettings(
    s: JwtSettings,
    options: { now?: () => number } = {},
  ): { verifier: JwtVerifier | undefined; problems: JwtProblem[] } {
    const problems: JwtProblem[] = [];
    const set = KEY_SOURCES.filter((key) => s[key] !== '');
    if (set.length === 0) {
      for (const key of ['jwtAlgorithms', 'jwtIssuer', 'jwtAudience'] as const)
        if (s[key] !== '')
          problems.push({
            key,
            message: `${key} is set but no JWT key is: set one of ${KEY_SOURCES.join(', ')}`,
          });
      return { verifier: undefined, problems };
    }
    if (set.length > 1) {
      problems.push({
        key: set[1]!,
        message: `set only one of ${KEY_SOURCES.join(', ')} (found ${set.join(' and ')})`,
      });
      return { verifier: undefined, problems };
    }
    const source = keySource(set[0]!, s, options.now, problems);
    const algorithms = source === undefined ? undefined : chooseAlgorithms(s, source, problems);
    if (algorithms !== undefined && s.jwtSecret !== '') {
      const need = Math.max(...algorithms.map((a) => HMAC_MIN_BYTES[a] ?? 0));
      const bytes = Buffer.byteLength(s.jwtSecret, 'utf8');
      if (bytes < need)
        problems.push({
          key: 'jwtSecret',
          message: `jwtSecret is ${bytes} bytes; ${algorithms.join(', ')} need at least ${need} (generate one with: openssl rand -base64 48)`,
        });
    }
    const audiences = list(s.jwtAudience);
    if (source === undefined || algorithms === undefined || problems.length > 0)
      return { verifier: undefined, problems };
    const verifyOptions: JWTVerifyOptions = {
      algorithms: [...algorithms],
      requiredClaims: ['exp'],
      clockTolerance: s.jwtClockSkew / 1000,
      ...(s.jwtIssuer === '' ? {} : { issuer: s.jwtIssuer }),
      ...(audiences.length === 0 ? {} : { audience: audiences }),
    };
    const now = options.now ?? Date.now;
    return {
      verifier: new JwtVerifier(source.key, verifyOptions, s.jwtUserClaim, now, source.remote),
      problems,
    };
  }

  /** The algorithms accepted. */
  get algorithms(): readonly string[] {
    return this.options.algorithms ?? [];
  }

  /**
   * Verifies `token` and answers the principal it names.
   * @throws AuthError with one of the reasons of this module.
   */
  async verify(token: string): Promise<Principal> {
    const options: JWTVerifyOptions = { ...this.options, currentDate: new Date(this.now()) };
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, this.key, options)).payload;
    } catch (error) {
      if (codeOf(error) !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw toAuthError(error);
      payload = await this.verifyWithEach(token, error, options);
    }
    return principalOf(payload, this.userClaim);
  }

  /**
   * Several keys of the set fit the token (no `kid`, or one shared by several keys): each is
   * tried in turn (jose leaves this to the caller); the set is bounded by the provider.
   */
  private async verifyWithEach(
    token: string,
    error: unknown,
    options: JWTVerifyOptions,
  ): Promise<JWTPayload> {
    let last: unknown = error;
    for await (const key of error as AsyncIterable<CryptoKey>) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (e) {
        if (codeOf(e) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw toAuthError(e);
        last = e;
      }
    }
    throw toAuthError(last);
  }
}

function keySource(
  which: (typeof KEY_SOURCES)[number],
  s: JwtSettings,
  now: (() => number) | undefined,
  problems: JwtProblem[],
): KeySource | undefined {
  switch (which) {
    case 'jwtSecret':
      return {
        key: createSecretKey(Buffer.from(s.jwtSecret, 'utf8')),
        possible: HMAC,
        defaults: ['HS256'],
      };
    case 'jwtPublicKeyFile':
      return pemKey(s.jwtPublicKeyFile, problems);
    case 'jwtJwksFile':
      return jwksFileKey(s.jwtJwksFile, problems);
    case 'jwtJwksUrl': {
      const url = new URL(s.jwtJwksUrl);
      if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
        problems.push({
          key: 'jwtJwksUrl',
          message: `jwtJwksUrl must be https:// (http:// only on a loopback host): whoever can change the key set in transit can sign any user's token`,
        });
        return undefined;
      }
      const remote = new RemoteKeys(url, {
        timeoutMs: s.jwtJwksTimeout,
        ...(now === undefined ? {} : { now }),
      });
      return { key: remote.key, possible: [...RSA, ...EC, ...OKP], defaults: JWKS_DEFAULT, remote };
    }
  }
}

function readKeyFile(
  key: keyof JwtSettings,
  path: string,
  problems: JwtProblem[],
): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push({ key, message: `cannot read ${key} ${JSON.stringify(path)} (${code})` });
    return undefined;
  }
}

function pemKey(path: string, problems: JwtProblem[]): KeySource | undefined {
  const text = readKeyFile('jwtPublicKeyFile', path, problems);
  if (text === undefined) return undefined;
  const where = `jwtPublicKeyFile ${JSON.stringify(path)}`;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    problems.push({
      key: 'jwtPublicKeyFile',
      message: `${where} holds a private key: give the gateway the public key only (openssl pkey -in key.pem -pubout)`,
    });
    return undefined;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    problems.push({
      key: 'jwtPublicKeyFile',
      message: `${where} is not a PEM public key (-----BEGIN PUBLIC KEY-----)`,
    });
    return undefined;
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048) {
        problems.push({
          key: 'jwtPublicKeyFile',
          message: `${where} is a ${bits}-bit RSA key; RS256 needs at least 2048 bits`,
        });
        return undefined;
      }
      const possible =
        key.asymmetricKeyType === 'rsa' ? RSA : RSA.filter((a) => a.startsWith('PS'));
      return { key, possible, defaults: possible.slice(0, 1) };
    }
    case 'ed25519':
      return { key, possible: OKP, defaults: OKP };
    case 'ec': {
      const alg = EC_CURVES[details.namedCurve ?? ''];
      if (alg !== undefined) return { key, possible: [alg], defaults: [alg] };
      break;
    }
  }
  problems.push({
    key: 'jwtPublicKeyFile',
    message: `${where} is a ${key.asymmetricKeyType ?? 'unknown'} key${details.namedCurve === undefined ? '' : ` on ${details.namedCurve}`}; supported: RSA (2048 bits or more), Ed25519, EC P-256, P-384, P-521`,
  });
  return undefined;
}

function jwksFileKey(path: string, problems: JwtProblem[]): KeySource | undefined {
  const text = readKeyFile('jwtJwksFile', path, problems);
  if (text === undefined) return undefined;
  const where = `jwtJwksFile ${JSON.stringify(path)}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the fault: a private key must not reach the log.
    problems.push({ key: 'jwtJwksFile', message: `${where} is not valid JSON` });
    return undefined;
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isObject)) {
    problems.push({
      key: 'jwtJwksFile',
      message: `${where} is not a JSON Web Key Set: expected {"keys": [...]} with at least one key`,
    });
    return undefined;
  }
  const secretIndex = keys.findIndex((k) => 'd' in k || k.kty === 'oct');
  if (secretIndex !== -1) {
    problems.push({
      key: 'jwtJwksFile',
      message: `${where} key ${secretIndex + 1} is a private or secret key: a key set for verifying holds public keys only`,
    });
    return undefined;
  }
  let set: ReturnType<typeof createLocalJWKSet>;
  try {
    set = createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0]);
  } catch (error) {
    problems.push({
      key: 'jwtJwksFile',
      message: `${where}: ${error instanceof Error ? error.message : String(error)}`,
    });
    return undefined;
  }
  return { key: set, possible: [...RSA, ...EC, ...OKP], defaults: JWKS_DEFAULT };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function chooseAlgorithms(
  s: JwtSettings,
  source: KeySource,
  problems: JwtProblem[],
): readonly string[] | undefined {
  const named = list(s.jwtAlgorithms);
  if (named.length === 0) return source.defaults;
  const bad: string[] = [];
  for (const alg of named) {
    if (alg.toLowerCase() === 'none') {
      problems.push({
        key: 'jwtAlgorithms',
        message: 'jwtAlgorithms must not name "none": an unsigned token proves nothing',
      });
    } else if (!KNOWN_ALGORITHMS.includes(alg)) {
      bad.push(alg);
    } else if (!source.possible.includes(alg)) {
      problems.push({
        key: 'jwtAlgorithms',
        message: `jwtAlgorithms names ${alg}, which the configured key cannot verify (it can: ${source.possible.join(', ')})`,
      });
    }
  }
  if (bad.length > 0)
    problems.push({
      key: 'jwtAlgorithms',
      message: `jwtAlgorithms names unknown algorithm${bad.length === 1 ? '' : 's'} ${bad.map((a) => JSON.stringify(a.slice(0, 20))).join(', ')}; known: ${KNOWN_ALGORITHMS.join(', ')}`,
    });
  return [...new Set(named)];
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A jose error as the AuthError a refusal carries; other errors (bugs) pass unchanged. */
export function toAuthError(error: unknown): unknown {
  if (error instanceof AuthError) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const refuse = (reason: string) =>
    new AuthError(reason, `JWT refused (${reason}): ${message}`, { cause: error });
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refuse('expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return refuse(
        (error as { claim?: unknown }).claim === 'nbf' ? 'not_yet_valid' : 'bad_claims',
      );
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refuse('bad_signature');
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return refuse('bad_token');
    default:
      return code?.startsWith('ERR_J') === true ? refuse('bad_token') : error;
  }
}

/**
 * The principal a verified payload names: `user` from the user claim, and as `claims` every
 * claim but `DROPPED_CLAIMS`, within `MAX_CLAIMS_BYTES` (the largest claims are left out
 * first until the rest fits).
 */
export function principalOf(payload: JWTPayload, userClaim: string): Principal {
  const user = Object.hasOwn(payload, userClaim) ? payload[userClaim] : undefined;
  if (typeof user !== 'string' || user === '' || user.length > MAX_USER_LENGTH)
    throw new AuthError(
      'bad_claims',
      `the JWT's ${userClaim} claim is ${user === undefined ? 'missing' : `not a string of 1 to ${MAX_USER_LENGTH} characters`}`,
    );
  const claims = boundedClaims(payload);
  return claims === undefined ? { user } : { user, claims };
}

/** The claims to hand on, at most `MAX_CLAIMS_BYTES` of JSON; undefined if none are left. */
export function boundedClaims(payload: JWTPayload): Record<string, unknown> | undefined {
  const entries = Object.entries(payload)
    .filter(([name]) => !DROPPED_CLAIMS.includes(name))
    .map(([name, value]) => ({
      name,
      value,
      bytes: Buffer.byteLength(JSON.stringify({ [name]: value })),
    }));
  // Largest first, then by name, so that what is left out does not depend on claim order.
  const bySize = [...entries].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
  const kept = new Set(entries.map((e) => e.name));
  const size = () =>
    Buffer.byteLength(
      JSON.stringify(
        Object.fromEntries(entries.filter((e) => kept.has(e.name)).map((e) => [e.name, e.value])),
      ),
    );
  for (const e of bySize) {
    if (size() <= MAX_CLAIMS_BYTES) break;
    kept.delete(e.name);
  }
  if (kept.size === 0) return undefined;
  return Object.fromEntries(entries.filter((e) => kept.has(e.name)).map((e) => [e.name, e.value]));
}
