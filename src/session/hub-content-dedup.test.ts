/**
 * Outbound idempotency through the Hub with `dedup: 'content'`: the xxHash64 of the text the
 * hub serialized is the message's id, sharing the id window with explicit ids.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import {
  CONTENT_ID_PREFIX,
  loadContentHasher,
  type ContentHasher,
} from '../outbox/content-hash.js';
import { HubHarness } from './test-support/hub-harness.js';

let hasher: ContentHasher;
beforeAll(async () => {
  hasher = await loadContentHasher();
});

/** A harness whose hub hashes with the real hasher, counting the texts it was given. */
function harness(dedupWindowMs = 300_000): { h: HubHarness; hashed: string[] } {
  const hashed: string[] = [];
  const h = new HubHarness({
    limits: { dedupWindowMs },
    hub: {
      contentHash: (json) => {
        hashed.push(json);
        return hasher.hash64hex(json);
      },
    },
  });
  return { h, hashed };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isRwsError(error) ? error.code : undefined;
}

describe("send with dedup: 'content'", () => {
  it('returns the original seq for the same data again, and delivers it once', async () => {
    const { h } = harness();
    const dups = h.record('duplicateSend');
    const { t, sid } = await h.session();
    t.take();
    expect(await h.hub.send(sid, { job: 7, state: 'done' }, { dedup: 'content' })).toEqual({
      seq: 1,
    });
    expect(await h.hub.send(sid, { job: 7, state: 'done' }, { dedup: 'content' })).toEqual({
      seq: 1,
      dup: true,
    });
    expect(await h.hub.send(sid, { job: 8, state: 'done' }, { dedup: 'content' })).toEqual({
      seq: 2,
    });
    await h.settle();
    const id = `xxh64:${hasher.hash64hex('{"job":7,"state":"done"}')}`;
    expect(t.take()).toEqual([
      { t: 'msg', seq: 1, id, data: { job: 7, state: 'done' } },
      expect.objectContaining({ seq: 2, data: { job: 8, state: 'done' } }),
    ]);
    expect(dups).toEqual([{ sid, id, seq: 1 }]);
  });

  it('hashes the text it serialized for the message, once per send', async () => {
    const { h, hashed } = harness();
    const { sid } = await h.session();
    await h.hub.send(sid, { b: [1, 2], a: 'x' }, { dedup: 'content' });
    expect(hashed).toEqual(['{"b":[1,2],"a":"x"}']);
  });

  it('dedups by serialized bytes: same JSON text is a repeat, different key order is not', async () => {
    const { h } = harness();
    const { sid } = await h.session();
    await h.hub.send(sid, { a: 1, b: 2 }, { dedup: 'content' });
    expect(await h.hub.send(sid, { a: 1, b: 2 }, { dedup: 'content' })).toEqual({
      seq: 1,
      dup: true,
    });
    expect(await h.hub.send(sid, { b: 2, a: 1 }, { dedup: 'content' })).toEqual({ seq: 2 });
  });

  it('sends the same data again once the dedup window has passed', async () => {
    const { h } = harness(1000);
    const { sid } = await h.session();
    await h.hub.send(sid, 'tick', { dedup: 'content' });
    h.clock.advance(1001);
    expect(await h.hub.send(sid, 'tick', { dedup: 'content' })).toEqual({ seq: 2 });
  });

  it('without dedup, the same data is a new message every time', async () => {
    const { h, hashed } = harness();
    const { sid } = await h.session();
    await h.hub.send(sid, 'same');
    expect(await h.hub.send(sid, 'same')).toEqual({ seq: 2 });
    expect(hashed).toEqual([]);
  });

  it('is per session: the same data to another session is new there', async () => {
    const { h } = harness();
    const a = await h.session();
    const b = await h.session();
    await h.hub.send(a.sid, 'hello', { dedup: 'content' });
    expect(await h.hub.send(b.sid, 'hello', { dedup: 'content' })).toEqual({ seq: 1 });
  });

  it('a detached session dedups too: the repeat is not stored twice for its resume', async () => {
    const { h } = harness();
    const { t, sid, key } = await h.session();
    t.fireClose(1006);
    await h.settle();
    await h.hub.send(sid, 'queued', { dedup: 'content' });
    expect(await h.hub.send(sid, 'queued', { dedup: 'content' })).toEqual({ seq: 1, dup: true });
    const t2 = h.connect();
    await h.hello(t2, { sid, key, ack: 0 });
    expect(t2.take().filter((f) => f.t === 'msg')).toHaveLength(1);
  });

  it('refuses content dedup with id, volatile or key (bad_options), storing nothing', async () => {
    const { h, hashed } = harness();
    const { sid } = await h.session();
    expect(await codeOf(h.hub.send(sid, 1, { dedup: 'content', id: 'x' }))).toBe('bad_options');
    expect(await codeOf(h.hub.send(sid, 1, { dedup: 'content', volatile: true }))).toBe(
      'bad_options',
    );
    expect(await codeOf(h.hub.send(sid, 1, { dedup: 'content', key: 'progress' }))).toBe(
      'bad_options',
    );
    expect(hashed).toEqual([]);
    expect(await h.hub.send(sid, 1)).toEqual({ seq: 1 });
  });

  // Content ids share the id window with caller ids: a caller id that happened to be
  // `xxh64:<hash of X>` made a later content-deduped send of X answer `dup: true`, and X was
  // never stored or delivered. The namespace is reserved now.
  it('refuses a caller id in the xxh64: namespace, so a content-deduped send is never a false dup', async () => {
    const { h } = harness();
    const { t, sid } = await h.session();
    t.take();
    const x = { order: 42, status: 'shipped' };
    const forged = CONTENT_ID_PREFIX + hasher.hash64hex(JSON.stringify(x));
    expect(await codeOf(h.hub.send(sid, { unrelated: true }, { id: forged }))).toBe('bad_options');
    expect(await codeOf(h.hub.broadcast({ unrelated: true }, { id: forged } as never))).toBe(
      'bad_options',
    );
    expect(await h.hub.send(sid, x, { dedup: 'content' })).toEqual({ seq: 1 });
    await h.settle();
    expect(t.take()).toEqual([{ t: 'msg', seq: 1, id: forged, data: x }]);
  });

  it('fails with content_hash_unavailable when the hub has no hasher', async () => {
    const h = new HubHarness();
    const { sid } = await h.session();
    expect(await codeOf(h.hub.send(sid, 1, { dedup: 'content' }))).toBe('content_hash_unavailable');
    expect(await h.hub.send(sid, 1)).toEqual({ seq: 1 });
  });

  it('refuses oversized data before hashing it', async () => {
    const { h, hashed } = harness();
    const { sid } = await h.session();
    const big = 'x'.repeat(1024 * 1024 + 1);
    expect(await codeOf(h.hub.send(sid, big, { dedup: 'content' }))).toBe('message_too_large');
    expect(hashed).toEqual([]);
  });
});

describe("broadcast with dedup: 'content'", () => {
  it('hashes once and dedups per session: a repeat reaches only sessions new since', async () => {
    const { h, hashed } = harness();
    const a = await h.session();
    const b = await h.session();
    a.t.take();
    b.t.take();
    expect(await h.hub.broadcast({ news: 1 }, { dedup: 'content' })).toBe(2);
    expect(hashed).toHaveLength(1);
    const c = await h.session();
    c.t.take();
    // Every live session holds the message afterwards (dup or new): all three count.
    expect(await h.hub.broadcast({ news: 1 }, { dedup: 'content' })).toBe(3);
    await h.settle();
    expect(a.t.take().filter((f) => f.t === 'msg')).toHaveLength(1);
    expect(b.t.take().filter((f) => f.t === 'msg')).toHaveLength(1);
    expect(c.t.take().filter((f) => f.t === 'msg')).toEqual([
      expect.objectContaining({ seq: 1, data: { news: 1 } }),
    ]);
  });

  it('refuses volatile content dedup on broadcast too', async () => {
    const { h } = harness();
    await h.session();
    expect(await codeOf(h.hub.broadcast(1, { dedup: 'content', volatile: true }))).toBe(
      'bad_options',
    );
  });
});
