/**
 * Test support for the Redis-backed parts (not exported from the package): where the real
 * Redis is, a fresh key prefix per store, cleanup by prefix, and a private `redis-server` on
 * a free port for tests that stop or restart Redis (the machine's shared Redis is never
 * touched that way).
 *
 * A test that needs Redis runs against `RWS_TEST_REDIS` (default redis://127.0.0.1:6379). If
 * it does not answer, the tests say so loudly and skip, except under CI=true, where absence
 * is a failure (.ci/run starts a redis-server when none answers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.RWS_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at `url` within 1 s. */
export async function redisAnswers(url = TEST_REDIS_URL): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Whether the Redis tests run: true if Redis answers; false (with a loud warning) if not and
 * CI is not set. Under CI=true a missing Redis throws, failing the file.
 */
export async function requireRedis(what: string): Promise<boolean> {
  if (await redisAnswers()) return true;
  const message = `${what}: no Redis answers at ${TEST_REDIS_URL} (set RWS_TEST_REDIS or start redis-server)`;
  if (process.env.CI === 'true') throw new Error(`${message}; under CI=true this is a failure`);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

/** A key prefix no other test or run uses. */
export const freshPrefix = (): string => `rwstest:${randomUUID().slice(0, 12)}`;

/** Delete every key under `prefix` (SCAN + UNLINK; bounded batches). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** A free TCP port on loopback (bound, read and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A `redis-server` of this test's own on a free port, without persistence unless asked:
 * tests that stop, kill or restart Redis use it. `restart()` keeps the port.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(extraArgs: string[] = []): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), extraArgs);
    await r.startProcess();
    return r;
  }

  private async startProcess(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    this.child = spawn('redis-server', [...args, ...this.extraArgs], { stdio: 'ignore' });
    const started = Date.now();
    while (!(await redisAnswers(this.url))) {
      if (Date.now() - started > 5000)
        throw new Error(`redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL the server (no shutdown, no save) and wait for it to go. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
    this.child = undefined;
  }

  /**
   * SIGSTOP: a hung Redis. Its connections stay open and every command times out (a killed
   * Redis closes them instead, and calls then fail at once, before reaching Redis).
   */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after `pause()`: the same Redis answers again, its data and run_id intact. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kill and start again on the same port: an empty Redis with a new run_id. */
  async restart(): Promise<void> {
    await this.kill();
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
