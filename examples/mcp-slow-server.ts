/**
 * A stdio MCP server with one slow tool, to try `resilient-ws mcp-serve` (and its tests):
 *
 *   npm run build
 *   node bin/resilient-ws.js mcp-serve --port 8090 -- node dist/examples/mcp-slow-server.js
 *
 * Tool `slow {steps, delayMs}` waits `delayMs` per step, sends `notifications/progress` i/steps
 * when the request has a progress token, stops when the request is cancelled, and answers
 * `done: <steps>`. With `MCP_EXAMPLE_LOG=<file>` it appends one JSON line per request it
 * receives ({pid, method, id, tool}) and per cancellation ({pid, method, requestId}). It logs to
 * stderr only (stdout is the protocol) and exits when stdin ends.
 */
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const logFile = process.env.MCP_EXAMPLE_LOG;

function record(entry: Record<string, unknown>): void {
  if (logFile !== undefined && logFile !== '')
    appendFileSync(logFile, JSON.stringify({ pid: process.pid, ...entry }) + '\n');
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

const server = new McpServer({ name: 'mcp-slow-server', version: '1.0.0' });

server.registerTool(
  'slow',
  {
    description:
      'Waits delayMs per step for steps steps, reporting progress; answers "done: <steps>".',
    inputSchema: {
      steps: z.number().int().min(1).max(10_000),
      delayMs: z.number().int().min(0).max(60_000),
    },
  },
  async ({ steps, delayMs }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      await delay(delayMs, extra.signal);
      if (extra.signal.aborted) {
        console.error(`mcp-slow-server: request ${extra.requestId} cancelled at step ${i}`);
        return { content: [{ type: 'text', text: `cancelled at ${i}` }], isError: true };
      }
      if (token !== undefined)
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps, message: `${i}/${steps}` },
        });
    }
    return { content: [{ type: 'text', text: `done: ${steps}` }] };
  },
);

const transport = new StdioServerTransport();
await server.connect(transport);

// Record what arrives, then hand it to the SDK (connect() installed its handler).
const handle = transport.onmessage;
transport.onmessage = (message: Parameters<NonNullable<typeof handle>>[0]): void => {
  const m = message as {
    id?: string | number;
    method?: string;
    params?: { name?: unknown; requestId?: unknown };
  };
  if (m.method === 'notifications/cancelled')
    record({ method: m.method, requestId: m.params?.requestId });
  else if (m.method !== undefined && m.id !== undefined)
    record({
      method: m.method,
      id: m.id,
      ...(m.method === 'tools/call' ? { tool: m.params?.name } : {}),
    });
  handle?.(message);
};

// The SDK's stdio transport does not stop on stdin EOF (typescript-sdk#2002): this server does.
const exit = (): void => void server.close().finally(() => process.exit(0));
process.stdin.once('end', exit);
process.stdin.once('close', exit);
console.error(`mcp-slow-server: ready, pid ${process.pid}`);
