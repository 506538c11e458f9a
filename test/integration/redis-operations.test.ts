/**
 * A Redis store as an operator meets it, each test on a private redis-server of its own (the
 * machine's Redis is not touched):
 * - at start, a Redis whose `maxmemory-policy` may evict keys is refused: `listen()` rejects
 *   with an error naming `noeviction` and the port never opens; the CLI exits 1 with one line;
 * - during an outage, /metrics and the log show it: a hung Redis (SIGSTOP; commands time out)
 *   opens the `store` breaker (rws_breaker_state, /api/breakers, a warn line), which closes
 *   again once Redis answers; a killed Redis (the connection is down, calls fail before they
 *   reach Redis or the breaker) shows as the sweep's error line and
 *   rws_background_errors_total, /api/stats and /readyz answering 503, until it is back.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type RwsServer } from '../../src/index.js';
import { attachLogger, createLogger } from '../../src/server/logging.js';
import {
  freePort,
  freshPrefix,
  PrivateRedis,
  requireRedis,
} from '../../src/store/redis/redis-test-support.js';
import { eventually, within } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
// The private redis-servers need the redis-server binary, which comes with a Redis.
const hasRedis = await requireRedis('redis operations integration');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function privateRedis(args: string[] = []): Promise<PrivateRedis> {
  const redis = await PrivateRedis.start(args);
  cleanups.push(() => redis.stop());
  return redis;
}

function server(options: Parameters<typeof createServer>[0]): RwsServer {
  const s = createServer({ host: '127.0.0.1', logLevel: 'silent', ...options });
  cleanups.push(() => s.close({ timeoutMs: 0 }).catch(() => undefined));
  return s;
}

/** How a TCP connect to 127.0.0.1:port ends: 'connected' or the error code. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

/** The value of one sample of /metrics, e.g. `rws_breaker_state{breaker="store",state="open"}`. */
async function metric(httpUrl: string, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe.skipIf(!hasRedis)('a Redis that may evict keys, at start', () => {
  it('createServer({ store }).listen() rejects naming noeviction, and the port never opens', async () => {
    const redis = await privateRedis(['--maxmemory-policy', 'allkeys-lru']);
    const port = await freePort();
    const s = server({ port, store: redis.url, redisPrefix: freshPrefix() });
    let settled = false;
    const listening = s.listen().finally(() => (settled = true));
    listening.catch(() => undefined);
    // Watch the port for as long as listen() runs, and once more after it gave up.
    const seen: string[] = [];
    while (!settled) {
      seen.push(await tcpConnect(port));
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(listening).rejects.toMatchObject({
      code: 'store_unavailable',
      message: expect.stringMatching(/maxmemory-policy is allkeys-lru.*noeviction/) as string,
    });
    seen.push(await tcpConnect(port));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((r) => r !== 'ECONNREFUSED')).toEqual([]);
  });

  it('`serve --store <that redis>` exits 1 with one line on stderr and never listens', async () => {
    const redis = await privateRedis(['--maxmemory-policy', 'allkeys-lru']);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--store', redis.url],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await within(
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      15_000,
      'the CLI to exit',
    );
    expect(code).toBe(1);
    const lines = err.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^resilient-ws: the store at redis:\/\/127\.0\.0\.1:\d+ cannot be used: Redis maxmemory-policy is allkeys-lru: .*noeviction/,
    );
    expect(err + out).not.toContain('listening');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
    expect(await tcpConnect(port)).toBe('ECONNREFUSED');
  });
});

/** A server on `redis` with its log captured as the CLI writes it (JSON lines, attachLogger). */
async function loggedServer(redis: PrivateRedis, options: Parameters<typeof createServer>[0]) {
  const s = server({
    port: 0,
    store: redis.url,
    redisPrefix: freshPrefix(),
    node: 'node-a',
    sweepInterval: 50,
    ...options,
  });
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const logs = attachLogger(s, createLogger({ level: 'info', format: 'json', destination }));
  cleanups.push(() => logs.detach());
  const { httpUrl } = await s.listen();
  return { s, httpUrl, lines };
}
type LogLine = { level: number; msg: string; [k: string]: unknown };

const OPEN = 'rws_breaker_state{breaker="store",state="open"}';
const CLOSED = 'rws_breaker_state{breaker="store",state="closed"}';
const SWEEP_ERRORS = 'rws_background_errors_total{where="sweep"}';

