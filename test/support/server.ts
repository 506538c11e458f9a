/** Start a real server on 127.0.0.1:0 for a test, and close it afterwards. */
import { afterEach } from 'vitest';
import {
  createServer,
  type RwsServer,
  type ServerOptions,
  type ListenInfo,
} from '../../src/index.js';

const running: RwsServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: RwsServer; info: ListenInfo }> {
  const server = createServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options });
  running.push(server);
  const info = await server.listen();
  return { server, info };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** fetch a URL and parse its JSON body (any method; GET by default). */
export async function getJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
