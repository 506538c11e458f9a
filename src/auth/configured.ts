/**
 * The gateway's authentication built from the configuration, so that `resilient-ws serve`
 * authenticates clients with no code (docs/security.md, "Authentication"):
 *
 * - static tokens (`tokens`, `tokensFile`), compared in constant time;
 * - JWTs (`jwtSecret`, `jwtPublicKeyFile`, `jwtJwksFile` or `jwtJwksUrl`, and the `jwt*` rules).
 *
 * With both, a presented token is first looked up among the static tokens, then verified as
 * a JWT (a token that is neither is refused as the JWT check refuses it: `bad_token`).
 * With neither, there is no authentication (undefined). A library user's own `authenticate`
 * option replaces all of this (createServer).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem, type ResolvedConfig } from '../config/index.js';
import type { HelloFrame } from '../protocol/index.js';
import { JwtVerifier, jwtConfigured, type JwtSettings } from './jwt.js';
import {
  AuthError,
  presentedToken,
  type AuthRequest,
  type Authenticate,
  type Principal,
} from './principal.js';
import {
  StaticTokens,
  duplicateProblems,
  parseTokenFile,
  parseTokenList,
  type TokenEntry,
} from './static-tokens.js';

/** Most characters of a presented token that is checked at all (a static token or a JWT). */
export const MAX_PRESENTED_TOKEN_LENGTH = 16 * 1024;

/** Every reason a configured authenticator refuses with (`rws_auth_failures_total{reason}`). */
export const AUTH_FAILURE_REASONS = [
  'missing_token',
  'bad_token',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'bad_claims',
  'jwks_unavailable',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type AuthSettings = Pick<ResolvedConfig, 'tokens' | 'tokensFile'> & JwtSettings;

export interface ConfiguredAuthOptions {
  /** Wall clock in ms that JWT times are checked against (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** What the configuration builds: the hook, and its parts (for tests and diagnostics). */
export interface ConfiguredAuth {
  readonly authenticate: Authenticate;
  readonly tokens: StaticTokens | undefined;
  readonly jwt: JwtVerifier | undefined;
}

/**
 * Builds the authentication the settings describe, or undefined when they describe none.
 * Reads `tokensFile` and the key files.
 * @throws ConfigError naming each problem (the setting, and the entry or line; never a token
 *   or a secret).
 */
export function configuredAuth(
  settings: AuthSettings,
  options: ConfiguredAuthOptions = {},
): ConfiguredAuth | undefined {
  const problems: ConfigProblem[] = [];
  const entries = tokenEntries(settings, problems);
  const { verifier, problems: jwtProblems } = JwtVerifier.fromSettings(settings, options);
  for (const p of jwtProblems)
    problems.push({ message: p.message, key: p.key, source: `setting ${p.key}` });
  if (problems.length > 0) throw new ConfigError(problems);
  const tokens = entries === undefined ? undefined : new StaticTokens(entries);
  if (tokens === undefined && verifier === undefined) return undefined;
  return { authenticate: combine(tokens, verifier), tokens, jwt: verifier };
}

/** The `Authenticate` hook the settings describe, or undefined (see configuredAuth). */
export function authenticatorFromConfig(
  settings: AuthSettings,
  options: ConfiguredAuthOptions = {},
): Authenticate | undefined {
  return configuredAuth(settings, options)?.authenticate;
}

/** Whether the settings ask for authentication at all (without reading any file). */
export function authConfigured(settings: AuthSettings): boolean {
  return settings.tokens !== '' || settings.tokensFile !== '' || jwtConfigured(settings);
}

function tokenEntries(s: AuthSettings, problems: ConfigProblem[]): TokenEntry[] | undefined {
  if (s.tokens === '' && s.tokensFile === '') return undefined;
  const fromList = parseTokenList(s.tokens);
  for (const message of fromList.problems)
    problems.push({
      message: `invalid ${message}`,
      key: 'tokens',
      source: 'setting tokens',
      value: '<redacted>',
    });
  const entries = [...fromList.entries];
  if (s.tokensFile !== '') {
    const label = `tokensFile ${JSON.stringify(s.tokensFile)}`;
    let text: string | undefined;
    try {
      text = readFileSync(s.tokensFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      problems.push({
        message: `cannot read ${label} (${code})`,
        key: 'tokensFile',
        source: label,
      });
    }
    if (text !== undefined) {
      const fromFile = parseTokenFile(text, label);
      for (const message of fromFile.problems)
        problems.push({
          message: `invalid ${message}`,
          key: 'tokensFile',
          source: label,
          value: '<redacted>',
        });
      if (fromFile.entries.length === 0 && fromFile.problems.length === 0)
        problems.push({
          message: `${label} holds no user:token line (every client would be refused)`,
          key: 'tokensFile',
          source: label,
        });
      entries.push(...fromFile.entries);
    }
  }
  for (const { entry, message } of duplicateProblems(entries)) {
    const key = entry.where.startsWith('tokensFile') ? 'tokensFile' : 'tokens';
    const source =
      key === 'tokens' ? 'setting tokens' : `tokensFile ${JSON.stringify(s.tokensFile)}`;
    problems.push({ message: `invalid ${message}`, key, source, value: '<redacted>' });
  }
  return entries;
}

function combine(tokens: StaticTokens | undefined, jwt: JwtVerifier | undefined): Authenticate {
  return async (hello: HelloFrame, request: AuthRequest): Promise<Principal> => {
    const token = presentedToken(hello, request);
    if (token === undefined || token === '')
      throw new AuthError('missing_token', 'no token was presented');
    if (token.length > MAX_PRESENTED_TOKEN_LENGTH)
      throw new AuthError(
        'bad_token',
        `the token is longer than ${MAX_PRESENTED_TOKEN_LENGTH} characters`,
      );
    const user = tokens?.match(token);
    if (user !== undefined) return { user };
    if (jwt !== undefined) return jwt.verify(token);
    throw new AuthError('bad_token', 'not a known token');
  };
}
