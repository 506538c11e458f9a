/**
 * The authenticator the configuration builds: static tokens, JWTs, both, neither; where the
 * token comes from; ConfigErrors that name the setting and the line without the token; and
 * the secrets kept out of `resilient-ws config`.
 */
import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  formatConfig,
  isConfigError,
  resolveConfig,
  type ConfigOverrides,
} from '../config/index.js';
import type { HelloFrame } from '../protocol/index.js';
import {
  AUTH_FAILURE_REASONS,
  authConfigured,
  authenticatorFromConfig,
  configuredAuth,
} from './configured.js';
import { REQUEST, refusal, settings, tempFile, thrownText } from './test-support/helpers.js';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

const hello = (token?: string): HelloFrame =>
  token === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, token };

function auth(overrides: ConfigOverrides) {
  const a = authenticatorFromConfig(settings(overrides));
  if (a === undefined) throw new Error('expected an authenticator');
  return a;
}

function jwt(sub: string, secret = SECRET): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
}

describe('no authentication configured', () => {
  it('builds nothing (every hello accepted, as before)', () => {
    expect(authConfigured(settings({}))).toBe(false);
    expect(authenticatorFromConfig(settings({}))).toBeUndefined();
  });
});

describe('static tokens', () => {
  it('answers the user of a token from hello.token, or from Authorization: Bearer', async () => {
    const a = auth({ tokens: `alice:${ALICE},bob:${BOB}` });
    expect(await a(hello(ALICE), REQUEST)).toEqual({ user: 'alice' });
    expect(await a(hello(), { ...REQUEST, headers: { authorization: `Bearer ${BOB}` } })).toEqual({
      user: 'bob',
    });
    // hello.token wins over the header.
    const both = { ...REQUEST, headers: { authorization: `Bearer ${BOB}` } };
    expect(await a(hello(ALICE), both)).toEqual({ user: 'alice' });
  });

  it('refuses a missing token (missing_token) and an unknown one (bad_token)', async () => {
    const a = auth({ tokens: `alice:${ALICE}` });
    expect(await refusal(Promise.resolve().then(() => a(hello(), REQUEST)))).toBe('missing_token');
    expect(await refusal(Promise.resolve().then(() => a(hello(''), REQUEST)))).toBe(
      'missing_token',
    );
    expect(await refusal(Promise.resolve().then(() => a(hello(BOB), REQUEST)))).toBe('bad_token');
    const basic = { ...REQUEST, headers: { authorization: `Basic ${ALICE}` } };
    expect(await refusal(Promise.resolve().then(() => a(hello(), basic)))).toBe('missing_token');
    const huge = 'x'.repeat(16 * 1024 + 1);
    expect(await refusal(Promise.resolve().then(() => a(hello(huge), REQUEST)))).toBe('bad_token');
  });

  it('reads tokensFile together with tokens', async () => {
    const file = tempFile('tokens', `# users\nbob:${BOB}\n`);
    const a = auth({ tokens: `alice:${ALICE}`, tokensFile: file });
    expect(await a(hello(ALICE), REQUEST)).toEqual({ user: 'alice' });
    expect(await a(hello(BOB), REQUEST)).toEqual({ user: 'bob' });
  });

  it('refuses malformed tokens with a ConfigError naming the setting and entry, never the token', () => {
    let error: unknown;
    try {
      configuredAuth(settings({ tokens: `alice:${ALICE},${BOB},carol:short-Zq` }));
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    const text = thrownText(() => {
      throw error;
    });
    expect(text).toContain('invalid tokens entry 2: expected user:token (no ":" found)');
    expect(text).toContain('invalid tokens entry 3: the token is shorter than 16 characters');
    expect(text).not.toContain(BOB);
    expect(text).not.toContain('short-Zq');
    expect(text).not.toContain(ALICE);
  });

  it('names the tokensFile line, a missing file, an empty file and a token given twice', () => {
    const file = tempFile('tokens', `alice:${ALICE}\n\nbob ${BOB}\ncarol:${ALICE}\n`);
    const text = thrownText(() => configuredAuth(settings({ tokensFile: file })));
    expect(text).toContain(`invalid tokensFile "${file}" line 3: expected user:token`);
    expect(text).toContain(
      `invalid tokensFile "${file}" line 4: the same token as tokensFile "${file}" line 1`,
    );
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(BOB);
    expect(thrownText(() => configuredAuth(settings({ tokensFile: '/nonexistent/t' })))).toContain(
      'cannot read tokensFile "/nonexistent/t" (ENOENT)',
    );
    const empty = tempFile('empty', '# nobody yet\n');
    expect(thrownText(() => configuredAuth(settings({ tokensFile: empty })))).toContain(
      'holds no user:token line',
    );
  });
});

describe('JWT', () => {
  it('verifies a JWT alone (any token goes to the verifier)', async () => {
    const a = auth({ jwtSecret: SECRET });
    expect(await a(hello(await jwt('carol')), REQUEST)).toMatchObject({ user: 'carol' });
    expect(await refusal(Promise.resolve().then(() => a(hello('not-a-jwt'), REQUEST)))).toBe(
      'bad_token',
    );
  });

  it('with static tokens too: a known token first, then a JWT-shaped one as a JWT', async () => {
    const a = auth({ tokens: `alice:${ALICE}`, jwtSecret: SECRET });
    expect(await a(hello(ALICE), REQUEST)).toEqual({ user: 'alice' });
    expect(await a(hello(await jwt('carol')), REQUEST)).toMatchObject({ user: 'carol' });
    const bearer = { ...REQUEST, headers: { authorization: `bearer ${await jwt('dave')}` } };
    expect(await a(hello(), bearer)).toMatchObject({ user: 'dave' });
    expect(await refusal(Promise.resolve().then(() => a(hello(BOB), REQUEST)))).toBe('bad_token');
    const forged = await jwt('mallory', `${SECRET}-not-ours`);
    expect(await refusal(Promise.resolve().then(() => a(hello(forged), REQUEST)))).toBe(
      'bad_signature',
    );
  });

  it('reports every problem of the settings in one ConfigError', () => {
    const text = thrownText(() =>
      configuredAuth(settings({ tokens: 'nocolon-0123456789abc', jwtSecret: 'short' })),
    );
    expect(text).toContain('invalid configuration (2 problems)');
    expect(text).toContain('tokens entry 1');
    expect(text).toContain('jwtSecret is 5 bytes');
    expect(text).not.toContain('nocolon');
  });
});

describe('secrets stay out of resilient-ws config and errors', () => {
  it('shows tokens and jwtSecret only as <set>', () => {
    const out = formatConfig(
      resolveConfig({
        env: { RWS_TOKENS: `alice:${ALICE}`, RWS_JWT_SECRET: SECRET },
        argv: [],
      }),
    );
    expect(out).toContain('tokens = <set> (env)');
    expect(out).toContain('jwtSecret = <set> (env)');
    expect(out).not.toContain(ALICE);
    expect(out).not.toContain(SECRET);
  });

  it('does not echo a refused token list or secret (outer spaces)', () => {
    const text = thrownText(() =>
      resolveConfig({ env: { RWS_TOKENS: ` alice:${ALICE}`, RWS_JWT_SECRET: ` ${SECRET}` } }),
    );
    expect(text).toContain('invalid tokens <redacted>');
    expect(text).toContain('invalid jwtSecret <redacted>');
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(SECRET);
  });
});

describe('docs/security.md', () => {
  it('lists exactly the reasons the configured check refuses with', () => {
    const md = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
    const section = md.slice(md.indexOf('## Authentication'));
    const table = section.slice(0, section.indexOf('### '));
    const documented = [...table.matchAll(/^\| `([a-z_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...AUTH_FAILURE_REASONS]);
  });
});
