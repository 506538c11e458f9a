/**
 * `resilient-ws mcp-bridge` as a real process (`node bin/resilient-ws.js mcp-bridge`, built
 * code in dist/), in front of a real server of this process whose `onMessage` plays a tiny MCP
 * server (initialize, tools/list, a slow tools/call with keyed progress), sometimes through a
 * ChaosProxy that cuts the connection mid-call. Then the SDK's own stdio client running the
 * bridge as its command; then a few paths of the bridge run in-process (`mcpBridge` with
 * streams) that need no second process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { mcpBridge } from '../../mcp/cli/bridge.js';
import { AuthError, type RwsServer } from '../../src/index.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const FAST = ['--backoff-base-ms', '20', '--backoff-cap-ms', '100'];

type Rpc = {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown> & { _meta?: { progressToken?: string | number } };
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- a tiny MCP server on the resilient-ws server ------------------------------------------

interface Seen {
  sid: string;
  method: string | undefined;
  id: unknown;
}

/**
 * Answers initialize and tools/list at once; tools/call `slow {steps, delayMs}` sends
 * `steps` progress notifications (keyed by token, latest wins) `delayMs` apart, then
 * `done: <steps>` 150 ms later. The handler returns at once (the call runs on its own). Records every
 * client message.
 */
function playMcp(server: RwsServer): Seen[] {
  const seen: Seen[] = [];
  const send = (sid: string, data: Rpc, key?: string) =>
    server.send(sid, data, key === undefined ? {} : { key }).catch(() => undefined);
  server.onMessage(({ sid, data }) => {
    const m = data as Rpc;
    seen.push({ sid, method: m.method, id: m.id });
    if (m.method === 'initialize') {
      void send(sid, {
        jsonrpc: '2.0',
        id: m.id!,
        result: {
          protocolVersion: m.params?.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'toy', version: '1.0.0' },
        },
      });
    } else if (m.method === 'tools/list') {
      void send(sid, {
        jsonrpc: '2.0',
        id: m.id!,
        result: {
          tools: [{ name: 'slow', inputSchema: { type: 'object', properties: {} } }],
        },
      });
    } else if (m.method === 'tools/call') {
      const args = (m.params?.arguments ?? {}) as { steps?: number; delayMs?: number };
      const steps = args.steps ?? 5;
      const token = m.params?._meta?.progressToken;
      void (async () => {
        for (let i = 1; i <= steps; i++) {
          await sleep(args.delayMs ?? 20);
          if (token !== undefined)
            await send(
              sid,
              {
                jsonrpc: '2.0',
                method: 'notifications/progress',
                params: { progressToken: token, progress: i, total: steps },
              },
              `mcp:p:${typeof token}:${token}`,
            );
        }
        // A pause before the result: the SDK's Client handles a notification a microtask
        // after a response read in the same chunk, and would miss a last progress sent
        // right before the result (it reports an unknown token).
        await sleep(150);
        await send(sid, {
          jsonrpc: '2.0',
          id: m.id!,
          result: { content: [{ type: 'text', text: `done: ${steps}` }] },
        });
      })();
    } else if (m.method !== undefined && m.id !== undefined) {
      void send(sid, {
        jsonrpc: '2.0',
        id: m.id,
        error: { code: -32601, message: `no method ${m.method}` },
      });
    }
    return undefined;
  });
  return seen;
}

// ---- the bridge as a child process ---------------------------------------------------------

const children: ChildProcess[] = [];
const proxies: ChaosProxy[] = [];

/** stdin of the bridges run in-process: ended after each test, so none outlives it. */
const inProcessStdins: PassThrough[] = [];

