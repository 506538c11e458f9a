/**
 * DedupWindow's memory must stay bounded by `maxIds` (SECURITY.md: "dedup windows"
 * are among the bounded inputs; docs/configuration.md: dedupMaxIds is the most ids remembered
 * per session).
 *
 * The rewrite keeps a FIFO queue beside the Map. `delete()` (the store's
 * releaseClientMessage, called whenever the handler nacks or throws) and re-recording only
 * flag the queued entry `gone`; a gone entry leaves the queue only when it reaches the head.
 * Behind one live id at the head (any message that succeeded within the window), every
 * claim + release adds a queue slot and an entry object that stay for the whole window
 * (300 s by default), however small `maxIds` is. The old Map-only window freed them at once.
 */
import { describe, expect, it } from 'vitest';
import { DedupWindow } from './dedup-window.js';
import { MemoryStore } from './memory-store.js';
import { DEFAULT_LIMITS } from './limits.js';

function queued(w: DedupWindow<unknown>): number {
  const internals = w as unknown as { queue: unknown[]; head: number };
  return internals.queue.length - internals.head;
}

describe('DedupWindow stays bounded by maxIds', () => {
  it('ids claimed and released (handler nacks) do not pile up behind a live id', () => {
    const maxIds = 100;
    const w = new DedupWindow<true>(300_000, maxIds);
    w.set('ok-1', true, 0); // one message that succeeded: stays live for the window
    for (let i = 0; i < 100_000; i++) {
      const id = `failing-${i}`;
      expect(w.get(id, 1)).toBeUndefined();
      w.set(id, true, 1); // claimClientMessage
      w.delete(id); // releaseClientMessage: the handler refused it
    }
    expect(w.size).toBe(1);
    // What the window holds for one remembered id.
    expect(queued(w)).toBeLessThanOrEqual(2 * maxIds + 1024);
  });

  it('through the memory store: a client retrying a refused message does not grow its session window', async () => {
    const store = new MemoryStore({ limits: { ...DEFAULT_LIMITS, dedupMaxIds: 100 } });
    await store.createSession({ sid: 's', keyHash: 'h', now: 0 });
    expect(await store.claimClientMessage('s', 'accepted', 0)).toBe('new');
    for (let i = 0; i < 50_000; i++) {
      expect(await store.claimClientMessage('s', 'retried', 1 + i)).toBe('new');
      await store.releaseClientMessage('s', 'retried');
    }
    const sessions = (
      store as unknown as { sessions: Map<string, { clientIds: DedupWindow<true> }> }
    ).sessions;
    const w = sessions.get('s')!.clientIds;
    expect(w.size).toBe(1);
    expect(queued(w)).toBeLessThanOrEqual(2 * 100 + 1024);
  });
});
