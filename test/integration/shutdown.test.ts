/**
 * Graceful shutdown of `resilient-ws serve` as a real child process and real signals: clients
 * are closed with 1001, in-flight upstream calls finish within RWS_SHUTDOWN_TIMEOUT, the
 * process exits 0 (also when the deadline passes), and a second signal exits at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const children: ChildProcess[] = [];
const upstreams: Server[] = [];

afterEach(async () => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const u of upstreams.splice(0)) {
    u.closeAllConnections();
    await new Promise((r) => u.close(r));
  }
});

interface Served {
  child: ChildProcess;
  url: string;
  http: string;
  output: () => string;
  /** Resolves with the exit code and the time from `signal()` to the exit. */
  exit: Promise<{ code: number | null; ms: number }>;
  signal: (name: NodeJS.Signals) => void;
  waitFor: (msg: string) => Promise<void>;
}

/** Start `serve --port 0`, wait for its "listening" line. */
async function serve(env: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', RWS_LOG_LEVEL: 'info', ...env },
    stdio: 'pipe',
  });
  children.push(child);
  let out = '';
  let signalledAt = 0;
  const waiters: { msg: string; resolve: () => void }[] = [];
  const records = (): { msg?: string; url?: string; http?: string }[] =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string });
  const onData = (d: Buffer): void => {
    out += d.toString();
    const msgs = new Set(records().map((r) => r.msg));
    for (const w of waiters.splice(0)) {
      if (msgs.has(w.msg)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: performance.now() - signalledAt })),
  );
  const waitFor = (msg: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${msg}" line; output: ${out}`)), 10_000);
      waiters.push({
        msg,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      onData(Buffer.alloc(0));
    });
  const failed = exit.then(({ code }) => {
    throw new Error(`exited with ${code}: ${out}`);
  });
  await Promise.race([waitFor('resilient-ws listening'), failed]);
  failed.catch(() => undefined);
  const listening = records().find((r) => r.msg === 'resilient-ws listening')!;
  return {
    child,
    url: listening.url!,
    http: listening.http!,
    output: () => out,
    exit,
    signal: (name) => {
      if (signalledAt === 0) signalledAt = performance.now();
      child.kill(name);
    },
    waitFor,
  };
}

/** A local HTTP upstream; `answer` decides each POST's fate. Resolves `seen` per request. */
async function upstream(
  answer: (res: ServerResponse, body: { sid: string; id: string; data: unknown }) => void,
): Promise<{ url: string; requests: () => Promise<void> }> {
  let arrived: (() => void) | undefined;
  let pending = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      pending++;
      arrived?.();
      answer(res, JSON.parse(text) as { sid: string; id: string; data: unknown });
    });
  });
  upstreams.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    // Resolves once a request has reached the upstream.
    requests: () =>
      pending > 0 ? Promise.resolve() : new Promise<void>((r) => (arrived = () => r())),
  };
}

describe('graceful shutdown (real process, real signals)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: closes connected clients with 1001, refuses new ones, exits 0 within the deadline',
    async (signal) => {
      const s = await serve({ RWS_SHUTDOWN_TIMEOUT: '5s' });
      const a = await RawClient.connect(s.url);
      const b = await RawClient.connect(s.url);
      await a.hello();
      await b.hello();
      s.signal(signal);
      expect((await a.closed).code).toBe(1001);
      expect((await b.closed).code).toBe(1001);
      await expect(RawClient.connect(s.url)).rejects.toThrow();
      const { code, ms } = await s.exit;
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
      expect(s.output()).toContain('"msg":"shutting down"');
      expect(s.output()).toContain('"msg":"shutdown complete"');
    },
  );

  it('a client message in flight at an upstream still gets its ok before the clients are closed', async () => {
    const up = await upstream((res, body) => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ answered: body.id }));
      }, 1500);
    });
    const s = await serve({
      RWS_UPSTREAM_URL: up.url,
      RWS_UPSTREAM_RETRIES: '0',
      RWS_SHUTDOWN_TIMEOUT: '8s',
    });
    const c = await RawClient.connect(s.url);
    await c.hello();
    c.send({ t: 'msg', id: 'slow-1', data: { q: 1 } });
    await up.requests();
    s.signal('SIGTERM');
    // While it drains, a load balancer's health check fails: the listener closed when the
    // shutdown began, so a new connection is refused (the 503 `draining` that a connection
    // opened before sees: test/integration/readyz-draining.test.ts).
    await s.waitFor('shutting down');
    const ready = await fetch(`${s.http}/readyz`).then(
      (r) => r.status,
      (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? String(e),
    );
    expect(ready).toBe('ECONNREFUSED');
    const ok = await c.next((f) => f.t === 'ok' || f.t === 'nack', 8000);
    expect(ok).toMatchObject({ t: 'ok', id: 'slow-1', data: { answered: 'slow-1' } });
    expect((await c.closed).code).toBe(1001);
    const { code, ms } = await s.exit;
    expect(code).toBe(0);
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(8000);
  });

  it('a hanging upstream does not hold the process past the deadline', async () => {
    const up = await upstream(() => undefined);
    const s = await serve({
      RWS_UPSTREAM_URL: up.url,
      RWS_UPSTREAM_RETRIES: '0',
      RWS_UPSTREAM_TIMEOUT: '60s',
      RWS_SHUTDOWN_TIMEOUT: '1s',
    });
    const c = await RawClient.connect(s.url);
    await c.hello();
    c.send({ t: 'msg', id: 'stuck-1', data: {} });
    await up.requests();
    s.signal('SIGTERM');
    // The call is cut at the deadline: never an ok; the client gets a retryable `draining`
    // nack before the 1001 (the SDK resends the message after it reconnects elsewhere).
    expect((await c.closed).code).toBe(1001);
    expect(c.frames.filter((f) => f.t === 'ok')).toEqual([]);
    expect(c.frames.filter((f) => f.t === 'nack')).toEqual([
      expect.objectContaining({ id: 'stuck-1', code: 'draining', retryable: true }),
    ]);
    const { code, ms } = await s.exit;
    expect(code).toBe(0);
    // shutdownTimeout + the client close phase (≤ 2 s) + the force-exit grace, at most.
    expect(ms).toBeLessThan(1000 + 3000 + 500);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('a second %s exits at once with %i', async (signal, expected) => {
    const up = await upstream(() => undefined);
    const s = await serve({
      RWS_UPSTREAM_URL: up.url,
      RWS_UPSTREAM_RETRIES: '0',
      RWS_UPSTREAM_TIMEOUT: '60s',
      RWS_SHUTDOWN_TIMEOUT: '60s',
    });
    const c = await RawClient.connect(s.url);
    await c.hello();
    c.send({ t: 'msg', id: 'stuck-2', data: {} });
    await up.requests();
    s.signal(signal);
    await s.waitFor('shutting down');
    const secondAt = performance.now();
    s.child.kill(signal);
    const { code } = await s.exit;
    expect(code).toBe(expected);
    expect(performance.now() - secondAt).toBeLessThan(2000);
    expect(s.output()).toContain('"msg":"second signal: exiting now"');
  });
});
