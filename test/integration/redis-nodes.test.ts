/**
 * Nodes on Redis in one process (real sockets, the real SDK, the machine's Redis with a fresh
 * key prefix; a private redis-server for the outage): `store: redis://…` alone makes servers
 * share sessions. Sends on any node reach the client wherever it is attached, it resumes on
 * another node with `recovered: true`, a resume elsewhere closes the old connection with
 * 4001, an admin kick on one node closes the connection on another, the admin API answers
 * for the whole deployment, and a Redis outage is a retryable 503 that heals by itself.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ResilientClient, type ClientResumedEvent } from '../../client/index.js';
import { balanced } from '../support/balancer.js';
import {
  deletePrefix,
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from '../../src/store/redis/redis-test-support.js';
import { eventually, RawClient } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

const hasRedis = await requireRedis('redis nodes integration');
const prefixes: string[] = [];

async function nodes(names: string[], url = TEST_REDIS_URL, prefix = freshPrefix()) {
  prefixes.push(prefix);
  const started = [];
  for (const node of names)
    started.push(await startServer({ store: url, redisPrefix: prefix, node }));
  return started;
}

async function hello(url: string, resume?: { sid: string; key: string; ack: number }) {
  const c = await RawClient.connect(url);
  c.send(resume === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, resume });
  const w = await c.next((f) => f.t === 'welcome');
  return { c, w, sid: w.sid as string, key: w.key as string };
}

describe.skipIf(!hasRedis)('nodes on Redis', () => {
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  });

  it('sends on any node reach the client; it resumes on another node, recovered, when its node goes away', async () => {
    const [a, b, c] = await nodes(['node-a', 'node-b', 'node-c']);
    let target = a!.info.url;
    const client = new ResilientClient('ws://balancer/ws', {
      WebSocket: balanced(() => target),
      backoff: { baseMs: 5, capMs: 20 },
    });
    const got: unknown[] = [];
    const resumes: ClientResumedEvent[] = [];
    client.on('message', (m) => got.push(m.data));
    client.on('resumed', (e) => resumes.push(e));
    const opened = new Promise<string>((resolve) => client.on('open', (e) => resolve(e.sid)));
    client.connect();
    const sid = await opened;
    expect(a!.server.isAttached(sid)).toBe(true);

    await a!.server.send(sid, 'a1');
    expect(
      await postJson(`${b!.info.httpUrl}/api/sessions/${sid}/messages`, { data: 'b1' }),
    ).toMatchObject({ status: 202, body: { seq: 2 } });
    await c!.server.send(sid, 'c1');
    await eventually(() => got.length === 3, 5000, 'delivery from three nodes');
    expect(got).toEqual(['a1', 'b1', 'c1']);

    target = b!.info.url;
    await a!.server.close();
    await c!.server.send(sid, 'c2');
    await eventually(() => resumes.length > 0, 5000, 'resume on B');
    expect(resumes).toEqual([{ recovered: true }]);
    expect(b!.server.isAttached(sid)).toBe(true);
    for (let i = 3; i <= 20; i++) await c!.server.send(sid, `c${i}`);
    await eventually(() => got.length >= 22, 5000, 'delivery after the move');
    expect(got).toEqual(['a1', 'b1', 'c1', ...Array.from({ length: 19 }, (_, i) => `c${i + 2}`)]);
    await client.close();
  });

  it('a resume on node B closes the connection on node A with 4001; A’s late detach changes nothing', async () => {
    const [a, b] = await nodes(['node-a', 'node-b']);
    const first = await hello(a!.info.url);
    await a!.server.send(first.sid, 'm1');
    await first.c.next((f) => f.t === 'msg');
    const second = await hello(b!.info.url, { sid: first.sid, key: first.key, ack: 0 });
    expect(second.w).toMatchObject({ sid: first.sid, resumed: true, recovered: true });
    expect((await first.c.closed).code).toBe(4001);
    await eventually(() => !a!.server.isAttached(first.sid), 2000, 'A let go');
    const record = await getJson(`${a!.info.httpUrl}/api/sessions/${first.sid}`);
    expect(record.body).toMatchObject({ attached: true, attachedHere: false });
    await a!.server.send(first.sid, 'm2');
    const m2 = await second.c.next((f) => f.t === 'msg' && f.data === 'm2');
    expect(m2.seq).toBe(2);
    second.c.ws.close();
  });

  it('an admin kick on node B ends the session attached on node A (1000)', async () => {
    const [a, b] = await nodes(['node-a', 'node-b']);
    const s = await hello(a!.info.url);
    const kicked = await fetch(`${b!.info.httpUrl}/api/sessions/${s.sid}`, { method: 'DELETE' });
    expect(kicked.status).toBe(200);
    expect((await s.c.closed).code).toBe(1000);
    expect((await getJson(`${a!.info.httpUrl}/api/sessions/${s.sid}`)).status).toBe(404);
  });

  it('a stream reset under an open connection (its key deleted) closes it with 1012; the resume says epoch_changed', async () => {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const { server, info } = await startServer({
      store: TEST_REDIS_URL,
      redisPrefix: prefix,
      node: 'node-a',
      positionCheckIntervalMs: 50,
    });
    const s = await hello(info.url);
    await server.send(s.sid, 'm1');
    await s.c.next((f) => f.t === 'msg');
    // m1 is retained (not acked) when someone deletes the session's stream behind the store's back; the next send starts
    // the stream over (seq 1 again, a new epoch).
    const raw = new Redis(TEST_REDIS_URL);
    const [key] = await raw.keys(`${prefix}:*:o:${s.sid}`);
    await raw.del(key!);
    raw.disconnect();
    expect(await server.send(s.sid, 'm2')).toEqual({ seq: 1 });
    expect((await s.c.closed).code).toBe(1012);
    // The client had m1 (seq 1 of the lost stream): its ack means nothing in the new one.
    const again = await hello(info.url, { sid: s.sid, key: s.key, ack: 1 });
    expect(again.w).toMatchObject({ resumed: true, recovered: false, reason: 'epoch_changed' });
    const m2 = await again.c.next((f) => f.t === 'msg');
    expect(m2).toMatchObject({ seq: 1, data: 'm2' });
    again.c.ws.close();
  });

  it('the admin API answers for the deployment on every node: nodes, stats, sessions, dead letters', async () => {
    const [a, b] = await nodes(['node-a', 'node-b']);
    const s = await hello(a!.info.url);
    for (let i = 0; i < 3; i++) await b!.server.send(s.sid, i);
    await eventually(
      async () =>
        ((await getJson(`${b!.info.httpUrl}/api/nodes`)).body.nodes as unknown[]).length === 2,
      5000,
      'both nodes listed',
    );
    for (const n of [a!, b!]) {
      const listed = await getJson(`${n.info.httpUrl}/api/nodes`);
      expect(listed.body.node).toBe(n.server.node);
      const names = (listed.body.nodes as { node: string; alive: boolean }[]).map((x) => x.node);
      expect(names.sort()).toEqual(['node-a', 'node-b']);
      const stats = await getJson(`${n.info.httpUrl}/api/stats`);
      expect(stats.body).toMatchObject({
        node: n.server.node,
        sessions: { total: 1, attached: 1 },
        cluster: { nodes: 2 },
        store: { kind: 'redis', ready: true, generation: 1 },
      });
      const top = await getJson(`${n.info.httpUrl}/api/sessions?sort=depth`);
      expect(top.body).toMatchObject({ total: 1, sessions: [{ sid: s.sid, depth: 3 }] });
      const breakers = await getJson(`${n.info.httpUrl}/api/breakers`);
      expect(breakers.body.node).toBe(n.server.node);
    }
    // A dead letter made on A (the session ends with its outbox) is listed on B.
    await a!.server.endSession(s.sid);
    const dlq = await getJson(`${b!.info.httpUrl}/api/dlq`);
    expect(dlq.body.deadLetters ?? dlq.body.entries ?? dlq.body).toBeDefined();
    expect(JSON.stringify(dlq.body)).toContain(s.sid);
  });
});

describe.skipIf(!hasRedis)('a Redis outage', () => {
  it('fails publishes with a retryable 503 and /readyz, then heals by itself; resumes then say unknown_session', async () => {
    const redis = await PrivateRedis.start();
    try {
      const [a] = await nodes(['node-a'], redis.url);
      const s = await hello(a!.info.url);
      await redis.kill();
      const res = await fetch(`${a!.info.httpUrl}/api/sessions/${s.sid}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: 1 }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'store_unavailable',
      );
      expect((await fetch(`${a!.info.httpUrl}/readyz`)).status).toBe(503);
      await redis.restart(); // empty: no persistence
      // The node sees another Redis (a new run_id) and closes its connections with 1012 so
      // that clients resume and learn what survived.
      expect((await s.c.closed).code).toBe(1012);
      await eventually(
        async () => (await fetch(`${a!.info.httpUrl}/readyz`)).status === 200,
        10_000,
        'ready again',
      );
      // The session is gone with Redis's data: the client is told, never silently served.
      const again = await hello(a!.info.url, { sid: s.sid, key: s.key, ack: 0 });
      expect(again.w).toMatchObject({ resumed: false, reason: 'unknown_session' });
      expect(again.sid).not.toBe(s.sid);
      again.c.ws.close();
    } finally {
      await redis.stop();
    }
  });
});
