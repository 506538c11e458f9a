/**
 * The dead-letter queue bounded in bytes (`dlqMaxBytes`) and `GET /api/dlq` pages bounded in
 * bytes (DLQ_PAGE_BYTES, 1 MiB of data, the first entry always), over HTTP on a real server,
 * with the memory store and with the Redis one (a fresh key prefix).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DLQ_PAGE_BYTES } from '../../src/server/dlq-routes.js';
import {
  deletePrefix,
  freshPrefix,
  requireRedis,
  TEST_REDIS_URL,
} from '../../src/store/redis/redis-test-support.js';
import type { ServerOptions } from '../../src/index.js';
import { RawClient, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;
const KB = 1024;
const MB = 1024 * KB;

const hasRedis = await requireRedis('dead-letter bytes integration');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
});

const backends: Array<[string, () => ServerOptions]> = [['memory', () => ({})]];
if (hasRedis)
  backends.push([
    'redis',
    () => {
      const redisPrefix = freshPrefix();
      prefixes.push(redisPrefix);
      return { store: TEST_REDIS_URL, redisPrefix };
    },
  ]);

/** A server whose outbox holds one message: each send dead-letters the one before. */
async function start(backend: () => ServerOptions, options: ServerOptions = {}) {
  const { info } = await startServer({
    outboxMax: 1,
    overflow: 'drop-oldest',
    maxFrame: 4 * MB,
    outboxMaxBytes: 4 * MB,
    ...backend(),
    ...options,
  });
  const session = async () => {
    const c = await RawClient.connect(info.url);
    const { sid } = (await c.hello()) as Frame & { sid: string };
    return { c, sid };
  };
  const { c, sid } = await session();
  /** Sends string data of `n` bytes as JSON (`"…"`), the letter telling them apart. */
  const send = async (n: number, letter: string, to = sid) => {
    const r = await postJson(`${info.httpUrl}/api/sessions/${to}/messages`, {
      data: letter.repeat(n - 2),
    });
    expect(r.body).toHaveProperty('seq');
  };
  const page = async (query: string) => {
    const res = await fetch(`${info.httpUrl}/api/dlq${query}`);
    const text = await res.text();
    return { status: res.status, length: Buffer.byteLength(text), body: JSON.parse(text) as Json };
  };
  return { info, c, sid, session, send, page };
}

describe.each(backends)('dead letters bounded in bytes (%s store)', (_name, backend) => {
  it('GET /api/dlq pages stay within the byte budget and paging reaches every entry', async () => {
    const { info, c, session, send, page } = await start(backend);
    // 11 dead letters of 300 KB, then one of 1.5 MiB (bigger than a page), then 2 of 300 KB.
    const sizes = [...Array<number>(11).fill(300 * KB), 1.5 * MB, 300 * KB, 300 * KB];
    for (const [i, n] of sizes.entries()) await send(n, String.fromCharCode(97 + i));
    await send(10, 'z'); // pushes the last one out
    const stats = await getJson(`${info.httpUrl}/api/stats`);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(stats.body.dlq).toMatchObject({ size: sizes.length, bytes: total, evicted: 0 });

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let query = '?limit=1000';
    for (let pages = 0; pages < 20; pages++) {
      const p = await page(query);
      expect(p.status).toBe(200);
      expect(p.body).toMatchObject({ size: sizes.length, bytes: total });
      const entries = p.body.entries as Json[];
      expect(entries.length).toBeGreaterThan(0);
      const data = entries.map((e) => e.data as string);
      const dataBytes = data.reduce((sum, d) => sum + d.length + 2, 0);
      // Within the budget, or one entry alone (the big one); little beside the data.
      if (entries.length > 1) expect(dataBytes).toBeLessThanOrEqual(DLQ_PAGE_BYTES);
      expect(p.length).toBeLessThan(Math.max(DLQ_PAGE_BYTES, dataBytes) + 4 * KB);
      pageSizes.push(entries.length);
      seen.push(...data.map((d) => d[0]!));
      const next = p.body.next as string | number | undefined;
      if (next === undefined) break;
      query = `?limit=1000&after=${next}`;
    }
    // 3 × 300 KB fit 1 MiB, a 4th would not; the 1.5 MiB entry is a page of its own.
    expect(pageSizes).toEqual([3, 3, 3, 2, 1, 2]);
    expect(seen.join('')).toBe('abcdefghijklmn');

    // A filter and a small limit page the same way.
    const filtered = await page(`?limit=2&reason=overflow`);
    expect((filtered.body.entries as Json[]).length).toBe(2);
    expect(filtered.body.next).toBeDefined();

    // The bytes figure follows a delete and a replay (to a fresh session: the first is full).
    const [first, second] = (await page('?limit=2')).body.entries as Json[];
    expect(
      (await getJson(`${info.httpUrl}/api/dlq/${String(first!.id)}`, { method: 'DELETE' })).status,
    ).toBe(200);
    const other = await session();
    const replay = await postJson(`${info.httpUrl}/api/dlq/${String(second!.id)}/replay`, {
      sid: other.sid,
    });
    expect(replay.status).toBe(202);
    const after = await getJson(`${info.httpUrl}/api/stats`);
    expect(after.body.dlq).toMatchObject({ size: sizes.length - 2, bytes: total - 600 * KB });
    const purged = await getJson(`${info.httpUrl}/api/dlq`, { method: 'DELETE' });
    expect(purged.body).toMatchObject({ purged: sizes.length - 2, size: 0 });
    expect((await getJson(`${info.httpUrl}/api/stats`)).body.dlq).toMatchObject({ bytes: 0 });
    c.close();
    other.c.close();
  });

  it('dlqMaxBytes evicts the oldest dead letters first and counts them', async () => {
    const { info, c, send, page } = await start(backend, { dlqMaxBytes: 1 * MB });
    for (const letter of 'abcdef') await send(300 * KB, letter);
    await send(10, 'z');
    // 6 dead letters of 300 KB: 3 fit in 1 MiB, the 3 oldest were evicted.
    const p = await page('');
    expect((p.body.entries as Json[]).map((e) => (e.data as string)[0])).toEqual(['d', 'e', 'f']);
    expect(p.body).toMatchObject({ size: 3, bytes: 900 * KB, evicted: 3 });
    // One bigger than the bound by itself is not kept, and leaves the others.
    await send(1.5 * MB, 'g');
    await send(10, 'y');
    const stats = await getJson(`${info.httpUrl}/api/stats`);
    expect(stats.body.dlq).toMatchObject({ size: 4, evicted: 4, added: { overflow: 8 } });
    expect((stats.body.dlq as Json).bytes).toBe(900 * KB + 10);
    const metrics = await (await fetch(`${info.httpUrl}/metrics`)).text();
    expect(metrics).toContain(`\nrws_dlq_bytes ${900 * KB + 10}\n`);
    expect(metrics).toContain('\nrws_dlq_evicted_total 4\n');
    expect(metrics).toContain('\nrws_dlq_messages 4\n');
    c.close();
  });
});
