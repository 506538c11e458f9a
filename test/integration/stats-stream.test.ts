/**
 * GET /api/stats/stream over real HTTP: the `/api/stats` figures as Server-Sent Events from
 * one snapshot timer shared by every viewer (a manual clock drives the ticks), the initial
 * snapshot and `retry:` hint, figures and rates that follow the traffic, the timer gone with
 * the last viewer and on close(), the viewer cap, and the admin token as `?token=`.
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/testing.js';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;

/** One SSE connection read block by block (events end with a blank line). */
class SseViewer {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private done = false;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly abort: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseViewer> {
    const abort = new AbortController();
    const res = await fetch(url, { headers, signal: abort.signal });
    return new SseViewer(res.status, res.headers, res.body!.getReader(), abort);
  }

  /** The next block (`retry: …`, `data: …`), or undefined when the server ended the stream. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return block;
      }
      if (this.done) return undefined;
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** The next `data:` event, parsed. */
  async data(): Promise<Json> {
    for (;;) {
      const block = await this.next();
      if (block === undefined) throw new Error('the stream ended');
      if (block.startsWith('data: ')) return JSON.parse(block.slice(6)) as Json;
    }
  }

  close(): void {
    this.abort.abort();
  }
}

async function startWithClock(options: Json = {}) {
  const clock = new ManualClock(Date.now());
  const started = await startServer({ clock, ...options });
  return { clock, ...started, stream: `${started.info.httpUrl}/api/stats/stream` };
}

/** Move the manual clock one tick and let the snapshot be computed and written. */
const tick = (clock: ManualClock) => clock.advance(1000);

describe('GET /api/stats/stream', () => {
  it('starts with retry: and a snapshot of the /api/stats figures, then follows the traffic', async () => {
    const { clock, info, stream } = await startWithClock();
    const c = await RawClient.connect(info.url);
    const { sid } = (await c.hello()) as Frame & { sid: string };
    const v = await SseViewer.open(stream);
    expect(v.status).toBe(200);
    expect(v.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(v.headers.get('cache-control')).toBe('no-store');
    expect(await v.next()).toBe('retry: 2000');
    const first = await v.data();
    const stats = (await getJson(`${info.httpUrl}/api/stats`)).body;
    expect(Object.keys(first).sort()).toEqual(
      [...Object.keys(stats), 'at', 'rates', 'events'].sort(),
    );
    expect(first).toMatchObject({
      connections: 1,
      sessions: { total: 1 },
      outbox: { messages: 0 },
    });
    expect(first.rates).toMatchObject({ messagesSentPerSecond: null });
    expect(Date.parse(first.at as string)).toBe(clock.now());
    for (let i = 0; i < 3; i++)
      await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'x'.repeat(10) });
    tick(clock);
    const second = await v.data();
    expect(second).toMatchObject({
      outbox: { messages: 3, bytes: 36 },
      rates: { intervalMs: 1000, messagesSentPerSecond: 3, bytesSentPerSecond: 36 },
    });
    expect(Date.parse(second.at as string) - Date.parse(first.at as string)).toBe(1000);
    v.close();
    c.close();
  });

  it('one timer and one snapshot per tick for several viewers, gone with the last viewer', async () => {
    const { clock, server, stream } = await startWithClock({ metrics: false });
    const baseline = clock.pendingTimers;
    const viewers = await Promise.all([1, 2, 3].map(() => SseViewer.open(stream)));
    for (const v of viewers) await v.data();
    expect(clock.pendingTimers).toBe(baseline + 1);
    // Each snapshot asks the store for its figures once: count them against the viewers.
    const storeStats = vi.spyOn(server.store, 'stats');
    for (let i = 0; i < 4; i++) {
      tick(clock);
      const events = await Promise.all(viewers.map((v) => v.data()));
      expect(new Set(events.map((e) => JSON.stringify(e))).size).toBe(1);
    }
    expect(storeStats).toHaveBeenCalledTimes(4);
    viewers[0]!.close();
    viewers[1]!.close();
    tick(clock);
    await viewers[2]!.data();
    expect(clock.pendingTimers).toBe(baseline + 1);
    viewers[2]!.close();
    await eventually(() => clock.pendingTimers === baseline);
    storeStats.mockClear();
    tick(clock);
    tick(clock);
    expect(storeStats).not.toHaveBeenCalled();
  });

  it('close() ends the streams and stops the timer', async () => {
    const { clock, server, stream } = await startWithClock();
    const v = await SseViewer.open(stream);
    await v.data();
    await server.close();
    expect(clock.pendingTimers).toBe(0);
    let block: string | undefined;
    do block = await v.next();
    while (block !== undefined);
  });

  it('at most 100 viewers: the next is 503 too_many_viewers, a place frees when one leaves', async () => {
    const { stream } = await startWithClock();
    const viewers: SseViewer[] = [];
    for (let i = 0; i < 100; i++) viewers.push(await SseViewer.open(stream));
    expect(viewers.every((v) => v.status === 200)).toBe(true);
    const refused = await getJson(stream);
    expect(refused.status).toBe(503);
    expect((refused.body.error as Json).code).toBe('too_many_viewers');
    viewers.pop()!.close();
    await eventually(async () => {
      const v = await SseViewer.open(stream);
      v.close();
      return v.status === 200;
    });
    for (const v of viewers) v.close();
  });

  it('with an admin token: the header or ?token= (this route only), compared like the header', async () => {
    const { stream, info } = await startWithClock({ adminToken: 's3cret' });
    const code = (r: { body: Json }) => (r.body.error as Json).code;
    const none = await getJson(stream);
    expect([none.status, code(none)]).toEqual([401, 'unauthorized']);
    const wrong = await getJson(`${stream}?token=nope`);
    expect([wrong.status, code(wrong)]).toEqual([401, 'unauthorized']);
    const right = await SseViewer.open(`${stream}?token=s3cret`);
    expect(right.status).toBe(200);
    expect((await right.data()).connections).toBe(0);
    right.close();
    const bearer = await SseViewer.open(stream, { authorization: 'Bearer s3cret' });
    expect(bearer.status).toBe(200);
    bearer.close();
    // Elsewhere the query parameter is no token.
    expect((await getJson(`${info.httpUrl}/api/stats?token=s3cret`)).status).toBe(401);
  });

  it('takes GET only', async () => {
    const { stream } = await startWithClock();
    const r = await postJson(stream, {});
    expect(r.status).toBe(405);
  });

  it('runs on the real clock too: a new snapshot about every second', async () => {
    const { info } = await startServer();
    const v = await SseViewer.open(`${info.httpUrl}/api/stats/stream`);
    const a = await v.data();
    const b = await v.data();
    const gap = Date.parse(b.at as string) - Date.parse(a.at as string);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(3000);
    v.close();
  });
});
