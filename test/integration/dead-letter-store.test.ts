/**
 * A server on a dead-letter store of its own (`deadLetterInstance`): the admin API and the
 * metrics go through the port (src/outbox/dead-letter-store.ts) with an async store whose
 * ids are Redis-stream-like strings, and a store that fails is reported, never silent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CoreEvents } from '../../src/index.js';
import { createServer, type RwsServer } from '../../src/index.js';
import { StreamIdDeadLetterStore } from '../../src/outbox/test-support/stream-dead-letter-store.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, postJson } from '../support/server.js';

type Json = Record<string, unknown>;
const code = (body: Json) => (body.error as { code: string }).code;

const servers: RwsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start() {
  const dlq = new StreamIdDeadLetterStore(100);
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    metrics: true,
    outboxMax: 2,
    overflow: 'drop-oldest',
    deadLetterInstance: dlq,
  });
  servers.push(server);
  const errors: Array<CoreEvents['error']> = [];
  server.on('error', (e) => errors.push(e));
  const info = await server.listen();
  const c = await RawClient.connect(info.url);
  const { sid } = (await c.hello()) as Frame & { sid: string };
  /** Sends `n` messages to the session; all but the newest 2 are dead-lettered (overflow). */
  const send = async (...data: string[]) => {
    for (const d of data)
      await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: d });
  };
  return { server, dlq, errors, info, c, sid, send };
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('a server on its own dead-letter store (deadLetterInstance)', () => {
  it('is server.dlq, typed as the store given', async () => {
    const { server, dlq, c } = await start();
    expect(server.dlq).toBe(dlq);
    // The type is the instance's own: its test-only members are reachable without a cast.
    expect(server.dlq.kind).toBe('stream-test');
    c.close();
  });

  it("the admin API lists, pages, gets, replays and deletes by the store's string ids", async () => {
    const { info, c, sid, send } = await start();
    await send('m1', 'm2', 'm3', 'm4', 'm5');
    const first = await getJson(`${info.httpUrl}/api/dlq?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ size: 3, evicted: 0, next: '1700000000000-1' });
    const [entry] = first.body.entries as Json[];
    expect(entry).toMatchObject({ id: '1700000000000-1', sid, seq: 1, reason: 'overflow' });
    expect(entry!.data).toBe('m1');
    // The store's `at` (ms since the epoch) as the admin API shows times: ISO 8601, UTC.
    expect(entry!.at).toBe(new Date(entry!.at as string).toISOString());
    const rest = await getJson(`${info.httpUrl}/api/dlq?after=${String(first.body.next)}`);
    expect((rest.body.entries as Json[]).map((e) => [e.id, e.data])).toEqual([
      ['1700000000000-2', 'm2'],
      ['1700000000000-3', 'm3'],
    ]);
    expect(rest.body).not.toHaveProperty('next');
    // A cursor or id this store cannot read: 400 for a cursor, 404 for an entry.
    const badCursor = await getJson(`${info.httpUrl}/api/dlq?after=12x`);
    expect([badCursor.status, code(badCursor.body)]).toEqual([400, 'bad_request']);
    const numeric = await getJson(`${info.httpUrl}/api/dlq/1`);
    expect([numeric.status, code(numeric.body)]).toEqual([404, 'unknown_dead_letter']);

    const one = await getJson(`${info.httpUrl}/api/dlq/1700000000000-2`);
    expect(one).toMatchObject({ status: 200, body: { id: '1700000000000-2', data: 'm2' } });

    const replay = await postJson(`${info.httpUrl}/api/dlq/1700000000000-1/replay`, '');
    expect(replay).toEqual({ status: 202, body: { id: '1700000000000-1', sid, seq: 6 } });
    expect(await c.next((f) => f.t === 'msg' && f.seq === 6)).toEqual({
      t: 'msg',
      seq: 6,
      data: 'm1',
    });
    expect((await getJson(`${info.httpUrl}/api/dlq/1700000000000-1`)).status).toBe(404);

    const del = await getJson(`${info.httpUrl}/api/dlq/1700000000000-2`, { method: 'DELETE' });
    expect(del).toMatchObject({ status: 200, body: { id: '1700000000000-2' } });
    // The replay's drop-oldest put m4 in the queue: m3 and m4 are left.
    const purge = await getJson(`${info.httpUrl}/api/dlq?reason=overflow`, { method: 'DELETE' });
    expect(purge).toEqual({ status: 200, body: { purged: 2, size: 0 } });
    c.close();
  });

  it("/api/stats and /metrics read the store's stats()", async () => {
    const { info, c, send } = await start();
    await send('m1', 'm2', 'm3', 'm4');
    const stats = await getJson(`${info.httpUrl}/api/stats`);
    expect(stats.body.dlq).toEqual({
      size: 2,
      // "m1" and "m2" as JSON: 4 bytes each.
      bytes: 8,
      evicted: 0,
      added: { ttl: 0, overflow: 2, session_reaped: 0, session_closed: 0, upstream_failed: 0 },
    });
    const text = await metrics(info.httpUrl);
    expect(text).toContain('\nrws_dlq_messages 2\n');
    expect(text).toContain('\nrws_dlq_evicted_total 0\n');
    expect(text).toContain('\nrws_dlq_bytes 8\n');
    c.close();
  });

  it('a store that is down: sends go on, each lost dead letter is an error event and counted, reads fail loudly', async () => {
    const { info, dlq, errors, c, sid, send } = await start();
    await send('m1', 'm2');
    dlq.failing = true;
    // drop-oldest evicts m1 to store m3: the send succeeds, the dead letter is lost, reported.
    const r = await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'm3' });
    expect(r).toEqual({ status: 202, body: { seq: 3 } });
    await eventually(() => errors.length === 1, 2000, 'the dead-letter error event');
    expect(errors[0]).toMatchObject({ where: 'dead-letter' });
    const text = await metrics(info.httpUrl);
    expect(text).toContain('\nrws_background_errors_total{where="dead-letter"} 1\n');
    // No sample rather than a wrong one while the store cannot answer.
    expect(text).not.toMatch(/\nrws_dlq_messages /);
    expect((await getJson(`${info.httpUrl}/api/dlq`)).status).toBe(500);
    c.close();
  });

  it('a claim that cannot be released after a replay is reported; the replay still answers 202', async () => {
    const { info, dlq, errors, c, send } = await start();
    await send('m1', 'm2', 'm3');
    dlq.unclaim = () => Promise.reject(new Error('unclaim failed'));
    const replay = await postJson(`${info.httpUrl}/api/dlq/1700000000000-1/replay`, '');
    expect(replay.status).toBe(202);
    await eventually(() => errors.length === 1, 2000, 'the unclaim error event');
    expect(errors[0]).toMatchObject({ where: 'dead-letter' });
    c.close();
  });
});
