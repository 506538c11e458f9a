/**
 * JWT checks against real keys made here (jose's generateKeyPair and SignJWT): HS256, RS256,
 * EdDSA, a JWKS file; each wrong token refused with its reason. The remote JWKS is in
 * jwks.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  SignJWT,
  UnsecuredJWT,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type GenerateKeyPairResult,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConfigOverrides } from '../config/index.js';
import { JwtVerifier, boundedClaims, principalOf } from './jwt.js';
import { MAX_CLAIMS_BYTES } from './principal.js';
import { refusal, settings, tempFile, thrownText } from './test-support/helpers.js';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const NOW_S = 1_800_000_000;
const now = () => NOW_S * 1000;
const encoder = new TextEncoder();

function verifier(overrides: ConfigOverrides): JwtVerifier {
  const { verifier, problems } = JwtVerifier.fromSettings(settings(overrides), { now });
  expect(problems).toEqual([]);
  return verifier!;
}

function problemsOf(overrides: ConfigOverrides): string[] {
  return JwtVerifier.fromSettings(settings(overrides), { now }).problems.map(
    (p) => `${p.key}: ${p.message}`,
  );
}

interface Sign {
  alg?: string;
  kid?: string;
  exp?: number | null;
  nbf?: number;
  key?: CryptoKey | Uint8Array;
}

let rsa: GenerateKeyPairResult;
let ed: GenerateKeyPairResult;

/** A token of `claims` (sub alice by default), exp in 60 s, signed HS256 with SECRET. */
function sign(claims: Record<string, unknown> = {}, o: Sign = {}): Promise<string> {
  const alg = o.alg ?? 'HS256';
  const jwt = new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg, ...(o.kid === undefined ? {} : { kid: o.kid }) })
    .setIssuedAt(NOW_S - 5);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? NOW_S + 60);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(o.key ?? encoder.encode(SECRET));
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
});

