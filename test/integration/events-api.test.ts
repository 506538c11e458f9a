/**
 * The event log over real HTTP and WebSocket connections: a takeover on 127.0.0.1 (4001) and
 * the resume that caused it logged, breaker changes, `GET /api/events` filters and its 400s,
 * the stats stream's `events`, and the dashboard's additions to `/api/stats` (nodes, the
 * breaker snapshot, histogram buckets).
 */
import { describe, expect, it } from 'vitest';
import type { CoreEvents } from '../../src/core-events.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;
type Entry = { id: number; at: string; type: string; sid?: string; detail: Json };

async function events(base: string, query = ''): Promise<{ status: number; body: Json }> {
  return getJson(`${base}/api/events${query}`);
}
const entries = (body: Json) => body.events as Entry[];

describe('GET /api/events', () => {
  it('a takeover over a real socket: the old connection closes with 4001, takeover and resume are logged', async () => {
    const { server, info } = await startServer();
    const takeovers: CoreEvents['takeover'][] = [];
    server.on('takeover', (e) => takeovers.push(e));
    const a = await RawClient.connect(info.url);
    const { sid, key } = (await a.hello()) as Frame & { sid: string; key: string };
    const b = await RawClient.connect(info.url);
    expect(await b.hello({ sid, key, ack: 0 })).toMatchObject({ resumed: true, recovered: true });
    expect((await a.closed).code).toBe(4001);
    expect(takeovers).toEqual([{ sid, node: server.node }]);

    const all = await events(info.httpUrl);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ node: server.node, evicted: 0 });
    // The new session is not logged; the resume and the takeover are, in order.
    expect(entries(all.body).map((e) => [e.type, e.sid])).toEqual([
      ['takeover', sid],
      ['resume', sid],
    ]);
    const [takeover, resume] = entries(all.body);
    expect(takeover).toEqual({
      id: 1,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      type: 'takeover',
      sid,
      detail: { node: server.node },
    });
    expect(resume).toMatchObject({
      id: 2,
      detail: { recovered: true, missing: 0, replayed: 0 },
    });
    expect(server.eventLog.lastId).toBe(2);
    b.close();
  });

  it('filters by type, sid, after and limit; bad parameters are 400 bad_request', async () => {
    const { server, info } = await startServer();
    const breaker = server.breakers.get('test');
    breaker.forceOpen();
    breaker.reset();
    const c = await RawClient.connect(info.url);
    const { sid } = (await c.hello()) as Frame & { sid: string };
    expect(await server.endSession(sid)).toBe(true);

    const list = entries((await events(info.httpUrl)).body);
    expect(list.map((e) => e.type)).toEqual(['breaker', 'breaker', 'end']);
    expect(list[0]!.detail).toMatchObject({ name: 'test', from: 'closed', to: 'forced_open' });
    expect(list[2]).toMatchObject({ sid, detail: { by: 'admin' } });
    const types = (q: string) =>
      events(info.httpUrl, q).then((r) => entries(r.body).map((e) => e.id));
    expect(await types('?type=breaker')).toEqual([1, 2]);
    expect(await types('?type=end,gap')).toEqual([3]);
    expect(await types(`?sid=${sid}`)).toEqual([3]);
    // An empty sid (a cleared filter box) is no filter.
    expect(await types('?sid=')).toEqual([1, 2, 3]);
    expect(await types('?after=1')).toEqual([2, 3]);
    expect(await types('?limit=2')).toEqual([2, 3]);
    expect(await types('?type=breaker&limit=1')).toEqual([2]);

    const bad = await events(info.httpUrl, '?type=breaker,nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'bad_request' });
    expect((bad.body.error as Json).message).toContain('heartbeat_timeout');
    for (const q of ['?limit=0', '?limit=1001', '?after=-1', '?after=x'])
      expect((await events(info.httpUrl, q)).status, q).toBe(400);
    expect((await getJson(`${info.httpUrl}/api/events`, { method: 'POST' })).status).toBe(405);
    c.close();
  });
});

describe('the dashboard additions', () => {
  it('/api/stats has nodes and histogram buckets, not events; the stream has events', async () => {
    const { server, info } = await startServer();
    const stats = (await getJson(`${info.httpUrl}/api/stats`)).body;
    expect(stats.nodes).toEqual([
      expect.objectContaining({ node: server.node, self: true, alive: true, connections: 0 }),
    ]);
    expect(stats).not.toHaveProperty('events');
    const histograms = (stats.metrics as Json).histograms as Record<
      string,
      { count: number; bounds: number[]; counts: number[] }
    >;
    const ack = histograms.rws_ack_latency_seconds!;
    expect(ack.counts).toHaveLength(ack.bounds.length + 1);

    // The stream: a snapshot, then the entries logged since it in the next one.
    server.breakers.get('test').forceOpen();
    const abort = new AbortController();
    const res = await fetch(`${info.httpUrl}/api/stats/stream`, { signal: abort.signal });
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const next = async (): Promise<Json> => {
      for (;;) {
        const m = /(?:^|\n\n)data: (.*)\n\n/.exec(buffer);
        if (m !== null) {
          buffer = buffer.slice(m.index + m[0].length);
          return JSON.parse(m[1]!) as Json;
        }
        const { value } = await reader.read();
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const first = await next();
    expect((first.events as Entry[]).map((e) => e.type)).toEqual(['breaker']);
    server.breakers.get('test').reset();
    await eventually(async () => {
      const later = await next();
      const logged = (later.events as Entry[]).map((e) => [e.id, e.type]);
      return logged.length > 0 && JSON.stringify(logged) === JSON.stringify([[2, 'breaker']]);
    });
    abort.abort();
  });
});
