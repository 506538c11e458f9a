/**
 * McpHost against a fake server: what happens to a child's response when a send fails.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { McpHost, type McpHostServer } from './serve-host.js';

// Echoes each request line back as a response with the same id.
const ECHO = `process.stdin.setEncoding('utf8');let b='';process.stdin.on('data',d=>{b+=d;let i;while((i=b.indexOf('\\n'))>=0){const m=JSON.parse(b.slice(0,i));b=b.slice(i+1);if(m.id!==undefined)process.stdout.write(JSON.stringify({jsonrpc:'2.0',id:m.id,result:{ok:true}})+'\\n');}});process.stdin.on('end',()=>process.exit(0));`;

let host: McpHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

describe('McpHost sends', () => {
  it('retries a response whose send failed with a transient error (never lost)', async () => {
    const sent: unknown[] = [];
    let failures = 1;
    const server: McpHostServer = {
      send: (_sid: string, data: unknown) => {
        if (failures-- > 0) return Promise.reject(new Error('the session store is unavailable'));
        sent.push(data);
        return Promise.resolve({ seq: sent.length });
      },
      endSession: () => Promise.resolve(true),
      isAttached: () => true,
      on: () => () => {},
    };
    host = new McpHost(server, {
      command: { command: process.execPath, args: ['-e', ECHO] },
      maxLineBytes: 1 << 20,
      log: pino({ level: 'silent' }),
    });
    await host.handle({
      sid: 's1',
      id: 'm1',
      data: { jsonrpc: '2.0', id: 7, method: 'ping' },
    });
    const deadline = Date.now() + 3000;
    while (sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sent).toEqual([{ jsonrpc: '2.0', id: 7, result: { ok: true } }]);
  }, 10_000);

  it('a message handled after its session ended starts no child (it would never be stopped)', async () => {
    const listeners: Record<string, ((e: { sid: string }) => void)[]> = {};
    const server = {
      send: () => Promise.resolve({ seq: 1 }),
      endSession: () => Promise.resolve(true),
      isAttached: () => true,
      on: (event: string, fn: (e: { sid: string }) => void) => {
        (listeners[event] ??= []).push(fn);
        return () => {};
      },
    } as unknown as McpHostServer;
    host = new McpHost(server, {
      command: { command: process.execPath, args: ['-e', ECHO] },
      maxLineBytes: 1 << 20,
      log: pino({ level: 'silent' }),
    });
    // The claim of the message passed, then the session ended before its handler ran.
    for (const fn of listeners.end ?? []) fn({ sid: 's2' });
    await host
      .handle({ sid: 's2', id: 'm1', data: { jsonrpc: '2.0', id: 1, method: 'ping' } })
      .catch(() => undefined);
    expect(host.stats().childrenStarted).toBe(0);
  });
});