afterEach(async () => {
  for (const s of inProcessStdins.splice(0)) s.end();
  for (const c of children.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

interface BridgeProcess {
  child: ChildProcess;
  /** Everything written on stdout so far. */
  stdout(): string;
  /** Every complete stdout line, parsed. */
  messages(): Rpc[];
  stderr(): string;
  write(message: unknown): void;
  exited: Promise<number | null>;
  waitFor(pred: (m: Rpc) => boolean, what: string, timeoutMs?: number): Promise<Rpc>;
}

function spawnBridge(url: string, args: string[] = []): BridgeProcess {
  const child = spawn(process.execPath, [BIN, 'mcp-bridge', url, '--log-level', 'debug', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: 'pipe',
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  const messages = () =>
    out
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as Rpc);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    messages,
    write: (m) => child.stdin.write(`${typeof m === 'string' ? m : JSON.stringify(m)}\n`),
    exited,
    async waitFor(pred, what, timeoutMs = 10_000) {
      let found: Rpc | undefined;
      await eventually(() => (found = messages().find(pred)) !== undefined, timeoutMs, what).catch(
        (e: Error) => {
          throw new Error(`${e.message}; stdout: ${out}; stderr: ${err.slice(-3000)}`);
        },
      );
      return found!;
    },
  };
}

/** The stderr log lines, parsed (every one must be a JSON object with a level). */
function logLines(text: string): { level: string; msg: string; [k: string]: unknown }[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { level: string; msg: string });
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'test', version: '1' },
  },
};
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };
const callSlow = (id: number | string, steps: number, delayMs: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'slow', arguments: { steps, delayMs }, _meta: { progressToken: `tok-${id}` } },
});
const responsesTo = (ms: Rpc[], id: unknown) =>
  ms.filter((m) => m.id === id && m.method === undefined);

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('mcp-bridge as a process', () => {
  it('writes only JSON-RPC on stdout, one response per request id, across a cut mid-call', async () => {
    const { server, info } = await startServer();
    const seen = playMcp(server);
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    proxies.push(proxy);
    await proxy.listen();
    const b = spawnBridge(`ws://127.0.0.1:${proxy.port}/ws`, FAST);
    b.write(INITIALIZE);
    b.write(INITIALIZED);
    b.write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    b.write(callSlow(3, 30, 30));
    await b.waitFor(
      (m) => m.method === 'notifications/progress' && Number(m.params?.progress) >= 5,
      'progress 5',
    );
    expect(proxy.cut()).toBe(1);
    const result = await b.waitFor((m) => m.id === 3, 'the tools/call result');
    expect(result.result).toEqual({ content: [{ type: 'text', text: 'done: 30' }] });
    await sleep(200); // room for a duplicate to show up
    b.child.stdin!.end();
    expect(await b.exited).toBe(0);

    // stdout: complete lines, each a JSON-RPC message.
    expect(b.stdout().endsWith('\n')).toBe(true);
    for (const line of b.stdout().split('\n').slice(0, -1))
      expect(JSONRPCMessageSchema.safeParse(JSON.parse(line)).success, line).toBe(true);
    const ms = b.messages();
    for (const id of [1, 2, 3]) expect(responsesTo(ms, id), `responses to ${id}`).toHaveLength(1);
    expect(responsesTo(ms, 2)[0]!.result).toEqual({
      tools: [{ name: 'slow', inputSchema: { type: 'object', properties: {} } }],
    });
    const progress = ms
      .filter((m) => m.method === 'notifications/progress')
      .map((m) => Number(m.params!.progress));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(new Set(progress).size).toBe(progress.length);
    // The call reached the server once: a resend after the cut was deduplicated.
    expect(seen.filter((s) => s.method === 'tools/call')).toHaveLength(1);
    expect(new Set(seen.map((s) => s.sid)).size).toBe(1);

    // stderr: JSON log lines with a level, the drop and the resume among them.
    const logs = logLines(b.stderr());
    for (const l of logs) expect(['trace', 'debug', 'info', 'warn', 'error']).toContain(l.level);
    const msgs = logs.map((l) => l.msg);
    expect(msgs).toContain('connection lost: reconnecting');
    expect(msgs).toContain('reconnected');
    expect(msgs).toContain('stdin → server');
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('delivers input written before the server is reachable after the first connection, in order', async () => {
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: await deadPort() });
    proxies.push(proxy);
    await proxy.listen();
    const b = spawnBridge(`ws://127.0.0.1:${proxy.port}/ws`, FAST);
    b.write(INITIALIZE);
    b.write(INITIALIZED);
    b.write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    // Attempts fail first (the proxy has nowhere to go) ...
    await eventually(
      () => logLines(b.stderr()).filter((l) => l.msg === 'reconnecting').length >= 2,
      10_000,
      'failed attempts',
    );
    expect(b.stdout()).toBe('');
    // ... then the server appears behind it.
    const { server, info } = await startServer();
    const seen = playMcp(server);
    proxy.moveTo({ host: '127.0.0.1', port: info.port });
    await b.waitFor((m) => m.id === 2, 'the tools/list response');
    expect(b.messages().map((m) => m.id)).toEqual([1, 2]);
    expect(seen.map((s) => s.method)).toEqual([
      'initialize',
      'notifications/initialized',
      'tools/list',
    ]);
    b.child.stdin!.end();
    expect(await b.exited).toBe(0);
  });

  it('answers a line that is not JSON with -32700, and ends the session on stdin EOF (exit 0)', async () => {
    const { server, info } = await startServer();
    const seen = playMcp(server);
    const ended: { sid: string; by: string }[] = [];
    server.on('end', (e) => ended.push(e));
    const b = spawnBridge(info.url, FAST);
    b.write(INITIALIZE);
    await b.waitFor((m) => m.id === 1, 'the initialize response');
    b.write('{"jsonrpc": "2.0", "id": 5, "method": ');
    const parseError = await b.waitFor((m) => m.error?.code === -32700, 'a parse error');
    expect(parseError).toMatchObject({ jsonrpc: '2.0', id: null });
    expect(logLines(b.stderr()).some((l) => l.level === 'warn' && /not JSON/.test(l.msg))).toBe(
      true,
    );
    b.write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await b.waitFor((m) => m.id === 2, 'the tools/list response');
    const sid = seen[0]!.sid;
    expect(server.isAttached(sid)).toBe(true);
    b.child.stdin!.end();
    expect(await b.exited).toBe(0);
    expect(ended).toEqual([{ sid, by: 'bye' }]);
    expect(server.isAttached(sid)).toBe(false);
    // The bad line never reached the server.
    expect(seen.map((s) => s.method)).toEqual(['initialize', 'tools/list']);
  });

  it('answers the open request with a JSON-RPC error and exits 1 when the server ends the session mid-call', async () => {
    const { server, info } = await startServer();
    const seen = playMcp(server);
    const b = spawnBridge(info.url, FAST);
    b.write(INITIALIZE);
    b.write(callSlow('call-7', 100, 50));
    await b.waitFor((m) => m.method === 'notifications/progress', 'a first progress');
    expect(await server.endSession(seen[0]!.sid, { reason: 'maintenance window' })).toBe(true);
    expect(await b.exited).toBe(1);
    const answers = responsesTo(b.messages(), 'call-7');
    expect(answers).toHaveLength(1);
    expect(answers[0]!.error).toMatchObject({ code: -32000 });
    expect(answers[0]!.error!.message).toMatch(
      /ended the resilient-ws session.*maintenance window/,
    );
    expect(answers[0]!.result).toBeUndefined();
    const errors = logLines(b.stderr()).filter((l) => l.level === 'error');
    expect(errors.map((l) => l.msg)).toEqual([answers[0]!.error!.message]);
  });

  it('ends the session and exits 0 on SIGTERM', async () => {
    const { server, info } = await startServer();
    playMcp(server);
    const ended: string[] = [];
    server.on('end', (e) => ended.push(e.by));
    const b = spawnBridge(info.url, FAST);
    b.write(INITIALIZE);
    await b.waitFor((m) => m.id === 1, 'the initialize response');
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(ended).toEqual(['bye']);
  });
});