describe('HS256 with jwtSecret', () => {
  it('accepts a valid token: user from sub, claims without iat/nbf/jti', async () => {
    const v = verifier({ jwtSecret: SECRET });
    expect(v.algorithms).toEqual(['HS256']);
    const token = await sign({ role: 'admin', jti: 'id-1' }, { nbf: NOW_S - 10 });
    expect(await v.verify(token)).toEqual({
      user: 'alice',
      claims: { sub: 'alice', role: 'admin', exp: NOW_S + 60 },
    });
  });

  it('takes the user from jwtUserClaim', async () => {
    const v = verifier({ jwtSecret: SECRET, jwtUserClaim: 'email' });
    expect((await v.verify(await sign({ email: 'a@example.com' }))).user).toBe('a@example.com');
    expect(await refusal(v.verify(await sign()))).toBe('bad_claims');
    expect(await refusal(v.verify(await sign({ email: 42 })))).toBe('bad_claims');
  });

  it('refuses a token whose user claim is missing, empty or too long', async () => {
    const v = verifier({ jwtSecret: SECRET });
    for (const sub of [undefined, '', 'x'.repeat(257)])
      expect(await refusal(v.verify(await sign({ sub })))).toBe('bad_claims');
  });

  it('refuses another secret with bad_signature', async () => {
    const v = verifier({ jwtSecret: SECRET });
    const token = await sign({}, { key: encoder.encode(`${SECRET}-other`) });
    expect(await refusal(v.verify(token))).toBe('bad_signature');
  });

  it('refuses an expired token (expired), accepting one within jwtClockSkew', async () => {
    const v = verifier({ jwtSecret: SECRET, jwtClockSkew: '30s' });
    expect(await refusal(v.verify(await sign({}, { exp: NOW_S - 31 })))).toBe('expired');
    expect((await v.verify(await sign({}, { exp: NOW_S - 29 }))).user).toBe('alice');
    const strict = verifier({ jwtSecret: SECRET, jwtClockSkew: 0 });
    expect(await refusal(strict.verify(await sign({}, { exp: NOW_S - 1 })))).toBe('expired');
  });

  it('refuses a token not valid yet (not_yet_valid), beyond the skew', async () => {
    const v = verifier({ jwtSecret: SECRET });
    expect(await refusal(v.verify(await sign({}, { nbf: NOW_S + 31 })))).toBe('not_yet_valid');
    expect((await v.verify(await sign({}, { nbf: NOW_S + 29 }))).user).toBe('alice');
  });

  it('requires exp (bad_claims), also a numeric one', async () => {
    const v = verifier({ jwtSecret: SECRET });
    expect(await refusal(v.verify(await sign({}, { exp: null })))).toBe('bad_claims');
    expect(await refusal(v.verify(await sign({ exp: 'tomorrow' }, { exp: null })))).toBe(
      'bad_claims',
    );
  });

  it('checks the issuer and the audience (any of the list) with bad_claims', async () => {
    const v = verifier({
      jwtSecret: SECRET,
      jwtIssuer: 'https://idp.example.com/',
      jwtAudience: 'chat, notifications',
    });
    const ok = { iss: 'https://idp.example.com/', aud: ['billing', 'notifications'] };
    expect((await v.verify(await sign(ok))).user).toBe('alice');
    expect(await refusal(v.verify(await sign({ ...ok, iss: 'https://evil.example.com/' })))).toBe(
      'bad_claims',
    );
    expect(await refusal(v.verify(await sign({ ...ok, iss: undefined })))).toBe('bad_claims');
    expect(await refusal(v.verify(await sign({ ...ok, aud: 'billing' })))).toBe('bad_claims');
    expect(await refusal(v.verify(await sign({ ...ok, aud: undefined })))).toBe('bad_claims');
  });

  it('refuses alg none, and an algorithm not in the list, with bad_token', async () => {
    const v = verifier({ jwtSecret: SECRET });
    const none = new UnsecuredJWT({ sub: 'alice' }).setExpirationTime(NOW_S + 60).encode();
    expect(await refusal(v.verify(none))).toBe('bad_token');
    const hs512 = await sign({}, { alg: 'HS512', key: encoder.encode(SECRET.repeat(2)) });
    expect(await refusal(v.verify(hs512))).toBe('bad_token');
  });

  it('refuses what is not a JWT with bad_token', async () => {
    const v = verifier({ jwtSecret: SECRET });
    for (const token of ['abc', 'a.b.c', 'e30.e30.', `${(await sign()).split('.')[0]}.!!.x`])
      expect(await refusal(v.verify(token)), token).toBe('bad_token');
  });

  it('accepts HS512 only when named and the secret is long enough for it', async () => {
    expect(problemsOf({ jwtSecret: SECRET, jwtAlgorithms: 'HS256,HS512' })).toEqual([
      `jwtSecret: jwtSecret is ${SECRET.length} bytes; HS256, HS512 need at least 64 (generate one with: openssl rand -base64 48)`,
    ]);
    const long = SECRET.repeat(2);
    const v = verifier({ jwtSecret: long, jwtAlgorithms: 'HS512' });
    expect((await v.verify(await sign({}, { alg: 'HS512', key: encoder.encode(long) }))).user).toBe(
      'alice',
    );
  });
});

