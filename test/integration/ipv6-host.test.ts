/**
 * Regression: a bracketed IPv6 host (`[::1]`, as URLs write it) is accepted as loopback and
 * bound as the bare address, by the library and by the CLI. Each test checks that the port
 * really is on ::1 (and not on IPv4 loopback) and that its client really came over IPv6.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer, type RwsServer } from '../../src/index.js';
import { within } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const servers: RwsServer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Connect over WebSocket and report the peer as the client's socket saw it, and the welcome. */
async function welcomeOver(
  url: string,
): Promise<{ family: string | undefined; address: string | undefined; welcome: unknown }> {
  const ws = new WebSocket(url, 'rws.v1');
  ws.on('error', () => undefined);
  const peer = new Promise<{ family: string | undefined; address: string | undefined }>(
    (resolve, reject) => {
      ws.once('upgrade', (res) =>
        resolve({ family: res.socket.remoteFamily, address: res.socket.remoteAddress }),
      );
      ws.once('error', reject);
    },
  );
  await within(
    new Promise((resolve) => ws.once('open', resolve)),
    5000,
    `a WebSocket open on ${url}`,
  );
  const welcome = new Promise((resolve) =>
    ws.once('message', (d: Buffer) => resolve(JSON.parse(d.toString()))),
  );
  ws.send(JSON.stringify({ t: 'hello', v: 1 }));
  const result = { ...(await peer), welcome: await within(welcome, 5000, 'welcome') };
  ws.close();
  return result;
}

/** How a TCP connect to host:port ends: 'connected' or the error code. */
function tcpConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

describe('bracketed IPv6 host', () => {
  it('createServer({ host: "[::1]" }) listens on ::1 only, and a client connects over IPv6', async () => {
    const server = createServer({ host: '[::1]', port: 0, logLevel: 'silent' });
    servers.push(server);
    const remotes: (string | undefined)[] = [];
    server.on('connection', (c) => remotes.push(c.remote));
    const info = await server.listen();
    expect(info.host).toBe('::1');
    expect(info.url).toBe(`ws://[::1]:${info.port}/ws`);
    expect(await welcomeOver(info.url)).toMatchObject({
      family: 'IPv6',
      address: '::1',
      welcome: { t: 'welcome' },
    });
    expect(remotes).toEqual(['::1']);
    // Bound to ::1, not to every address: IPv4 loopback on the same port is refused.
    expect(await tcpConnect('127.0.0.1', info.port)).toBe('ECONNREFUSED');
  });

  it('`serve --host [::1]` listens on ::1 (no getaddrinfo stack trace, no exit)', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--host', '[::1]', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', RWS_LOG_LEVEL: 'info' },
      stdio: 'pipe',
    });
    children.push(child);
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const listening = await within(
      new Promise<{ url: string; http: string }>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          for (const line of out.split('\n')) {
            if (!line.startsWith('{')) continue;
            const rec = JSON.parse(line) as { msg?: string; url?: string; http?: string };
            if (rec.msg === 'resilient-ws listening') resolve({ url: rec.url!, http: rec.http! });
          }
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      }),
      10_000,
      'the listening line',
    );
    expect(listening.url).toMatch(/^ws:\/\/\[::1\]:\d+\/ws$/);
    expect(listening.http).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${listening.http}/healthz`)).status).toBe(200);
    expect(await welcomeOver(listening.url)).toMatchObject({
      family: 'IPv6',
      address: '::1',
      welcome: { t: 'welcome' },
    });
    const port = Number(new URL(listening.http).port);
    expect(await tcpConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
    expect(out).not.toContain('ENOTFOUND');
    expect(child.exitCode).toBeNull();
  });
});
