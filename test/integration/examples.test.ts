/**
 * The runnable examples still run: the echo server and the Node client, built, as child
 * processes talking over loopback; and `npm run cluster` (examples/cluster.js) on a private
 * redis-server: three nodes ready, a message published on one reaching a client on another,
 * and everything it started gone after SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { PrivateRedis, requireRedis } from '../../src/store/redis/redis-test-support.js';
import { eventually, RawClient, within } from '../support/raw-client.js';

const dist = (name: string): string =>
  fileURLToPath(new URL(`../../dist/examples/${name}`, import.meta.url));

describe('examples', () => {
  it('echo-server answers node-client, which then says bye', async () => {
    const server = spawn(process.execPath, [dist('echo-server.js'), '0'], { stdio: 'pipe' });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (ws:\/\/\S+)/.exec(out);
          if (m !== null) resolve(m[1]!);
        });
        server.on('exit', (code) => reject(new Error(`echo-server exited with ${code}`)));
      });
      const client = spawn(process.execPath, [dist('node-client.js'), url], { stdio: 'pipe' });
      let out = '';
      client.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = (await once(client, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(out).toContain('message 1: {"welcome":"hello from the server"}');
      expect(out).toMatch(/answer: \{"echo":\{"text":"hi"\},"sid":"[\w-]{22}"\}/);
      expect(out).toContain('closed 1000');
    } finally {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });
});

const hasRedis = await requireRedis('examples: npm run cluster');

/** Whether a process with this PID exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe.skipIf(!hasRedis)('npm run cluster (examples/cluster.js)', () => {
  it('starts three nodes on one Redis; a message published on one reaches a client on another; SIGTERM stops them all', async () => {
    const redis = await PrivateRedis.start();
    const script = spawn(
      process.execPath,
      [fileURLToPath(new URL('../../examples/cluster.js', import.meta.url))],
      {
        env: { PATH: process.env.PATH ?? '', REDIS_URL: redis.url, BASE_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = once(script, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const nodes = new Map<string, { pid: number; url: string; http: string }>();
    let out = '';
    const collect = (d: Buffer): void => {
      out += d.toString();
      for (const m of out.matchAll(
        /\[(node-\d) pid (\d+)\] resilient-ws listening on (ws:\/\/\S+) \(HTTP (http:\/\/\S+)\)/g,
      ))
        nodes.set(m[1]!, { pid: Number(m[2]), url: m[3]!, http: m[4]! });
    };
    script.stdout.on('data', collect);
    script.stderr.on('data', collect);
    try {
      await eventually(() => nodes.size === 3, 30_000, `three listening lines; output: ${out}`);
      const prefix = /key prefix (cluster-\d+)/.exec(out)?.[1];
      expect(prefix).toBe(`cluster-${script.pid}`);
      expect(out).not.toContain('starting redis-server'); // it used the Redis it was given
      const [n1, n2, n3] = ['node-1', 'node-2', 'node-3'].map((n) => nodes.get(n)!);
      for (const n of [n1!, n2!, n3!]) expect((await fetch(`${n.http}/readyz`)).status).toBe(200);
      await eventually(
        async () => {
          const r = (await (await fetch(`${n3!.http}/api/nodes`)).json()) as { nodes: unknown[] };
          return r.nodes.length === 3;
        },
        10_000,
        'three nodes in /api/nodes',
      );

      const client = await RawClient.connect(n1!.url);
      client.send({ t: 'hello', v: 1 });
      const sid = (await client.next((f) => f.t === 'welcome')).sid as string;
      const published = await fetch(`${n2!.http}/api/sessions/${sid}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: 'via node 2' }),
      });
      expect(published.status).toBe(202);
      // The demo app may send its own messages too: wait for ours.
      expect(await client.next((f) => f.t === 'msg' && f.data === 'via node 2')).toMatchObject({
        t: 'msg',
      });
      client.ws.close();

      script.kill('SIGTERM');
      const [code] = await within(exited, 30_000, 'the cluster script to exit');
      expect(code).toBe(0);
      for (const n of nodes.values()) expect(alive(n.pid)).toBe(false);
      // Its keys are gone from the Redis it was given (which outlives it).
      const r = new Redis(redis.url);
      try {
        expect(await r.keys(`${prefix}:*`)).toEqual([]);
      } finally {
        r.disconnect();
      }
    } finally {
      if (script.exitCode === null && script.signalCode === null) {
        script.kill('SIGKILL');
        await exited;
      }
      for (const n of nodes.values()) if (alive(n.pid)) process.kill(n.pid, 'SIGKILL');
      await redis.stop();
    }
  });
});
