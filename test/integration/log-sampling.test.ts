/**
 * Log sampling (`logSample`) through the real CLI: a node started with RWS_LOG_SAMPLE writes
 * one `session attached` line in N, each carrying the count it stands for, writes the count
 * left over at shutdown, and still writes (or counts in `repeated`) every warning of a
 * sampled kind. Built code in dist/: `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { postJson } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

type Line = Record<string, unknown> & {
  msg: string;
  level: number;
  sampled?: { every: number; suppressed: number };
  repeated?: number;
};

async function serve(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const urls = await new Promise<{ url: string; http: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /resilient-ws listening on (ws:\/\/\S+) \(HTTP (http:\/\/\S+)\)/.exec(stderr);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ url: m[1]!, http: m[2]! });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  const stop = async (): Promise<Line[]> => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    return stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  };
  return { ...urls, stop };
}

describe('log sampling (RWS_LOG_SAMPLE) on a real node', () => {
  it('writes 1 session line in 10 with the suppressed count, and never samples overflow warnings', async () => {
    const node = await serve(['--outbox-max', '1', '--overflow', 'drop-newest'], {
      RWS_LOG_LEVEL: 'debug',
      RWS_LOG_SAMPLE: 'session:10,drop:1000',
    });
    // 25 sessions, one after the other: 25 `session attached` lines without sampling.
    for (let i = 0; i < 25; i++) {
      const c = await RawClient.connect(node.url);
      await c.hello();
      c.close();
      await c.closed;
    }
    // A 26th that never acks: its outbox holds one message, the next 6 overflow (a warning
    // each, under the sampled kind drop).
    const c = await RawClient.connect(node.url);
    const { sid } = (await c.hello()) as unknown as { sid: string };
    for (let i = 0; i < 7; i++) {
      const r = await postJson(`${node.http}/api/sessions/${sid}/messages`, { data: i });
      expect(r.status).toBeLessThan(300);
    }
    const lines = await node.stop();

    const sessions = lines.filter((l) => l.msg === 'session attached');
    // Fewer lines than sessions, all sampled, the first at once; each stands for itself and
    // the ones suppressed before it, the rest written at shutdown: all 26 are accounted for.
    expect(sessions.length).toBeLessThanOrEqual(6);
    expect(sessions.every((l) => l.sampled?.every === 10)).toBe(true);
    expect(sessions[0]!.sampled!.suppressed).toBe(0);
    expect(sessions.reduce((n, l) => n + 1 + l.sampled!.suppressed, 0)).toBe(26);

    const overflows = lines.filter((l) => l.msg === 'outbox overflow');
    expect(overflows.length).toBeGreaterThan(0);
    expect(overflows.every((l) => l.level === 40 && l.sampled === undefined)).toBe(true);
    expect(overflows.reduce((n, l) => n + (l.repeated ?? 1), 0)).toBe(6);

    // Kinds not named are not sampled.
    const closed = lines.filter((l) => l.msg === 'connection closed');
    expect(closed).toHaveLength(26);
    expect(closed.every((l) => l.sampled === undefined)).toBe(true);
  });

  it('a bad value exits 2 naming the setting, its source and why', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', RWS_LOG_SAMPLE: 'session:10,frameError:5' },
      stdio: 'pipe',
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain(
      'invalid logSample "session:10,frameError:5" from environment RWS_LOG_SAMPLE',
    );
    expect(stderr).toContain('"frameError" is not a sampled kind: its lines are warnings');
  });
});