describe('mcp-bridge under the MCP SDK client', () => {
  it('serves listTools and callTool to Client over StdioClientTransport, across a cut', async () => {
    const { server, info } = await startServer();
    const seen = playMcp(server);
    const ended: string[] = [];
    server.on('end', (e) => ended.push(e.sid));
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    proxies.push(proxy);
    await proxy.listen();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp-bridge', `ws://127.0.0.1:${proxy.port}/ws`, '--log-level', 'debug', ...FAST],
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'bridge-test', version: '1.0.0' });
    const errors: Error[] = [];
    client.onerror = (e) => errors.push(e);
    try {
      await client.connect(transport);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toEqual(['slow']);
      const progress: number[] = [];
      let cut = false;
      const result = await client.callTool(
        { name: 'slow', arguments: { steps: 20, delayMs: 30 } },
        undefined,
        {
          timeout: 20_000,
          onprogress: (p) => {
            progress.push(p.progress);
            if (p.progress >= 5 && !cut) cut = proxy.cut() > 0;
          },
        },
      );
      expect(result.content).toEqual([{ type: 'text', text: 'done: 20' }]);
      expect(cut).toBe(true);
      expect(progress.at(-1)).toBe(20);
      expect(progress).toEqual([...progress].sort((x, y) => x - y));
      expect(seen.filter((s) => s.method === 'tools/call')).toHaveLength(1);
    } finally {
      await client.close();
    }
    // Closing the client closes the bridge's stdin: the session ends.
    await eventually(() => ended.length === 1, 5_000, "the session's end");
    expect(ended).toEqual([seen[0]!.sid]);
    expect(errors).toEqual([]);
    expect(logLines(stderr).map((l) => l.msg)).toContain('reconnected');
  });
});

