/**
 * Authentication by configuration through a real server (no `authenticate` option): static
 * tokens and JWTs (HS256, a JWKS URL) decide the session's user; refusals close with 4500
 * (4003 when the key set cannot be fetched) and are counted by reason on /metrics; the SDK's
 * token function is asked again for each reconnect; the CLI refuses a malformed tokens file
 * with exit code 2 without printing a token (built code: `npm run build` first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ResilientClient } from '../../client/index.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, startServer } from '../support/server.js';

const ALICE = 'alice-token-0123456789abcdef';
const SECRET = 'an-hs256-secret-of-at-least-32-bytes';
const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function hs256(sub: string, expiresIn: string | number = '5m', secret = SECRET): Promise<string> {
  return new SignJWT({ sub, tenant: 'acme' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

async function failures(httpUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^rws_auth_failures_total\{reason="([a-z_]+)"\} (\d+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

async function refused(url: string, hello: Frame, headers: Record<string, string> = {}) {
  const c = await RawClient.connect(url, 'rws.v1', headers);
  c.send(hello);
  const error = await c.next((f) => f.t === 'error');
  return { error, close: await c.closed };
}

async function sessionUser(httpUrl: string, sid: unknown) {
  return (await getJson(`${httpUrl}/api/sessions/${String(sid)}`)).body;
}

describe('authentication by configuration (real server)', () => {
  it('static tokens: the token names the user; a wrong or missing one closes 4500 and is counted', async () => {
    const { info } = await startServer({ tokens: `alice:${ALICE}` });
    const c = await RawClient.connect(info.url);
    const w = await c.hello(undefined, { token: ALICE });
    expect(await sessionUser(info.httpUrl, w.sid)).toMatchObject({ sid: w.sid, user: 'alice' });
    expect(JSON.stringify(await sessionUser(info.httpUrl, w.sid))).not.toContain(ALICE);

    const wrong = await refused(info.url, { t: 'hello', v: 1, token: `${ALICE}x` });
    expect(wrong.error).toEqual({ t: 'error', code: 'unauthorized', message: 'unauthorized' });
    expect(wrong.close.code).toBe(4500);
    expect((await refused(info.url, { t: 'hello', v: 1 })).close.code).toBe(4500);
    expect(await failures(info.httpUrl)).toEqual({ bad_token: 1, missing_token: 1 });
    c.close();
  });

  it("a library user's own authenticate option wins over the settings", async () => {
    const { info } = await startServer({
      tokens: `alice:${ALICE}`,
      authenticate: (hello) => ({ user: hello.token === undefined ? 'anonymous' : 'hooked' }),
    });
    const c = await RawClient.connect(info.url);
    const w = await c.hello();
    expect(await sessionUser(info.httpUrl, w.sid)).toMatchObject({ user: 'anonymous' });
    const d = await RawClient.connect(info.url);
    const w2 = await d.hello(undefined, { token: ALICE });
    expect(await sessionUser(info.httpUrl, w2.sid)).toMatchObject({ user: 'hooked' });
    c.close();
    d.close();
  });

  it('HS256 JWT in hello.token or Authorization: Bearer; expired and forged ones refused by reason', async () => {
    const { info } = await startServer({ jwtSecret: SECRET, tokens: `alice:${ALICE}` });
    const viaHello = await RawClient.connect(info.url);
    const w1 = await viaHello.hello(undefined, { token: await hs256('carol') });
    expect(await sessionUser(info.httpUrl, w1.sid)).toMatchObject({
      user: 'carol',
      claims: { sub: 'carol', tenant: 'acme' },
    });
    const viaHeader = await RawClient.connect(info.url, 'rws.v1', {
      authorization: `Bearer ${await hs256('dave')}`,
    });
    const w2 = await viaHeader.hello();
    expect(await sessionUser(info.httpUrl, w2.sid)).toMatchObject({ user: 'dave' });
    // The static token still works next to the JWT check.
    const viaToken = await RawClient.connect(info.url);
    const w3 = await viaToken.hello(undefined, { token: ALICE });
    expect(await sessionUser(info.httpUrl, w3.sid)).toMatchObject({ user: 'alice' });

    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await refused(info.url, { t: 'hello', v: 1, token: await hs256('x', past) });
    expect(expired.close.code).toBe(4500);
    const forged = await hs256('mallory', '5m', `${SECRET}-guessed`);
    expect((await refused(info.url, { t: 'hello', v: 1, token: forged })).close.code).toBe(4500);
    expect(await failures(info.httpUrl)).toEqual({ expired: 1, bad_signature: 1 });
    for (const c of [viaHello, viaHeader, viaToken]) c.close();
  });

  it('a JWKS URL: verified by kid; an identity provider never reached closes 4003 (retryable)', async () => {
    const keys = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'EdDSA' }] };
    let up = true;
    const idp = createHttpServer((_req, res) => {
      if (!up) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => idp.close(() => resolve())));
    const jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
    const token = await new SignJWT({ sub: 'erin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(keys.privateKey);

    up = false;
    const { info } = await startServer({ jwtJwksUrl: jwksUrl, jwtJwksTimeout: '2s' });
    const unavailable = await refused(info.url, { t: 'hello', v: 1, token });
    expect(unavailable.error).toMatchObject({ code: 'unavailable' });
    expect(unavailable.close.code).toBe(4003);
    expect(await failures(info.httpUrl)).toEqual({ jwks_unavailable: 1 });

    up = true;
    const c = await RawClient.connect(info.url);
    const w = await c.hello(undefined, { token });
    expect(await sessionUser(info.httpUrl, w.sid)).toMatchObject({ user: 'erin' });
    c.close();
  });

  it('the SDK asks its token function again for each reconnect, and resumes as the same user', async () => {
    const { server, info } = await startServer({ jwtSecret: SECRET });
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: Number(new URL(info.url).port) });
    const port = await proxy.listen();
    cleanups.push(() => proxy.close());
    let calls = 0;
    const client = new ResilientClient(`ws://127.0.0.1:${port}/ws`, {
      token: async () => {
        calls++;
        return hs256('frank');
      },
      backoff: { baseMs: 5, capMs: 30 },
    });
    cleanups.push(() => client.close());
    const opens: { sid: string; resumed: boolean }[] = [];
    client.on('open', (e) => opens.push(e));
    client.connect();
    await eventually(() => opens.length === 1, 5000, 'first open');
    expect(calls).toBe(1);
    const sid = opens[0]!.sid;
    expect(await server.userSessions('frank')).toEqual([expect.objectContaining({ sid })]);

    proxy.cut();
    await eventually(() => opens.length === 2, 5000, 'the resume');
    expect(calls).toBe(2);
    expect(opens[1]).toEqual({ sid, resumed: true });
  });
});

describe('resilient-ws CLI with authentication settings', () => {
  function run(args: string[], env: Record<string, string>) {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'pipe',
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
  }

  it('serve refuses a malformed tokens file with exit code 2, naming the line, not the token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rws-auth-')), 'tokens');
    writeFileSync(file, `alice:${ALICE}\nbob-without-user-0123456789\n`);
    const r = await run(['serve', '--port', '0', '--tokens-file', file], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid tokensFile "${file}" line 2: expected user:token`);
    expect(r.stderr).not.toContain('bob-without-user');
    expect(r.stderr).not.toContain(ALICE);
  });

  it('config shows tokens and jwtSecret as <set>, and the file path as is', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rws-auth-')), 'tokens');
    writeFileSync(file, `alice:${ALICE}\n`);
    const r = await run(['config', '--tokens-file', file], {
      RWS_TOKENS: `bob:${ALICE}-bob`,
      RWS_JWT_SECRET: SECRET,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tokens = <set> \(env\)$/m);
    expect(r.stdout).toMatch(/^jwtSecret = <set> \(env\)$/m);
    expect(r.stdout).toContain(`tokensFile = ${file} (flag)`);
    expect(r.stdout + r.stderr).not.toContain(ALICE);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});
