/**
 * The `resilient-ws` command as a real child process (built code in dist/; `npm run
 * test:integration` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SETTING_KEYS, formatSettingValue, settingOf } from '../../src/config/index.js';
import { RawClient, eventually } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Start `serve`, wait for the "listening" log line, return the child and its URLs. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; http: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  });
  children.push(child);
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; output: ${out}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { msg?: string; url?: string; http?: string };
        if (rec.msg === 'resilient-ws listening') {
          clearTimeout(timer);
          resolve({ child, url: rec.url!, http: rec.http!, output: () => out });
          return;
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

describe('resilient-ws CLI', () => {
  it('config prints every resolved value with its source and hides the admin token', async () => {
    const r = await run(['config', '--session-ttl', '0'], {
      RWS_PORT: '9100',
      RWS_ADMIN_TOKEN: 'top-secret',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^port = 9100 \(env\)$/m);
    expect(r.stdout).toMatch(/^sessionTtl = 0s \(flag\)$/m);
    expect(r.stdout).toMatch(/^outboxMax = 1000 \(default\)$/m);
    expect(r.stdout).toMatch(/^adminToken = <set> \(env\)$/m);
    expect(r.stdout).not.toContain('top-secret');
  });

  it('a config file sits between defaults and the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rws-cli-'));
    const file = join(dir, 'rws.json');
    writeFileSync(file, JSON.stringify({ outboxMax: 50, port: 9200 }));
    const r = await run(['config', '--config', file], { RWS_PORT: '9300' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^outboxMax = 50 \(file\)$/m);
    expect(r.stdout).toMatch(/^port = 9300 \(env\)$/m);
  });

  it('config names the preset as the source of the values it sets', async () => {
    const r = await run(['config', '--log-level', 'warn'], { RWS_PRESET: 'development' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^preset = development \(env\)$/m);
    expect(r.stdout).toMatch(/^logFormat = pretty \(preset development\)$/m);
    expect(r.stdout).toMatch(/^shutdownTimeout = 2s \(preset development\)$/m);
    expect(r.stdout).toMatch(/^logLevel = warn \(flag\)$/m);
    expect(r.stdout).toMatch(/^port = 8080 \(default\)$/m);
  });

  it("a config file's preset key picks the preset, below the file's own values", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rws-cli-'));
    const file = join(dir, 'rws.json');
    writeFileSync(file, JSON.stringify({ preset: 'testing', sweepInterval: '100ms' }));
    const r = await run(['config', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^preset = testing \(file\)$/m);
    expect(r.stdout).toMatch(/^logLevel = warn \(preset testing\)$/m);
    expect(r.stdout).toMatch(/^sweepInterval = 100ms \(file\)$/m);
  });

  it('an unknown preset exits 2 naming the presets', async () => {
    const r = await run(['config'], { RWS_PRESET: 'prod' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/preset.*"prod".*RWS_PRESET.*none, development, production, testing/);
  });

  it('serve with the development preset writes pretty, human-readable logs', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', RWS_PRESET: 'development' },
      stdio: 'pipe',
    });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 10_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('resilient-ws listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out).toMatch(/INFO.*resilient-ws listening/);
    expect(out.split('\n').some((line) => line.startsWith('{'))).toBe(false);
  });

  it('at debug, logs each HTTP request once with its x-request-id, without the Authorization header', async () => {
    const s = await serve([], { RWS_LOG_LEVEL: 'debug', RWS_ADMIN_TOKEN: 'admin-secret-456' });
    const r = await fetch(`${s.http}/healthz?token=query-secret-9`, {
      headers: { 'x-request-id': 'trace-abc-123', authorization: 'Bearer admin-secret-456' },
    });
    expect(r.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
    const lines = s
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"http request"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      reqId: 'trace-abc-123',
      method: 'GET',
      path: '/healthz',
      status: 200,
    });
    expect(s.output()).not.toContain('admin-secret-456');
    expect(s.output()).not.toContain('query-secret-9');
  });

  it.each([
    [['serve'], { RWS_PORT: 'abc' }, /port.*"abc".*RWS_PORT.*integer from 0 to 65535/],
    [
      ['serve', '--overflow', 'drop-all'],
      {},
      /overflow.*drop-all.*--overflow.*drop-oldest, drop-newest, reject, disconnect/,
    ],
    [
      ['serve'],
      { RWS_SESSION_TTL: '5 minutes' },
      /sessionTtl.*5 minutes.*RWS_SESSION_TTL.*duration/,
    ],
    [['serve', '--no-such-flag'], {}, /no-such-flag/],
    [['serve'], { RWS_HOST: '0.0.0.0' }, /refusing to bind 0\.0\.0\.0 without RWS_ADMIN_TOKEN/],
    [
      ['serve'],
      { RWS_UPSTREAM_URL: 'localhost:9000/hook' },
      /upstreamUrl "localhost:9000\/hook" from environment RWS_UPSTREAM_URL: expected empty, or an http:\/\/ or https:\/\/ URL/,
    ],
  ] as const)(
    'bad configuration %j %j exits 2 naming key, value, source and what is allowed',
    async (args, env, message) => {
      const r = await run([...args], { ...env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    },
  );

  it('refuses an upstreamUrl with credentials (exit 2) without printing them', async () => {
    for (const command of ['serve', 'config']) {
      const r = await run([command, '--upstream-url', 'http://alice:pa55word@127.0.0.1:9/hook']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('"http://<redacted>@127.0.0.1:9/hook" from flag --upstream-url');
      expect(r.stderr).toContain('credential-free URL');
      expect(r.stderr + r.stdout).not.toMatch(/alice|pa55word/);
    }
    const ok = await run(['config'], { RWS_UPSTREAM_URL: 'https://upstream.internal/hook' });
    expect(ok.stdout).toMatch(/^upstreamUrl = https:\/\/upstream\.internal\/hook \(env\)$/m);
  });

  // The testing preset (for test suites, which use port 0) logs at warn, and the JSON
  // `resilient-ws listening` line is info: the process used to print nothing at all, so a
  // harness could not learn where the server listens.
  it('serve on port 0 tells where it listens whatever the log level (testing preset)', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', RWS_PRESET: 'testing' },
      stdio: 'pipe',
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 10_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m =
          /^resilient-ws listening on (ws:\/\/127\.0\.0\.1:\d+\/ws) \(HTTP http:\/\/\S+\)$/m.exec(
            stderr,
          );
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const c = await RawClient.connect(url);
    expect(await c.hello()).toMatchObject({ t: 'welcome' });
    c.close();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stdout).not.toContain('resilient-ws listening'); // the info line stays filtered
  });

  it('a port in use exits 3 with one line naming the port and --port, without a stack trace', async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      for (const env of [{}, { RWS_PRESET: 'development' }]) {
        const r = await run(['serve', '--port', String(port)], env);
        expect(r.code).toBe(3);
        expect(r.stderr.endsWith('\n')).toBe(true);
        const lines = r.stderr.slice(0, -1).split('\n');
        expect(lines).toEqual([
          `resilient-ws: port ${port} on 127.0.0.1 is already in use: pick another with --port / RWS_PORT (0 picks a free one)`,
        ]);
        expect(r.stderr).not.toContain('    at ');
        expect(r.stdout).toBe('');
      }
    } finally {
      holder.close();
    }
  });

  it('an address that is not on this machine exits 3 with one line naming --host', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    const r = await run(['serve', '--host', '192.0.2.1', '--port', '0'], {
      RWS_ADMIN_TOKEN: 'a-token',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^resilient-ws: address 192\.0\.2\.1 is not an address of this machine: pick another with --host \/ RWS_HOST[^\n]*\n$/,
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('--help, serve --help and config --help list every setting of the schema', async () => {
    for (const args of [['--help'], ['help'], ['serve', '--help'], ['config', '-h']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(0);
      const lines = r.stdout.split('\n');
      const flat = r.stdout.replace(/\s+/g, ' ');
      for (const key of SETTING_KEYS) {
        const s = settingOf(key);
        const line = lines.find(
          (l) => l.startsWith(`  ${s.flag} `) || l.startsWith(`  ${s.flag},`),
        );
        expect(line, `${args.join(' ')}: no line for ${s.flag}`).toBeDefined();
        expect(line).toContain(s.env);
        expect(line).toContain(`default ${formatSettingValue(key, s.default)}`);
        expect(flat).toContain(s.doc.replace(/\s+/g, ' '));
      }
      expect(lines.filter((l) => l.length > 100)).toEqual([]);
    }
  });

  it('no command prints the short usage on stderr and exits 1', async () => {
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Usage: resilient-ws');
    expect(r.stderr).toContain('resilient-ws --help');
    expect(r.stdout).toBe('');
  });

  it('an unknown command exits 1 with usage', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Usage: resilient-ws');
  });

  it('serve accepts clients, logs JSON, and exits 0 on SIGTERM after closing clients with 1001', async () => {
    const s = await serve([], { RWS_LOG_LEVEL: 'info' });
    // stderr and stdout are separate pipes: the human line may land after the JSON one.
    await eventually(
      () => s.output().includes(`resilient-ws listening on ${s.url} (HTTP ${s.http})`),
      5000,
      'the listening line on stderr',
    );
    const c = await RawClient.connect(s.url);
    expect(await c.hello()).toMatchObject({ t: 'welcome' });
    s.child.kill('SIGTERM');
    const [code] = (await once(s.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect((await c.closed).code).toBe(1001);
    expect(s.output()).toContain('"msg":"shutting down"');
  });

  it('serve --demo serves the demo page and the SDK browser build, echoes client messages and ticks', async () => {
    const s = await serve(['--demo']);
    const page = await fetch(`${s.http}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("from '/sdk/resilient-ws-client.js'");
    const sdk = await fetch(`${s.http}/sdk/resilient-ws-client.js`);
    expect(sdk.status).toBe(200);
    expect(sdk.headers.get('content-type')).toContain('javascript');
    // Only the single-file build is served: no other file under dist/ (nor above it).
    for (const other of ['/sdk/client/index.js', '/sdk/../package.json', '/sdk/'])
      expect((await fetch(`${s.http}${other}`)).status, other).toBe(404);
    const c = await RawClient.connect(s.url);
    await c.hello();
    c.send({ t: 'msg', id: 'e1', data: 'ping?' });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'e1', data: { echo: 'ping?' } });
    expect(await c.next((f) => f.t === 'msg', 3000)).toMatchObject({
      data: { tick: expect.any(Number) as number },
    });
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
  });

  it('never logs resume keys or the admin token, even at trace level', async () => {
    const s = await serve([], { RWS_LOG_LEVEL: 'trace', RWS_ADMIN_TOKEN: 'admin-secret-123' });
    const a = await RawClient.connect(s.url);
    const w = (await a.hello()) as unknown as { sid: string; key: string };
    a.destroy();
    const b = await RawClient.connect(s.url);
    await b.hello({ sid: w.sid, key: w.key, ack: 0 });
    const c = await RawClient.connect(s.url);
    c.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: 'wrong-key-guess', ack: 0 } });
    await c.closed;
    b.close();
    await new Promise((r) => setTimeout(r, 100));
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
    const out = s.output();
    expect(out).toContain(w.sid);
    expect(out).not.toContain(w.key);
    expect(out).not.toContain('wrong-key-guess');
    expect(out).not.toContain('admin-secret-123');
  });
});
