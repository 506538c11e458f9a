/**
 * The outbox and a dead-letter store that fails (a networked one that went down): the send
 * path never sees the failure, each one is an `error` event (where `dead-letter`) and counted.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { DEFAULT_LIMITS, type OutboxLimits } from '../store/limits.js';
import { MemoryStore } from '../store/memory-store.js';
import type { NewMessage } from '../store/store.js';
import { Outbox } from './outbox.js';
import { StreamIdDeadLetterStore } from './test-support/stream-dead-letter-store.js';

const msg = (data: unknown): NewMessage => {
  const json = JSON.stringify(data);
  return { data: json, bytes: Buffer.byteLength(json) };
};

async function setup(limits: Partial<OutboxLimits>) {
  const clock = new ManualClock(0);
  const events = new Emitter<CoreEvents>();
  const full: OutboxLimits = { ...DEFAULT_LIMITS, ...limits };
  const store = new MemoryStore({ limits: full });
  const dlq = new StreamIdDeadLetterStore(100);
  const outbox = new Outbox(store, full, dlq, events, clock);
  const errors: CoreEvents['error'][] = [];
  events.on('error', (e) => errors.push(e));
  const drops: CoreEvents['drop'][] = [];
  events.on('drop', (e) => drops.push(e));
  await store.createSession({ sid: 's', keyHash: 'h', now: 0 });
  return { outbox, dlq, errors, drops };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Outbox with a failing dead-letter store', () => {
  it('an async store gets the dead letters without the send path awaiting it', async () => {
    const { outbox, dlq, errors } = await setup({ maxMessages: 1, overflow: 'drop-oldest' });
    await outbox.append('s', msg('m1'));
    const r = await outbox.append('s', msg('m2'));
    expect(r).toMatchObject({ status: 'stored', seq: 2 });
    await settle();
    expect((await dlq.list()).map((e) => [e.id, e.seq, e.reason, e.data])).toEqual([
      ['1700000000000-1', 1, 'overflow', '"m1"'],
    ]);
    expect(errors).toEqual([]);
    expect(outbox.deadLetters.failures).toBe(0);
  });

  it('drop-newest and drop-oldest still answer as usual; each lost dead letter is reported and counted', async () => {
    for (const overflow of ['drop-newest', 'drop-oldest'] as const) {
      const { outbox, dlq, errors, drops } = await setup({ maxMessages: 1, overflow });
      await outbox.append('s', msg('m1'));
      dlq.failing = true;
      const r = await outbox.append('s', msg('m2'));
      expect(r.status, overflow).toBe(overflow === 'drop-newest' ? 'dropped' : 'stored');
      // The drop is still an event at once: the metrics count what was given up on.
      expect(drops, overflow).toEqual([{ sid: 's', reason: 'overflow', count: 1 }]);
      await settle();
      expect(
        errors.map((e) => e.where),
        overflow,
      ).toEqual(['dead-letter']);
      expect(String(errors[0]!.error)).toContain('dead-letter store down (add)');
      expect(outbox.deadLetters.failures, overflow).toBe(1);
      dlq.failing = false;
      expect(await dlq.list(), overflow).toEqual([]);
    }
  });

  it('a store that throws at once does not throw into the send path either', async () => {
    const clock = new ManualClock(0);
    const events = new Emitter<CoreEvents>();
    const full: OutboxLimits = { ...DEFAULT_LIMITS, maxMessages: 1, overflow: 'drop-newest' };
    const store = new MemoryStore({ limits: full });
    const throwing = {
      add(): void {
        throw new Error('sync failure');
      },
    };
    const outbox = new Outbox(store, full, throwing, events, clock);
    const errors: CoreEvents['error'][] = [];
    events.on('error', (e) => errors.push(e));
    await store.createSession({ sid: 's', keyHash: 'h', now: 0 });
    await outbox.append('s', msg('m1'));
    await expect(outbox.append('s', msg('m2'))).resolves.toEqual({
      status: 'dropped',
      policy: 'drop-newest',
    });
    expect(errors.map((e) => e.where)).toEqual(['dead-letter']);
    expect(outbox.deadLetters.failures).toBe(1);
  });
});