describe('RS256 and EdDSA with jwtPublicKeyFile', () => {
  it('RS256: accepts the key pair, refuses another RSA key (bad_signature) and another alg', async () => {
    const v = verifier({ jwtPublicKeyFile: tempFile('rsa.pem', await exportSPKI(rsa.publicKey)) });
    expect(v.algorithms).toEqual(['RS256']);
    expect((await v.verify(await sign({}, { alg: 'RS256', key: rsa.privateKey }))).user).toBe(
      'alice',
    );
    const other = await generateKeyPair('RS256');
    expect(await refusal(v.verify(await sign({}, { alg: 'RS256', key: other.privateKey })))).toBe(
      'bad_signature',
    );
    expect(await refusal(v.verify(await sign({}, { alg: 'EdDSA', key: ed.privateKey })))).toBe(
      'bad_token',
    );
    // Algorithm confusion: an HS256 token whose "secret" is the public key's PEM text.
    const pem = encoder.encode(await exportSPKI(rsa.publicKey));
    expect(await refusal(v.verify(await sign({}, { alg: 'HS256', key: pem })))).toBe('bad_token');
  });

  it('EdDSA (Ed25519): accepts the key pair, refuses another key', async () => {
    const v = verifier({ jwtPublicKeyFile: tempFile('ed.pem', await exportSPKI(ed.publicKey)) });
    expect(v.algorithms).toEqual(['EdDSA', 'Ed25519']);
    expect((await v.verify(await sign({}, { alg: 'EdDSA', key: ed.privateKey }))).user).toBe(
      'alice',
    );
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    expect(await refusal(v.verify(await sign({}, { alg: 'EdDSA', key: other.privateKey })))).toBe(
      'bad_signature',
    );
  });

  it('refuses, at start-up, a private key, a non-key, a short RSA key and a mismatched algorithm', async () => {
    const privatePem = await exportPKCS8(rsa.privateKey);
    const text = thrownText(() => {
      throw new Error(
        problemsOf({ jwtPublicKeyFile: tempFile('private.pem', privatePem) }).join('\n'),
      );
    });
    expect(text).toContain('holds a private key: give the gateway the public key only');
    expect(text).not.toContain(privatePem.split('\n')[1]!.slice(0, 20));
    expect(problemsOf({ jwtPublicKeyFile: tempFile('x.pem', 'hello') })).toEqual([
      expect.stringContaining('is not a PEM public key'),
    ]);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(problemsOf({ jwtPublicKeyFile: tempFile('weak.pem', weak.toString()) })).toEqual([
      expect.stringContaining('is a 1024-bit RSA key; RS256 needs at least 2048 bits'),
    ]);
    const edPem = tempFile('ed.pem', await exportSPKI(ed.publicKey));
    expect(problemsOf({ jwtPublicKeyFile: edPem, jwtAlgorithms: 'RS256' })).toEqual([
      'jwtAlgorithms: jwtAlgorithms names RS256, which the configured key cannot verify (it can: EdDSA, Ed25519)',
    ]);
    expect(problemsOf({ jwtPublicKeyFile: '/nonexistent/key.pem' })).toEqual([
      'jwtPublicKeyFile: cannot read jwtPublicKeyFile "/nonexistent/key.pem" (ENOENT)',
    ]);
  });
});

describe('a JWKS file', () => {
  it('picks the key by kid; an unknown kid or a key not in the set is bad_signature', async () => {
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ed.publicKey)), kid: 'e1' },
    ];
    const v = verifier({ jwtJwksFile: tempFile('jwks.json', JSON.stringify({ keys })) });
    expect(v.algorithms).toEqual(['RS256', 'ES256', 'EdDSA', 'Ed25519']);
    const rs = await sign({}, { alg: 'RS256', kid: 'r1', key: rsa.privateKey });
    const es = await sign({ sub: 'bob' }, { alg: 'EdDSA', kid: 'e1', key: ed.privateKey });
    expect((await v.verify(rs)).user).toBe('alice');
    expect((await v.verify(es)).user).toBe('bob');
    const unknownKid = await sign({}, { alg: 'RS256', kid: 'r2', key: rsa.privateKey });
    expect(await refusal(v.verify(unknownKid))).toBe('bad_signature');
    const other = await generateKeyPair('RS256');
    const forged = await sign({}, { alg: 'RS256', kid: 'r1', key: other.privateKey });
    expect(await refusal(v.verify(forged))).toBe('bad_signature');
    // A JWKS never verifies HS256, whatever the header claims.
    expect(await refusal(v.verify(await sign({}, { kid: 'r1' })))).toBe('bad_token');
  });

  it('tries each key that fits a token without kid', async () => {
    const older = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const keys = [await exportJWK(older.publicKey), await exportJWK(ed.publicKey)];
    const v = verifier({ jwtJwksFile: tempFile('jwks.json', JSON.stringify({ keys })) });
    expect((await v.verify(await sign({}, { alg: 'EdDSA', key: ed.privateKey }))).user).toBe(
      'alice',
    );
    expect((await v.verify(await sign({}, { alg: 'EdDSA', key: older.privateKey }))).user).toBe(
      'alice',
    );
    const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    expect(await refusal(v.verify(await sign({}, { alg: 'EdDSA', key: other.privateKey })))).toBe(
      'bad_signature',
    );
  });

  it('refuses, at start-up, a set with a private key, invalid JSON (not quoted) or no keys', async () => {
    const priv = await exportJWK(ed.privateKey);
    expect(
      problemsOf({ jwtJwksFile: tempFile('p.json', JSON.stringify({ keys: [priv] })) }),
    ).toEqual([expect.stringContaining('key 1 is a private or secret key')]);
    const leaky = problemsOf({ jwtJwksFile: tempFile('j.json', `{"keys": [{"d": 'SECRETD'}]}`) });
    expect(leaky).toEqual([expect.stringContaining('is not valid JSON')]);
    expect(leaky.join()).not.toContain('SECRETD');
    expect(problemsOf({ jwtJwksFile: tempFile('e.json', '{"keys": []}') })).toEqual([
      expect.stringContaining('is not a JSON Web Key Set'),
    ]);
  });
});