// ---- in-process: mcpBridge with streams ----------------------------------------------------

interface InProcess {
  stdin: PassThrough;
  messages: Rpc[];
  logs: () => { level: string; msg: string; [k: string]: unknown }[];
  exit: Promise<number>;
  write(m: unknown): void;
  waitFor(pred: (m: Rpc) => boolean, what: string): Promise<Rpc>;
}

function runInProcess(argv: string[], env: Record<string, string> = {}): InProcess {
  const stdin = new PassThrough();
  inProcessStdins.push(stdin);
  const stdout = new PassThrough();
  const messages: Rpc[] = [];
  let pending = '';
  stdout.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) messages.push(JSON.parse(l) as Rpc);
  });
  let err = '';
  const exit = mcpBridge({
    argv,
    env,
    stdin,
    stdout,
    stderr: { write: (s: string) => void (err += s) },
    signals: false,
  });
  return {
    stdin,
    messages,
    logs: () => logLines(err),
    exit,
    write: (m) => stdin.write(`${JSON.stringify(m)}\n`),
    async waitFor(pred, what) {
      let found: Rpc | undefined;
      await eventually(() => (found = messages.find(pred)) !== undefined, 10_000, what).catch(
        (e: Error) => {
          throw new Error(`${e.message}; stdout: ${JSON.stringify(messages)}; stderr: ${err}`);
        },
      );
      return found!;
    },
  };
}

