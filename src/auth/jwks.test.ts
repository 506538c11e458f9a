/**
 * jwtJwksUrl against a real HTTP server on loopback (port 0): fetch, key rotation, a server
 * that is down or silent (jwks_unavailable), and the last key set kept while a refresh fails.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type GenerateKeyPairResult, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RETRY_AFTER_MS } from './jwks.js';
import { JwtVerifier } from './jwt.js';
import { AuthError } from './principal.js';
import { refusal, settings } from './test-support/helpers.js';

interface Idp {
  url: string;
  /** GET requests received. */
  fetches: number;
  /** What the next requests get: a key set, an HTTP status, or no answer at all. */
  answer: { keys: JWK[] } | number | 'hang';
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function idp(answer: Idp['answer']): Promise<Idp> {
  const state = { fetches: 0, answer } as Idp;
  state.server = createServer((_req, res) => {
    state.fetches++;
    const a = state.answer;
    if (a === 'hang') return;
    if (typeof a === 'number') {
      res.writeHead(a).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(a));
  });
  servers.push(state.server);
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return state;
}

function verifier(url: string, timeout = 2000): JwtVerifier {
  const { verifier, problems } = JwtVerifier.fromSettings(
    settings({ jwtJwksUrl: url, jwtJwksTimeout: timeout }),
  );
  expect(problems).toEqual([]);
  return verifier!;
}

let k1: GenerateKeyPairResult;
let k2: GenerateKeyPairResult;
let jwk1: JWK;
let jwk2: JWK;

beforeAll(async () => {
  k1 = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  k2 = await generateKeyPair('RS256', { extractable: true });
  jwk1 = { ...(await exportJWK(k1.publicKey)), kid: 'k1' };
  jwk2 = { ...(await exportJWK(k2.publicKey)), kid: 'k2' };
});

function sign(kid: 'k1' | 'k2', sub = 'alice'): Promise<string> {
  const [alg, key] = kid === 'k1' ? ['EdDSA', k1.privateKey] : ['RS256', k2.privateKey];
  return new SignJWT({ sub })
    .setProtectedHeader({ alg, kid })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(key);
}

describe('jwtJwksUrl', () => {
  it('fetches the set once, and again for an unknown kid (a rotated key)', async () => {
    const server = await idp({ keys: [jwk1] });
    const v = verifier(server.url);
    expect((await v.verify(await sign('k1'))).user).toBe('alice');
    expect((await v.verify(await sign('k1', 'bob'))).user).toBe('bob');
    expect(server.fetches).toBe(1);
    server.answer = { keys: [jwk1, jwk2] };
    // jose refetches for an unknown kid once its 30 s cooldown has passed.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    expect((await v.verify(await sign('k2'))).user).toBe('alice');
    expect(server.fetches).toBe(2);
  });

  it('refuses with jwks_unavailable when the set was never fetched: refused, error status, silent', async () => {
    const down = await idp({ keys: [] });
    const url = down.url;
    await new Promise<void>((resolve) => down.server.close(() => resolve()));
    const error = await verifier(url)
      .verify(await sign('k1'))
      .catch((e: unknown) => e);
    // Retryable: the handshake closes with 4003 and the client comes back later.
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ reason: 'jwks_unavailable', retryable: true });
    expect((error as Error).message).toMatch(/could not be fetched: fetch failed \(.*ECONNREFUSED/);

    const failing = await idp(503);
    expect(await refusal(verifier(failing.url).verify(await sign('k1')))).toBe('jwks_unavailable');

    const silent = await idp('hang');
    const started = Date.now();
    expect(await refusal(verifier(silent.url, 300).verify(await sign('k1')))).toBe(
      'jwks_unavailable',
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps the last set while a refresh fails, retrying only every RETRY_AFTER_MS', async () => {
    const server = await idp({ keys: [jwk1] });
    let now = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now });
    const v = verifier(server.url);
    expect((await v.verify(await sign('k1'))).user).toBe('alice');
    expect(server.fetches).toBe(1);

    // The cached set expires (10 minutes) while the provider fails.
    server.answer = 500;
    vi.setSystemTime((now += 11 * 60_000));
    expect((await v.verify(await sign('k1'))).user).toBe('alice');
    expect(server.fetches).toBe(2);
    expect(v.remote?.usingStale).toBe(true);
    // Within the retry delay: no fetch, the kept set still answers (and refuses strangers).
    expect((await v.verify(await sign('k1', 'bob'))).user).toBe('bob');
    expect(await refusal(v.verify(await sign('k2')))).toBe('bad_signature');
    expect(server.fetches).toBe(2);

    // After it, one more try; the provider is back with a rotated set.
    server.answer = { keys: [jwk2] };
    vi.setSystemTime((now += RETRY_AFTER_MS + 1));
    expect((await v.verify(await sign('k2'))).user).toBe('alice');
    expect(server.fetches).toBe(3);
    expect(v.remote?.usingStale).toBe(false);
    expect(await refusal(v.verify(await sign('k1')))).toBe('bad_signature');
  });
});