/** A publish to a session nobody has: 404 while the store answers, 503 while it cannot. */
async function publish(httpUrl: string): Promise<number> {
  const res = await fetch(`${httpUrl}/api/sessions/AAAAAAAAAAAAAAAAAAAAAA/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: 1 }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The error line the log gets for a failed background sweep (pino: error = 50). */
function isSweepError(l: LogLine): boolean {
  const err = l.err as { code?: string } | undefined;
  return (
    l.level === 50 &&
    l.msg === 'background operation failed' &&
    l.where === 'sweep' &&
    err?.code === 'store_unavailable'
  );
}

describe.skipIf(!hasRedis)('a Redis outage in metrics and logs', () => {
  it('a hung Redis (SIGSTOP): the store breaker opens in /metrics, /api/breakers and the log, and closes once Redis answers again', async () => {
    const redis = await privateRedis();
    const { httpUrl, lines } = await loggedServer(redis, {
      breakerOpenDuration: 300,
      storeTimeout: 200,
    });
    expect(await metric(httpUrl, CLOSED)).toBe(1);
    expect(await metric(httpUrl, OPEN)).toBe(0);

    redis.pause();
    // Every call times out (storeTimeout) and counts as a failure: after
    // breakerFailureThreshold (5) in a row the breaker opens and calls fail fast.
    await eventually(
      async () => {
        expect(await publish(httpUrl)).toBe(503);
        return (await metric(httpUrl, OPEN)) === 1;
      },
      15_000,
      'the store breaker open in /metrics',
    );
    expect(await metric(httpUrl, CLOSED)).toBe(0);
    expect(
      await metric(httpUrl, 'rws_breaker_transitions_total{breaker="store",to="open"}'),
    ).toBeGreaterThanOrEqual(1);
    const breakers = (await (await fetch(`${httpUrl}/api/breakers`)).json()) as {
      breakers: { name: string; state: string }[];
    };
    expect(breakers.breakers.find((b) => b.name === 'store')?.state).toBe('open');
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(503);
    // The log: the breaker at warn (pino: 40), and the failed background sweep at error.
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'circuit breaker state changed',
        name: 'store',
        to: 'open',
      }),
    );
    await eventually(() => lines.some(isSweepError), 5000, 'the sweep error line');
    expect(await metric(httpUrl, SWEEP_ERRORS)).toBeGreaterThanOrEqual(1);

    redis.resume();
    await eventually(
      async () => {
        await publish(httpUrl); // after breakerOpenDuration a call probes the breaker (half-open)
        return (await metric(httpUrl, CLOSED)) === 1;
      },
      15_000,
      'the store breaker closed again in /metrics',
    );
    expect(await metric(httpUrl, OPEN)).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'circuit breaker state changed',
        name: 'store',
        to: 'closed',
      }),
    );
    await eventually(
      async () => (await fetch(`${httpUrl}/readyz`)).status === 200,
      10_000,
      'ready again',
    );
    expect(await publish(httpUrl)).toBe(404);
  });

  it('a killed Redis: the error line, rws_background_errors_total, /api/stats and /readyz show it; all clear after a restart', async () => {
    const redis = await privateRedis();
    const { httpUrl, lines } = await loggedServer(redis, {});
    const stats = async () =>
      ((await (await fetch(`${httpUrl}/api/stats`)).json()) as { store: { ready: boolean } }).store;
    expect(await stats()).toMatchObject({ ready: true });
    const before = (await metric(httpUrl, SWEEP_ERRORS)) ?? 0;

    await redis.kill();
    // The connection is known to be down: calls fail at once with store_unavailable, before
    // they reach Redis (so without counting toward the store breaker; docs/scaling.md).
    expect(await publish(httpUrl)).toBe(503);
    await eventually(() => lines.some(isSweepError), 5000, 'the sweep error line');
    expect((await metric(httpUrl, SWEEP_ERRORS)) ?? 0).toBeGreaterThan(before);
    const down = await fetch(`${httpUrl}/api/stats`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(503);

    await redis.restart(); // empty, with a new run_id
    await eventually(
      async () => (await fetch(`${httpUrl}/readyz`)).status === 200,
      10_000,
      'ready again',
    );
    expect(await stats()).toMatchObject({ ready: true });
    expect(await publish(httpUrl)).toBe(404);
  });
});
