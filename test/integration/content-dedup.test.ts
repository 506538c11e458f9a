/**
 * Outbound content-hash dedup end to end: `server.send(sid, data, { dedup: 'content' })` and
 * `POST /api/sessions/{sid}/messages` with `"dedup": "content"` share one id window per
 * session (the xxHash64 of the serialized data is the id), seen by a real client.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, sleep } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

interface Welcome {
  sid: string;
  key: string;
}

async function connected() {
  const { server, info } = await startServer();
  const c = await RawClient.connect(info.url);
  const w = (await c.hello()) as unknown as Welcome;
  const post = (body: unknown) =>
    postJson(`${info.httpUrl}/api/sessions/${encodeURIComponent(w.sid)}/messages`, body);
  return { server, info, c, sid: w.sid, post };
}

describe("dedup: 'content'", () => {
  it('the library send returns the original seq for the same data; the client gets it once', async () => {
    const { server, c, sid } = await connected();
    const report = { job: 'export-7', state: 'done', rows: 1200 };
    expect(await server.send(sid, report, { dedup: 'content' })).toEqual({ seq: 1 });
    expect(await server.send(sid, { ...report }, { dedup: 'content' })).toEqual({
      seq: 1,
      dup: true,
    });
    const msg = await c.next((f) => f.t === 'msg');
    expect(msg).toEqual({
      t: 'msg',
      seq: 1,
      id: expect.stringMatching(/^xxh64:[0-9a-f]{16}$/) as string,
      data: report,
    });
    await sleep(30);
    expect(c.msgs()).toHaveLength(1);
    c.close();
  });

  it('the publish API dedups by content too (200 {seq, dup:true}), sharing the window', async () => {
    const { server, c, sid, post } = await connected();
    expect(await post({ data: { price: 101.5 }, dedup: 'content' })).toEqual({
      status: 202,
      body: { seq: 1 },
    });
    expect(await post({ data: { price: 101.5 }, dedup: 'content' })).toEqual({
      status: 200,
      body: { seq: 1, dup: true },
    });
    // The same bytes from the library: the same id, so the same seq.
    expect(await server.send(sid, { price: 101.5 }, { dedup: 'content' })).toEqual({
      seq: 1,
      dup: true,
    });
    // Different data is a new message; the same data without dedup is too.
    expect(await post({ data: { price: 101.6 }, dedup: 'content' })).toEqual({
      status: 202,
      body: { seq: 2 },
    });
    expect(await post({ data: { price: 101.5 } })).toEqual({ status: 202, body: { seq: 3 } });
    await c.messagesUpTo(3);
    await sleep(30);
    expect(c.msgs().map((m) => m.seq)).toEqual([1, 2, 3]);
    c.close();
  });

  it('refuses content dedup on keyed (progress) and volatile sends, and with an id', async () => {
    const { server, sid, post } = await connected();
    const keyed = await post({ data: { pct: 50 }, key: 'progress', dedup: 'content' });
    expect(keyed.status).toBe(400);
    // The route refuses the combination itself (bad_request, naming the fields); the library
    // refuses it too (bad_options).
    expect(keyed.body).toEqual(
      expect.objectContaining({
        error: expect.objectContaining({
          code: 'bad_request',
          message: expect.stringContaining('"key"') as unknown,
        }) as unknown,
      }),
    );
    await expect(server.send(sid, 1, { dedup: 'content', key: 'k' })).rejects.toMatchObject({
      code: 'bad_options',
    });
    expect((await post({ data: 1, id: 'x', dedup: 'content' })).status).toBe(400);
    expect((await post({ data: 1, volatile: true, dedup: 'content' })).status).toBe(400);
    await expect(server.send(sid, 1, { dedup: 'content', volatile: true })).rejects.toThrow(
      /volatile/,
    );
    // Progress frames with the same value still go out every time.
    expect(await post({ data: { pct: 50 }, key: 'progress' })).toEqual({
      status: 202,
      body: { seq: 1 },
    });
    expect(await post({ data: { pct: 50 }, key: 'progress' })).toEqual({
      status: 202,
      body: { seq: 2 },
    });
  });

  it('broadcast dedups per session: a repeat reaches only a session that joined since', async () => {
    const { server, info, c } = await connected();
    expect(await server.broadcast({ news: 'v2 released' }, { dedup: 'content' })).toBe(1);
    const late = await RawClient.connect(info.url);
    await late.hello();
    await server.broadcast({ news: 'v2 released' }, { dedup: 'content' });
    expect(await late.next((f) => f.t === 'msg')).toEqual(
      expect.objectContaining({ seq: 1, data: { news: 'v2 released' } }),
    );
    await sleep(30);
    expect(c.msgs()).toHaveLength(1);
    expect(late.msgs()).toHaveLength(1);
    c.close();
    late.close();
  });
});