describe('JWT settings checked at start-up', () => {
  it('allows one key source only', () => {
    expect(problemsOf({ jwtSecret: SECRET, jwtJwksUrl: 'https://idp.example.com/jwks' })).toEqual([
      'jwtJwksUrl: set only one of jwtSecret, jwtPublicKeyFile, jwtJwksFile, jwtJwksUrl (found jwtSecret and jwtJwksUrl)',
    ]);
  });

  it('refuses rules without a key (a typo in the key setting would turn checks off)', () => {
    expect(problemsOf({ jwtIssuer: 'https://idp/', jwtAudience: 'chat' })).toEqual([
      'jwtIssuer: jwtIssuer is set but no JWT key is: set one of jwtSecret, jwtPublicKeyFile, jwtJwksFile, jwtJwksUrl',
      'jwtAudience: jwtAudience is set but no JWT key is: set one of jwtSecret, jwtPublicKeyFile, jwtJwksFile, jwtJwksUrl',
    ]);
  });

  it('never accepts none, names unknown algorithms, and keeps HS* to the secret', () => {
    expect(problemsOf({ jwtSecret: SECRET, jwtAlgorithms: 'HS256,none,HS257' })).toEqual([
      'jwtAlgorithms: jwtAlgorithms must not name "none": an unsigned token proves nothing',
      'jwtAlgorithms: jwtAlgorithms names unknown algorithm "HS257"; known: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519',
    ]);
    expect(problemsOf({ jwtSecret: SECRET, jwtAlgorithms: 'RS256' })).toEqual([
      expect.stringContaining('names RS256, which the configured key cannot verify'),
    ]);
  });

  it('refuses a short secret without printing it', () => {
    const problems = problemsOf({ jwtSecret: 'too-short-secret' });
    expect(problems).toEqual([
      'jwtSecret: jwtSecret is 16 bytes; HS256 need at least 32 (generate one with: openssl rand -base64 48)',
    ]);
  });

  it('refuses a plain-http JWKS URL except on loopback', () => {
    expect(problemsOf({ jwtJwksUrl: 'http://idp.example.com/jwks' })).toEqual([
      expect.stringContaining('jwtJwksUrl must be https://'),
    ]);
    expect(problemsOf({ jwtJwksUrl: 'http://127.0.0.1:9/jwks' })).toEqual([]);
    expect(problemsOf({ jwtJwksUrl: 'http://[::1]:9/jwks' })).toEqual([]);
  });
});

describe('claims handed on', () => {
  it('drops iat, nbf and jti and keeps everything else within MAX_CLAIMS_BYTES', () => {
    expect(boundedClaims({ sub: 'a', iat: 1, nbf: 2, jti: 'j', exp: 3, tenant: 't' })).toEqual({
      sub: 'a',
      exp: 3,
      tenant: 't',
    });
    expect(boundedClaims({ iat: 1 })).toBeUndefined();
  });

  it('leaves out the largest claims first until the rest fits', () => {
    const payload = {
      sub: 'alice',
      groups: Array.from({ length: 400 }, (_, i) => `group-${i}`),
      picture: 'p'.repeat(3000),
      tenant: 'acme',
    };
    const claims = boundedClaims(payload)!;
    expect(Object.keys(claims).sort()).toEqual(['picture', 'sub', 'tenant']);
    expect(Buffer.byteLength(JSON.stringify(claims))).toBeLessThanOrEqual(MAX_CLAIMS_BYTES);
    expect(principalOf(payload, 'sub')).toEqual({ user: 'alice', claims });
  });
});
