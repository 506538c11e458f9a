/**
 * The JSON-RPC helpers: progress keys within the protocol's 128-character limit, which
 * progress tokens are in flight, and the structural types against the MCP SDK's v1 types.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RwsServer } from '../src/index.js';
import { MAX_ID_LENGTH } from '../src/protocol/index.js';
import {
  isJsonRpcMessage,
  progressKey,
  type JsonRpcMessage,
  type McpHost,
  type ResilientClientTransport,
  type ResilientServerTransport,
} from './index.js';
import { ProgressTokens } from './json-rpc.js';

describe('progressKey', () => {
  it('names the token and its type', () => {
    expect(progressKey(7)).toBe('mcp:p:number:7');
    expect(progressKey('7')).toBe('mcp:p:string:7');
    expect(progressKey('a'.repeat(MAX_ID_LENGTH - 'mcp:p:string:'.length))).toHaveLength(
      MAX_ID_LENGTH,
    );
  });

  it('hashes a long token into 128 characters, stable and distinct', () => {
    const long = 'x'.repeat(500);
    const k = progressKey(long);
    expect(k).toHaveLength(MAX_ID_LENGTH);
    expect(k.startsWith('mcp:p:string:xxx')).toBe(true);
    expect(progressKey(long)).toBe(k);
    expect(progressKey(`${long}y`)).not.toBe(k);
    expect(progressKey(`${'x'.repeat(499)}y`)).not.toBe(k);
  });
});

describe('ProgressTokens', () => {
  const call = (id: number | string, token?: number | string): JsonRpcMessage => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: token === undefined ? { name: 't' } : { name: 't', _meta: { progressToken: token } },
  });

  it('a token is in flight from its request to its response or cancellation', () => {
    const t = new ProgressTokens();
    t.request(call(1, 1));
    t.request(call(2, 'b'));
    t.request(call(3));
    expect([t.inFlight(1), t.inFlight('1'), t.inFlight('b')]).toEqual([true, false, true]);
    t.finished(1, { jsonrpc: '2.0', id: 1, result: {} });
    t.finished(2);
    expect([t.inFlight(1), t.inFlight('b')]).toEqual([false, false]);
  });

  it('a response that starts a task keeps the token in flight', () => {
    const t = new ProgressTokens();
    t.request(call(1, 1));
    t.finished(1, { jsonrpc: '2.0', id: 1, result: { task: { taskId: 'T' } } });
    expect(t.inFlight(1)).toBe(true);
    t.finished(1, { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } });
    expect(t.inFlight(1)).toBe(false);
  });
});

it('isJsonRpcMessage takes one JSON-RPC 2.0 object, no batch', () => {
  expect(isJsonRpcMessage({ jsonrpc: '2.0', method: 'x' })).toBe(true);
  expect(isJsonRpcMessage([{ jsonrpc: '2.0', method: 'x' }])).toBe(false);
  expect(isJsonRpcMessage({ jsonrpc: '1.0', method: 'x' })).toBe(false);
  expect(isJsonRpcMessage('{"jsonrpc":"2.0"}')).toBe(false);
  expect(isJsonRpcMessage(null)).toBe(false);
});

it('the transports fit the MCP SDK v1 Transport (types only)', () => {
  expectTypeOf<JSONRPCMessage>().toExtend<JsonRpcMessage>();
  expectTypeOf<ResilientClientTransport>().toExtend<Transport>();
  expectTypeOf<ResilientServerTransport>().toExtend<Transport>();
  expectTypeOf<RwsServer>().toExtend<McpHost>();
  // No `sessionId` on the client side: `Client.connect()` would skip `initialize`.
  expectTypeOf<ResilientClientTransport>().not.toHaveProperty('sessionId');
});

describe('ProgressTokens is bounded', () => {
  it('does not grow without limit when requests start tasks (their tokens are never finished)', () => {
    const p = new ProgressTokens();
    for (let i = 0; i < 20_000; i++) {
      p.request({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { _meta: { progressToken: `t${i}` } },
      });
      p.finished(i, { jsonrpc: '2.0', id: i, result: { task: { taskId: `task${i}` } } });
    }
    const maps = p as unknown as { byRequest: Map<string, string>; tokens: Map<string, string> };
    expect(maps.byRequest.size).toBeLessThanOrEqual(10_000);
    expect(maps.tokens.size).toBeLessThanOrEqual(10_000);
    // The newest stay tracked.
    expect(p.inFlight('t19999')).toBe(true);
  });
});
