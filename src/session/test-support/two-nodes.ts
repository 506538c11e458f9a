/**
 * Two hubs ("nodes") in one process on one shared memory store and one bus, with one manual
 * clock: the shape of a cluster, small enough for unit tests. The bus can be told to lose
 * events of some types, so tests can show the repair rules (src/store/session-bus.ts).
 */
import { ManualClock } from '../../clock.js';
import { DEFAULT_LIMITS, type OutboxLimits } from '../../store/limits.js';
import { LoopbackBus } from '../../store/loopback-bus.js';
import { MemoryStore } from '../../store/memory-store.js';
import type { BusEvent, BusListener, SessionBus } from '../../store/session-bus.js';
import { HubHarness, type HarnessOptions } from './hub-harness.js';

/** A loopback bus that drops the events a test names (`reliable` false: a network bus). */
export class LossyBus implements SessionBus {
  readonly reliable = false;
  /** Event types dropped while set. */
  readonly drop = new Set<BusEvent['type']>();
  /** Every event published, dropped or not. */
  readonly published: BusEvent[] = [];
  private readonly inner = new LoopbackBus();

  publish(from: string, event: BusEvent): void {
    this.published.push(event);
    if (!this.drop.has(event.type)) this.inner.publish(from, event);
  }

  subscribe(node: string, listener: BusListener): () => void {
    return this.inner.subscribe(node, listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class TwoNodes {
  readonly clock = new ManualClock();
  readonly limits: OutboxLimits;
  readonly store: MemoryStore;
  readonly a: HubHarness;
  readonly b: HubHarness;

  constructor(
    readonly bus: SessionBus = new LoopbackBus(),
    options: Omit<HarnessOptions, 'store' | 'bus' | 'clock' | 'node'> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.store = new MemoryStore({ limits: this.limits });
    const shared = { ...options, store: this.store, bus, clock: this.clock };
    this.a = new HubHarness({ ...shared, node: 'node-a' });
    this.b = new HubHarness({ ...shared, node: 'node-b' });
  }

  /** Let both nodes settle (bus events are delivered a microtask later). */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.a.settle();
      await this.b.settle();
    }
  }
}
