/**
 * MCP end to end over real processes: the MCP SDK's `Client` runs `resilient-ws mcp-bridge`
 * (its stdio transport spawns it), the bridge connects through a proxy that cuts the
 * WebSocket, into `resilient-ws mcp-serve` running the example stdio server
 * (examples/mcp-slow-server.ts), which logs every request it receives and the process that
 * got it. A dropped connection is resumed underneath JSON-RPC: one result, progress in
 * order, no error, one call, one `initialize`, one process. Also: a cancellation reaches the
 * child, and a session that expired while the bridge was away ends the bridge with errors
 * for its open requests.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually, sleep } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../dist/examples/mcp-slow-server.js', import.meta.url));
const FAST = ['--backoff-base-ms', '20', '--backoff-cap-ms', '100'];

const processes: ChildProcess[] = [];
const proxies: ChaosProxy[] = [];
const clients: Client[] = [];
const files: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const p of proxies.splice(0)) await p.close();
  for (const c of processes.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 8000);
    await once(c, 'exit');
    clearTimeout(timer);
  }
  for (const f of files.splice(0)) rmSync(f, { force: true });
});

/** `mcp-serve` running the example server, logging its requests to a fresh file. */
async function startServe(flags: string[] = []): Promise<{ port: number; log: () => Entry[] }> {
  const file = join(tmpdir(), `rws-mcp-e2e-${process.pid}-${Date.now()}-${files.length}.log`);
  files.push(file);
  const child = spawn(
    process.execPath,
    [BIN, 'mcp-serve', '--port', '0', ...flags, '--', process.execPath, EXAMPLE],
    {
      env: { PATH: process.env.PATH ?? '', MCP_EXAMPLE_LOG: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  processes.push(child);
  let err = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually(() => /listening on ws:/.test(err), 10_000, `mcp-serve to listen: ${err}`);
  const port = Number(/listening on ws:\/\/[^:]+:(\d+)/.exec(err)![1]);
  const log = (): Entry[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Entry)
      : [];
  return { port, log };
}

interface Entry {
  pid: number;
  method: string;
  id?: number | string;
  tool?: string;
  requestId?: number | string;
}

/** The SDK's Client over `mcp-bridge` (spawned by its stdio transport) to `url`. */
async function connectClient(url: string): Promise<{
  client: Client;
  errors: Error[];
  stderr: () => string;
  transport: StdioClientTransport;
}> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp-bridge', url, ...FAST],
    env: { PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  clients.push(client);
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  await client.connect(transport);
  return { client, errors, stderr: () => stderr, transport };
}

/** A port nobody listens on: while the proxy points there, every reconnect fails. */
async function deadPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const text = (r: unknown): string =>
  ((r as { content: { type: string; text: string }[] }).content[0] ?? { text: '' }).text;

it('a slow tool call survives two cuts (one longer than 8 progress intervals): one result, progress in order to the total, no onerror, one call, one initialize, one process', async () => {
  const serve = await startServe();
  const proxy = new ChaosProxy({ host: '127.0.0.1', port: serve.port });
  proxies.push(proxy);
  await proxy.listen();
  const { client, errors, stderr } = await connectClient(`ws://127.0.0.1:${proxy.port}/ws`);

  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name)).toContain('slow');

  const dead = await deadPort();
  const progress: number[] = [];
  const cuts: string[] = [];
  const result = await client.callTool(
    { name: 'slow', arguments: { steps: 40, delayMs: 50 } },
    undefined,
    {
      timeout: 30_000,
      onprogress: (p) => {
        progress.push(p.progress);
        if (cuts.length === 0 && p.progress >= 8) {
          cuts.push(`short at ${p.progress}`);
          proxy.cut();
        } else if (cuts.length === 1 && p.progress >= 24) {
          // Long: every reconnect fails for 600 ms (12 progress intervals), then goes through.
          cuts.push(`long at ${p.progress}`);
          proxy.moveTo({ host: '127.0.0.1', port: dead });
          proxy.cut();
          setTimeout(() => proxy.moveTo({ host: '127.0.0.1', port: serve.port }), 600);
        }
      },
    },
  );

  expect(text(result)).toBe('done: 40');
  expect(cuts).toHaveLength(2);
  // Strictly increasing and ending at the total (values replaced while away are skipped).
  expect(progress.every((v, i) => i === 0 || v > progress[i - 1]!)).toBe(true);
  expect(progress.at(-1)).toBe(40);
  expect(progress.length).toBeLessThan(40); // the long cut superseded some
  expect(errors).toEqual([]);
  // The bridge reconnected twice.
  expect(stderr().match(/reconnected/g)?.length ?? 0).toBeGreaterThanOrEqual(2);

  const log = serve.log();
  expect(log.filter((e) => e.method === 'tools/call' && e.tool === 'slow')).toHaveLength(1);
  expect(log.filter((e) => e.method === 'initialize')).toHaveLength(1);
  expect(new Set(log.map((e) => e.pid)).size).toBe(1);
  console.log(
    `[mcp e2e] progress received ${progress.length}/40 (${40 - progress.length} superseded), cuts: ${cuts.join(', ')}, onerror ${errors.length}, tools/call ${log.filter((e) => e.method === 'tools/call').length}`,
  );
}, 60_000);

it('a cancelled call reaches the child as notifications/cancelled; the session goes on', async () => {
  const serve = await startServe();
  const { client, errors } = await connectClient(`ws://127.0.0.1:${serve.port}/ws`);
  const abort = new AbortController();
  let seen = 0;
  const call = client.callTool(
    { name: 'slow', arguments: { steps: 100, delayMs: 50 } },
    undefined,
    {
      signal: abort.signal,
      onprogress: (p) => {
        seen = p.progress;
        if (p.progress >= 3) abort.abort('the user gave up');
      },
    },
  );
  await expect(call).rejects.toThrow();
  await eventually(
    () => serve.log().some((e) => e.method === 'notifications/cancelled'),
    5000,
    'the child to log the cancellation',
  );
  const calls = serve.log().filter((e) => e.method === 'tools/call');
  expect(calls).toHaveLength(1);
  expect(serve.log().find((e) => e.method === 'notifications/cancelled')?.requestId).toBe(
    calls[0]!.id,
  );
  expect(seen).toBeLessThan(100);
  // The same session still works.
  expect(text(await client.callTool({ name: 'slow', arguments: { steps: 1, delayMs: 0 } }))).toBe(
    'done: 1',
  );
  expect(errors).toEqual([]);
}, 30_000);

it('a session that expired while the bridge was away: the open request gets an error and the bridge exits 1', async () => {
  const serve = await startServe(['--session-ttl', '1s', '--sweep-interval', '100ms']);
  const proxy = new ChaosProxy({ host: '127.0.0.1', port: serve.port });
  proxies.push(proxy);
  await proxy.listen();
  const { client, transport, stderr } = await connectClient(`ws://127.0.0.1:${proxy.port}/ws`);
  const dead = await deadPort();
  let exit: number | null | undefined;
  const bridge = (transport as unknown as { _process?: ChildProcess })._process;
  bridge?.on('exit', (code) => (exit = code));
  const call = client.callTool(
    { name: 'slow', arguments: { steps: 100, delayMs: 50 } },
    undefined,
    {
      timeout: 30_000,
      onprogress: (p) => {
        if (p.progress === 2) {
          proxy.moveTo({ host: '127.0.0.1', port: dead });
          proxy.cut();
        }
      },
    },
  );
  const failed = call.then(
    () => 'resolved',
    (e: unknown) => String(e),
  );
  // Away for longer than the session TTL (1 s) and a sweep: the session is reaped.
  await sleep(2500);
  proxy.moveTo({ host: '127.0.0.1', port: serve.port });
  expect(await failed).toMatch(/session/i);
  await eventually(() => exit !== undefined, 10_000, 'the bridge to exit');
  expect(exit).toBe(1);
  expect(stderr()).toMatch(/unknown_session|session lost|lost/i);
}, 30_000);