describe('mcp-bridge in-process', () => {
  it('answers a request too large to send with an error for its id, and goes on', async () => {
    const { server, info } = await startServer();
    const seen = playMcp(server);
    const b = runInProcess([info.url, '--max-message-bytes', '1024', ...FAST]);
    b.write({ ...INITIALIZE, params: { ...INITIALIZE.params, pad: 'x'.repeat(1200) } });
    const refused = await b.waitFor((m) => m.id === 1, 'the refusal');
    expect(refused.error).toMatchObject({ code: -32603, data: { rwsCode: 'message_too_large' } });
    // A line over twice the limit cannot even be read: a parse error with id null.
    b.write({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: { pad: 'y'.repeat(3000) } });
    await b.waitFor((m) => m.error?.code === -32700, 'the overlong line');
    b.write(INITIALIZE);
    b.write({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await b.waitFor((m) => m.id === 2, 'the tools/list response');
    expect(responsesTo(b.messages, 1)).toHaveLength(2); // the refusal, then the real answer
    expect(seen.map((s) => s.method)).toEqual(['initialize', 'tools/list']);
    b.stdin.end();
    expect(await b.exit).toBe(0);
  });

  it('answers open requests and exits 1 when a resume finds the session gone; nothing is sent to the new one', async () => {
    const first = await startServer();
    playMcp(first.server);
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: first.info.port });
    proxies.push(proxy);
    await proxy.listen();
    const b = runInProcess([`ws://127.0.0.1:${proxy.port}/ws`, ...FAST]);
    b.write(INITIALIZE);
    b.write(callSlow(3, 100, 50));
    await b.waitFor((m) => m.method === 'notifications/progress', 'a first progress');
    // The connection drops; a request is written while the bridge is reconnecting.
    proxy.moveTo({ host: '127.0.0.1', port: await deadPort() });
    proxy.cut();
    await eventually(() => b.logs().some((l) => l.msg === 'connection lost: reconnecting'));
    b.write({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
    await sleep(50);
    // A server that never heard of the session takes over (a restart with a memory store).
    const second = await startServer();
    const seenBySecond = playMcp(second.server);
    proxy.moveTo({ host: '127.0.0.1', port: second.info.port });
    expect(await b.exit).toBe(1);
    const lost = {
      code: -32000,
      message: expect.stringMatching(/session lost \(unknown_session\)/) as unknown,
    };
    expect(responsesTo(b.messages, 3)).toEqual([{ jsonrpc: '2.0', id: 3, error: lost }]);
    expect(responsesTo(b.messages, 4)).toEqual([{ jsonrpc: '2.0', id: 4, error: lost }]);
    // The new session got nothing: an MCP server there would never see an initialize.
    expect(seenBySecond).toEqual([]);
    expect(b.logs().filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('drops progress for a request already answered', async () => {
    const { server, info } = await startServer();
    server.onMessage(({ sid, data }) => {
      const m = data as Rpc;
      if (m.method !== 'tools/call') return undefined;
      const progressToken = m.params!._meta!.progressToken!;
      const progress = (n: number) => ({
        jsonrpc: '2.0' as const,
        method: 'notifications/progress',
        params: { progressToken, progress: n },
      });
      void (async () => {
        await server.send(sid, progress(1));
        await server.send(sid, { jsonrpc: '2.0', id: m.id!, result: { content: [] } });
        await server.send(sid, progress(2)); // too late: the client would not know the token
        await server.send(sid, { jsonrpc: '2.0', method: 'notifications/message', params: {} });
      })();
      return undefined;
    });
    const b = runInProcess([info.url, '--log-level', 'debug', ...FAST]);
    b.write(callSlow(4, 1, 1));
    await b.waitFor((m) => m.method === 'notifications/message', 'the last message');
    expect(b.messages.map((m) => m.method ?? `response ${String(m.id)}`)).toEqual([
      'notifications/progress',
      'response 4',
      'notifications/message',
    ]);
    b.stdin.end();
    expect(await b.exit).toBe(0);
  });

  it('sends the token of --token-env; a refused token answers open requests and exits 1', async () => {
    const tokens: (string | undefined)[] = [];
    const { server, info } = await startServer({
      authenticate: (hello) => {
        tokens.push(hello.token);
        if (hello.token !== 'good-token-0123456789') throw new AuthError('bad token');
        return true;
      },
    });
    playMcp(server);
    const ok = runInProcess([info.url, '--token-env', 'T', ...FAST], {
      T: 'good-token-0123456789',
    });
    ok.write(INITIALIZE);
    await ok.waitFor((m) => m.id === 1, 'the initialize response');
    ok.stdin.end();
    expect(await ok.exit).toBe(0);
    expect(JSON.stringify(ok.logs())).not.toContain('good-token');

    const bad = runInProcess([info.url, '--token-env', 'T', ...FAST], {
      T: 'wrong-token-0123456789',
    });
    bad.write(INITIALIZE);
    expect(await bad.exit).toBe(1);
    expect(bad.messages).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        error: {
          code: -32000,
          message: expect.stringMatching(/closed for good \(close 4500/) as unknown,
        },
      },
    ]);
    expect(tokens).toEqual(['good-token-0123456789', 'wrong-token-0123456789']);
  });

  it('gives up after --connect-timeout-ms without a first connection: errors for open requests, exit 1', async () => {
    const b = runInProcess([
      `ws://127.0.0.1:${await deadPort()}/ws`,
      '--connect-timeout-ms',
      '300',
      ...FAST,
    ]);
    b.write(INITIALIZE);
    b.write(INITIALIZED);
    expect(await b.exit).toBe(1);
    expect(b.messages).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        error: {
          code: -32000,
          message: expect.stringMatching(/no connection .* within 300 ms/) as unknown,
        },
      },
    ]);
  });
});
