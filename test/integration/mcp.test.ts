/**
 * resilient-ws/mcp with the real parts: a `createServer` on port 0 whose sessions each get
 * an SDK `McpServer` through `serveMcp`, and the SDK's `Client` over
 * `ResilientClientTransport`, through a proxy the test cuts. A call survives two cuts with
 * one result, progress that only goes up, no error, and one run of the tool; requests run
 * concurrently; `notifications/cancelled` reaches the tool; an ended session closes the MCP
 * connection.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ResilientClientTransport, serveMcp, type McpRouter } from '../../mcp/index.js';
import type { JsonRpcMessage } from '../../mcp/index.js';
import type { RwsServer } from '../../src/index.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually, sleep } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

/** What the tools did, on the server side. */
interface ToolLog {
  slowRuns: number;
  waits: { started: number; ended?: number; aborted?: boolean }[];
  serverCloses: number;
}

function mcpServer(log: ToolLog): McpServer {
  const s = new McpServer({ name: 'rws-test', version: '1.0.0' });
  s.registerTool(
    'slow',
    {
      description: 'Counts to `steps`, one progress notification per step',
      inputSchema: { steps: z.number().int().positive(), delayMs: z.number().int().min(0) },
    },
    async ({ steps, delayMs }, extra) => {
      log.slowRuns++;
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        await sleep(delayMs);
        if (extra.signal.aborted) throw new Error('aborted');
        if (token !== undefined)
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps },
          });
      }
      return { content: [{ type: 'text', text: `done: ${steps}` }] };
    },
  );
  s.registerTool(
    'wait',
    { description: 'Waits `ms` or until cancelled', inputSchema: { ms: z.number().int().min(0) } },
    async ({ ms }, extra) => {
      const entry: ToolLog['waits'][number] = { started: Date.now() };
      log.waits.push(entry);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          entry.aborted = true;
          resolve();
        });
      });
      entry.ended = Date.now();
      return { content: [{ type: 'text', text: `waited ${ms}` }] };
    },
  );
  s.server.onclose = () => log.serverCloses++;
  return s;
}

interface Setup {
  server: RwsServer;
  router: McpRouter;
  proxy: ChaosProxy;
  transport: ResilientClientTransport;
  client: Client;
  log: ToolLog;
  /** Every `client.onerror`. */
  errors: Error[];
  /** Every message the transport handed to the SDK. */
  received: JsonRpcMessage[];
  closes: number;
}

