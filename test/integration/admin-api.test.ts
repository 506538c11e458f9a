/**
 * The admin API over real HTTP on a real server: stats, top-N sessions, one session, kick,
 * the dead-letter queue end to end (overflow → list → page → replay to a live session →
 * purge), breakers (list, force open, reset), and auth on /api/* and /metrics.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };
type Json = Record<string, unknown>;

const code = (body: Json) => (body.error as { code: string }).code;

async function session(url: string): Promise<{ c: RawClient; sid: string }> {
  const c = await RawClient.connect(url);
  const w = (await c.hello()) as Welcome;
  return { c, sid: w.sid };
}

describe('admin API', () => {
  it('GET /api/stats: connections, sessions, outbox and DLQ figures as JSON', async () => {
    const { info } = await startServer();
    const a = await session(info.url);
    const b = await session(info.url);
    for (let i = 0; i < 3; i++)
      await postJson(`${info.httpUrl}/api/sessions/${a.sid}/messages`, { data: 'x'.repeat(10) });
    b.c.close();
    await eventually(async () => {
      const s = (await getJson(`${info.httpUrl}/api/stats`)).body;
      return (s.sessions as Json).detached === 1;
    });
    const { status, body } = await getJson(`${info.httpUrl}/api/stats`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      connections: 1,
      sessions: { total: 2, attached: 1, detached: 1, attachedHere: 1 },
      outbox: { messages: 3, bytes: 36 },
      dlq: { size: 0 },
    });
    expect((body.outbox as Json).oldestAgeMs).toBeGreaterThanOrEqual(0);
    a.c.close();
  });

  it('GET /api/sessions: top-N by depth or age, never the key; bad parameters are 400', async () => {
    const { info } = await startServer();
    const ids: string[] = [];
    const clients: RawClient[] = [];
    for (const depth of [2, 5, 0, 3]) {
      const { c, sid } = await session(info.url);
      clients.push(c);
      ids.push(sid);
      for (let i = 0; i < depth; i++)
        await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: i });
    }
    const top = await getJson(`${info.httpUrl}/api/sessions?limit=2&sort=depth`);
    expect(top.status).toBe(200);
    expect(top.body.total).toBe(4);
    const rows = top.body.sessions as Json[];
    expect(rows.map((r) => [r.sid, r.depth])).toEqual([
      [ids[1], 5],
      [ids[3], 3],
    ]);
    expect(rows[0]).toMatchObject({ attached: true, attachedHere: true, last: 5, acked: 0 });
    expect(JSON.stringify(top.body)).not.toMatch(/keyHash|"key"/);

    const byAge = await getJson(`${info.httpUrl}/api/sessions?sort=age`);
    // Oldest retained message first; the session with an empty outbox is not listed.
    expect((byAge.body.sessions as Json[]).map((r) => r.sid)).toEqual([ids[0], ids[1], ids[3]]);

    for (const q of ['limit=0', 'limit=abc', 'limit=100000', 'sort=size']) {
      const bad = await getJson(`${info.httpUrl}/api/sessions?${q}`);
      expect(bad.status, q).toBe(400);
      expect(code(bad.body)).toBe('bad_request');
    }
    for (const c of clients) c.close();
  });

  it('GET /api/sessions/{sid} shows one session; DELETE kicks it (close 1000) and forgets it', async () => {
    const { info } = await startServer();
    const { c, sid } = await session(info.url);
    await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'a' });
    const one = await getJson(`${info.httpUrl}/api/sessions/${encodeURIComponent(sid)}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ sid, depth: 1, last: 1, attached: true });
    expect(one.body).not.toHaveProperty('keyHash');

    const del = await getJson(`${info.httpUrl}/api/sessions/${sid}`, { method: 'DELETE' });
    expect(del).toEqual({ status: 200, body: { sid, ended: true } });
    expect((await c.closed).code).toBe(1000);
    expect((await getJson(`${info.httpUrl}/api/sessions/${sid}`)).status).toBe(404);
    const again = await getJson(`${info.httpUrl}/api/sessions/${sid}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(code(again.body)).toBe('unknown_session');
    // What the kicked session still held went to the dead-letter queue, not nowhere.
    const dlq = await getJson(`${info.httpUrl}/api/dlq?sid=${sid}`);
    expect((dlq.body.entries as Json[]).map((e) => [e.reason, e.data])).toEqual([
      ['session_closed', 'a'],
    ]);
  });

  it('dead letters: overflow → list and page → replay to a live session → purge', async () => {
    const { info } = await startServer({ outboxMax: 2, overflow: 'drop-oldest' });
    const { c, sid } = await session(info.url);
    for (const d of ['m1', 'm2', 'm3', 'm4'])
      await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: { d } });
    // m1 and m2 were evicted (written, never acked): two overflow dead letters.
    const list = await getJson(`${info.httpUrl}/api/dlq?reason=overflow&limit=1`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ size: 2, evicted: 0 });
    const first = (list.body.entries as Json[])[0]!;
    expect(first).toMatchObject({ sid, seq: 1, reason: 'overflow', data: { d: 'm1' } });
    expect(list.body.next).toBe(first.id);
    const page2 = await getJson(
      `${info.httpUrl}/api/dlq?reason=overflow&limit=1&after=${String(list.body.next)}`,
    );
    expect((page2.body.entries as Json[]).map((e) => e.data)).toEqual([{ d: 'm2' }]);
    expect(page2.body).not.toHaveProperty('next');
    expect((await getJson(`${info.httpUrl}/api/dlq?reason=ttl`)).body.entries).toEqual([]);
    expect((await getJson(`${info.httpUrl}/api/dlq?reason=bogus`)).status).toBe(400);

    // Replay m1 to its (live) session: a new message with a new seq, and it leaves the queue.
    const replay = await postJson(`${info.httpUrl}/api/dlq/${String(first.id)}/replay`, '');
    expect(replay).toEqual({ status: 202, body: { id: first.id, sid, seq: 5 } });
    expect(await c.next((f) => f.t === 'msg' && f.seq === 5)).toEqual({
      t: 'msg',
      seq: 5,
      data: { d: 'm1' },
    });
    expect((await getJson(`${info.httpUrl}/api/dlq/${String(first.id)}`)).status).toBe(404);

    // Replay into a session that does not exist: 404, and the entry stays.
    const second = (page2.body.entries as Json[])[0]!;
    const lost = await postJson(`${info.httpUrl}/api/dlq/${String(second.id)}/replay`, {
      sid: 'no-such-session',
    });
    expect(lost.status).toBe(404);
    expect(code(lost.body)).toBe('unknown_session');
    expect((await getJson(`${info.httpUrl}/api/dlq/${String(second.id)}`)).status).toBe(200);

    const purge = await getJson(`${info.httpUrl}/api/dlq`, { method: 'DELETE' });
    expect(purge.status).toBe(200);
    expect(purge.body.purged).toBeGreaterThanOrEqual(1);
    expect((await getJson(`${info.httpUrl}/api/dlq`)).body).toMatchObject({ size: 0, entries: [] });
    c.close();
  });

  it('breakers: listed with their state, forced open and reset; unknown ones are 404', async () => {
    // The upstream is never called here: the breaker exists because an upstream is set.
    const { info } = await startServer({ upstreamUrl: 'http://127.0.0.1:9/none' });
    const list = await getJson(`${info.httpUrl}/api/breakers`);
    expect(list.status).toBe(200);
    expect(list.body.breakers).toEqual([
      expect.objectContaining({ name: 'upstream', state: 'closed' }),
    ]);
    const forced = await postJson(`${info.httpUrl}/api/breakers/upstream/force-open`, '');
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ name: 'upstream', state: 'forced_open' });
    const stats = await getJson(`${info.httpUrl}/api/stats`);
    // /api/stats shows each breaker as /api/breakers does (the dashboard polls nothing else).
    const now = (await getJson(`${info.httpUrl}/api/breakers`)).body.breakers as unknown[];
    expect(stats.body.breakers).toEqual(now);
    expect(stats.body.breakers).toEqual([
      expect.objectContaining({ name: 'upstream', state: 'forced_open', openUntil: null }),
    ]);
    const reset = await postJson(`${info.httpUrl}/api/breakers/upstream/reset`, '');
    expect(reset.body).toMatchObject({ name: 'upstream', state: 'closed' });
    const unknown = await postJson(`${info.httpUrl}/api/breakers/nope/reset`, '');
    expect(unknown.status).toBe(404);
    expect(code(unknown.body)).toBe('unknown_breaker');
    expect((await getJson(`${info.httpUrl}/api/breakers/upstream/reset`)).status).toBe(405);
  });

  it('with an admin token, /api/* and /metrics need it', async () => {
    const { info } = await startServer({ adminToken: 'secret-token-123' });
    for (const path of [
      '/api/stats',
      '/api/sessions',
      '/api/dlq',
      '/api/breakers',
      '/api/events',
      '/metrics',
    ]) {
      const res = await fetch(`${info.httpUrl}${path}`);
      expect(res.status, path).toBe(401);
      const ok = await fetch(`${info.httpUrl}${path}`, {
        headers: { authorization: 'Bearer secret-token-123' },
      });
      expect(ok.status, path).toBe(200);
      await ok.arrayBuffer();
    }
  });

  it('/metrics answers 404 metrics_disabled when metrics are off', async () => {
    const { info } = await startServer({ metrics: false });
    const r = await getJson(`${info.httpUrl}/metrics`);
    expect(r.status).toBe(404);
    expect(code(r.body)).toBe('metrics_disabled');
    // /api/stats still works, without the metrics part.
    const s = await getJson(`${info.httpUrl}/api/stats`);
    expect(s.status).toBe(200);
    expect(s.body).not.toHaveProperty('metrics');
  });
});

describe('request ids', () => {
  it('echoes a valid x-request-id and makes one up otherwise', async () => {
    const { info } = await startServer();
    const given = await fetch(`${info.httpUrl}/healthz`, { headers: { 'x-request-id': 'req-42' } });
    expect(given.headers.get('x-request-id')).toBe('req-42');
    const bad = await fetch(`${info.httpUrl}/healthz`, { headers: { 'x-request-id': 'a b<c>' } });
    const made = bad.headers.get('x-request-id');
    expect(made).toMatch(/^[A-Za-z0-9._:+=/-]{8,128}$/);
    expect(made).not.toBe('a b<c>');
  });
});
