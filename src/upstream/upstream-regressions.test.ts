/**
 * Regressions found in review: the gateway upstream against a real loopback HTTP server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { NackError } from '../session/client-messages.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(
  fn: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ port: number; hits: { url: string; auth: string | undefined; body: string }[] }> {
  const hits: { url: string; auth: string | undefined; body: string }[] = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', auth: req.headers.authorization, body });
      fn(req, res, body);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, hits };
}

function upstream(url: string, o: Partial<UpstreamOptions> = {}): Upstream {
  return new Upstream({
    url,
    timeoutMs: 3000,
    retries: 0,
    backoff: { baseMs: 5, capMs: 20 },
    maxInFlight: 10,
    maxResponseBytes: 1024,
    events: new Emitter<CoreEvents>(),
    random: () => 0.5,
    breaker: new CircuitBreaker('upstream', { failureThreshold: 100, failureRate: 0 }),
    ...o,
  });
}

describe('upstream regressions (found in review)', () => {
  it('an upstream URL with credentials never leaks the password into the client nack', async () => {
    const { port } = await serve((_req, res) => res.end('{"ok":true}'));
    const u = upstream(`http://hook:s3cret-pass@127.0.0.1:${port}/hook`);
    const r = await Promise.resolve(u.handler({ sid: 's1', id: 'm1', data: 1 })).then(
      (v: unknown) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    // Either the call succeeds (credentials sent as basic auth) or it fails without
    // echoing the secret to the client.
    if (!r.ok) {
      expect(r.e).toBeInstanceOf(NackError);
      expect((r.e as NackError).message).not.toContain('s3cret-pass');
    }
  });
});