const proxies: ChaosProxy[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function setup(): Promise<Setup> {
  const { server, info } = await startServer({ heartbeatInterval: 1000, heartbeatTimeout: 1000 });
  const log: ToolLog = { slowRuns: 0, waits: [], serverCloses: 0 };
  const router = serveMcp(server, {
    async connect(transport) {
      await mcpServer(log).connect(transport);
    },
  });
  const proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
  proxies.push(proxy);
  await proxy.listen();
  // A reconnect ~300 ms after each cut (full jitter at 0.99 of the cap): the server sends
  // several progress values meanwhile, which the keyed progress coalesces.
  const transport = new ResilientClientTransport(`ws://127.0.0.1:${proxy.port}/ws`, {
    backoff: { baseMs: 300, capMs: 300 },
    random: () => 0.99,
  });
  const s: Setup = {
    server,
    router,
    proxy,
    transport,
    client: new Client({ name: 'rws-test-client', version: '1.0.0' }),
    log,
    errors: [],
    received: [],
    closes: 0,
  };
  // Installed before connect(): the SDK calls them before its own handlers.
  transport.onmessage = (m) => s.received.push(m);
  s.client.onerror = (e) => s.errors.push(e);
  s.client.onclose = () => s.closes++;
  clients.push(s.client);
  await s.client.connect(transport);
  return s;
}

const text = (r: unknown): string =>
  ((r as { content: { type: string; text: string }[] }).content[0] ?? { text: '' }).text;

describe('resilient-ws/mcp with the MCP SDK', () => {
  it('a tool call survives two cuts: one result, progress strictly increasing to the total, no error, one run', async () => {
    const s = await setup();
    const tools = await s.client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['slow', 'wait']);
    const resumes: boolean[] = [];
    s.transport.client.on('resumed', (e) => resumes.push(e.recovered));

    const progress: number[] = [];
    let total: number | undefined;
    const result = await s.client.callTool(
      { name: 'slow', arguments: { steps: 40, delayMs: 50 } },
      undefined,
      {
        timeout: 30_000,
        onprogress: (p) => {
          progress.push(p.progress);
          total = p.total;
          if ((p.progress >= 8 && s.proxy.cuts === 0) || (p.progress >= 24 && s.proxy.cuts === 1))
            s.proxy.cut();
        },
      },
    );

    expect(text(result)).toBe('done: 40');
    expect(s.proxy.cuts).toBe(2);
    expect(resumes).toEqual([true, true]);
    // One response per request: initialize (0), tools/list (1), and the call (2) once.
    const responses = s.received.filter((m) => m.method === undefined && m.id !== undefined);
    expect(responses.map((m) => m.id)).toEqual([0, 1, 2]);
    // Strictly increasing, ending at the total; values sent while away were superseded.
    expect(progress.every((v, i) => i === 0 || v > progress[i - 1]!)).toBe(true);
    expect(progress.at(-1)).toBe(40);
    expect(total).toBe(40);
    expect(progress.length).toBeLessThan(40);
    expect(s.errors).toEqual([]);
    expect(s.log.slowRuns).toBe(1);
    expect(s.closes).toBe(0);
    expect(s.transport.client.stats.reconnects).toBeGreaterThanOrEqual(2);
    console.log(
      `mcp cut test: ${progress.length} of 40 progress values delivered (${40 - progress.length} superseded while away), ${s.transport.client.stats.reconnects} reconnects, resumes ${JSON.stringify(resumes)}`,
    );
  });

  it('two calls run concurrently', async () => {
    const s = await setup();
    const [a, b] = await Promise.all([
      s.client.callTool({ name: 'wait', arguments: { ms: 400 } }),
      s.client.callTool({ name: 'wait', arguments: { ms: 400 } }),
    ]);
    expect([text(a), text(b)]).toEqual(['waited 400', 'waited 400']);
    const [w1, w2] = s.log.waits;
    // The second started before the first ended: they overlapped.
    expect(w2!.started).toBeLessThan(w1!.ended!);
    expect(s.errors).toEqual([]);
  });

  it('notifications/cancelled reaches the tool’s abort signal; the session goes on', async () => {
    const s = await setup();
    const abort = new AbortController();
    const call = s.client.callTool({ name: 'wait', arguments: { ms: 10_000 } }, undefined, {
      signal: abort.signal,
    });
    await eventually(() => s.log.waits.length === 1);
    abort.abort(new Error('the user cancelled'));
    await expect(call).rejects.toThrow(/cancelled/);
    await eventually(() => s.log.waits[0]!.aborted === true, 2000);
    expect(s.log.waits[0]!.ended! - s.log.waits[0]!.started).toBeLessThan(2000);
    const tools = await s.client.listTools();
    expect(tools.tools).toHaveLength(2);
    expect(s.errors).toEqual([]);
    expect(s.closes).toBe(0);
  });

  it('an ended session rejects the pending call and fires onclose once; the server side closes too', async () => {
    const s = await setup();
    expect(s.transport).not.toHaveProperty('sessionId');
    expect((s.transport as { sessionId?: string }).sessionId).toBeUndefined();
    const sid = s.transport.rwsSession!.sid;
    expect(s.router.transport(sid)?.sessionId).toBe(sid);
    const call = s.client.callTool({ name: 'wait', arguments: { ms: 10_000 } });
    await eventually(() => s.log.waits.length === 1);
    expect(await s.server.endSession(sid, { reason: 'maintenance' })).toBe(true);
    await expect(call).rejects.toThrow(/Connection closed/);
    await eventually(() => s.closes === 1);
    expect(s.errors.map((e) => e.message)).toEqual([
      'the server ended the resilient-ws session: maintenance',
    ]);
    // The tool was aborted by the server SDK when its transport closed.
    await eventually(() => s.log.waits[0]!.aborted === true);
    expect(s.log.serverCloses).toBe(1);
    expect(s.router.size).toBe(0);
    await sleep(100);
    expect(s.closes).toBe(1);
    expect(s.transport.rwsSession).toBeUndefined();
    await expect(s.client.listTools()).rejects.toThrow(/Not connected/);
  });

  it('Client.close() ends the session: onclose once on both sides, no error', async () => {
    const s = await setup();
    const sid = s.transport.rwsSession!.sid;
    await s.client.close();
    expect(s.closes).toBe(1);
    await eventually(() => s.log.serverCloses === 1);
    expect(s.router.transport(sid)).toBeUndefined();
    expect(s.errors).toEqual([]);
  });
});
