/**
 * Regressions found in review: admin HTTP API, DLQ replay and server start/close on a real server.
 */
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createServer, isRwsError } from '../../src/index.js';
import { RawClient, sleep, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;

async function session(url: string): Promise<{ c: RawClient; sid: string }> {
  const c = await RawClient.connect(url);
  const w = (await c.hello()) as Frame & { sid: string };
  return { c, sid: w.sid };
}

/** Raw HTTP/1.1 on a socket: returns a writer and the response status once it arrives. */
function rawRequest(port: number, head: string) {
  const sock = connect(port, '127.0.0.1');
  let data = '';
  const status = new Promise<number>((resolve, reject) => {
    sock.on('data', (b: Buffer) => {
      data += b.toString();
      const m = /^HTTP\/1\.1 (\d+)/.exec(data);
      if (m !== null && data.includes('\r\n\r\n')) resolve(Number(m[1]));
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`closed; got ${JSON.stringify(data)}`)));
  });
  sock.write(head);
  return { sock, status, text: () => data };
}

describe('admin API regressions (found in review)', () => {
  it('two concurrent replays of one dead letter send it only once', async () => {
    const { server, info } = await startServer({ outboxMax: 2, overflow: 'drop-oldest' });
    const { c, sid } = await session(info.url);
    for (const d of ['m1', 'm2', 'm3'])
      await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: d });
    const list = await getJson(`${info.httpUrl}/api/dlq`);
    const id = (list.body.entries as Json[])[0]!.id as number;
    // Replay A: headers now, its (optional) body later.
    const a = rawRequest(
      info.port,
      `POST /api/dlq/${id}/replay HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n`,
    );
    await sleep(100);
    // Replay B, while A is in progress: refused, nothing sent.
    const b = await postJson(`${info.httpUrl}/api/dlq/${id}/replay`, '');
    expect(b.status).toBe(409);
    expect((b.body.error as { code: string }).code).toBe('replay_in_progress');
    a.sock.write('{}');
    const aStatus = await a.status;
    a.sock.destroy();
    expect(aStatus).toBe(202);
    // The entry was replayed once, then it is gone.
    expect((await server.store.getSession(sid))?.last).toBe(4);
    expect((await postJson(`${info.httpUrl}/api/dlq/${id}/replay`, '')).status).toBe(404);
    c.close();
  });

  it('GET /api/dlq?limit=1000 gives a next cursor when more than 1000 entries match', async () => {
    const { server, info } = await startServer();
    for (let i = 0; i < 1005; i++) await server.dlq.add('s', 'overflow', String(i), Date.now());
    const page = await getJson(`${info.httpUrl}/api/dlq?limit=1000`);
    expect(page.status).toBe(200);
    expect((page.body.entries as Json[]).length).toBe(1000);
    expect(page.body.next).toBe((page.body.entries as Json[])[999]!.id);
  });

  it('replay refused by drop-newest (outbox full): the entry stays in the queue', async () => {
    const { server, info } = await startServer({ outboxMax: 1, overflow: 'drop-newest' });
    const { c, sid } = await session(info.url);
    await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'keep' });
    // Refused by the full outbox: dead-lettered.
    const r = await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'lost' });
    expect(r.body).toEqual({ dropped: 'overflow', policy: 'drop-newest' });
    const entry = ((await getJson(`${info.httpUrl}/api/dlq`)).body.entries as Json[])[0]!;
    expect(entry).toMatchObject({ sid, reason: 'overflow', data: 'lost' });
    const replay = await postJson(`${info.httpUrl}/api/dlq/${String(entry.id)}/replay`, '');
    // A replay into a full outbox is refused whatever the policy (never dropped a second
    // time), and the entry stays: it leaves the queue only when the send succeeded.
    expect(replay.status).toBe(429);
    expect((replay.body.error as { code: string }).code).toBe('outbox_full');
    expect((await getJson(`${info.httpUrl}/api/dlq/${String(entry.id)}`)).status).toBe(200);
    expect((await server.dlq.stats()).size).toBe(1);
    c.close();
  });

  it('close() called while listen() is still starting leaves no port open', async () => {
    const port = await freePort();
    const server = createServer({ host: '127.0.0.1', port, logLevel: 'silent' });
    const listening = server.listen().then(
      () => 'listened',
      (e: unknown) => (isRwsError(e) ? e.code : String(e)),
    );
    await server.close();
    // close() came first: listen() is refused, never a server that listens after close().
    expect(await listening).toBe('server_closed');
    expect(() => server.address()).toThrow(expect.objectContaining({ code: 'not_listening' }));
    // Seen from outside: nothing accepts connections on the port.
    expect(await tcpConnect(port)).toBe('ECONNREFUSED');
  });
});

/** A port that was free a moment ago (bound on port 0, then released). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** How a TCP connect to 127.0.0.1:port ends: 'connected' or the error code. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}
