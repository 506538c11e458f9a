/**
 * A Hub over an Outbox over a MemoryStore, with a ManualClock and a flush scheduler the test
 * drives: writes leave only when the test calls `flush()` or `settle()`.
 */
import type { AuthRequest } from '../../auth/principal.js';
import { ManualClock } from '../../clock.js';
import type { CoreEvents } from '../../core-events.js';
import { Emitter } from '../../events.js';
import { MemoryDeadLetterStore } from '../../outbox/dead-letters.js';
import { Outbox } from '../../outbox/outbox.js';
import type { ResumeRequest } from '../../protocol/index.js';
import { DEFAULT_LIMITS, type OutboxLimits } from '../../store/limits.js';
import { MemoryStore } from '../../store/memory-store.js';
import type { SessionBus } from '../../store/session-bus.js';
import type { WriterLimits } from '../connection.js';
import { FlushScheduler } from '../flush-scheduler.js';
import { Hub, type HubOptions } from '../hub.js';
import { FakeTransport, type FrameOf } from './fake-transport.js';

export const TEST_WRITER: WriterLimits = {
  highWaterMark: 1024 * 1024,
  maxBatchFrames: 64,
  maxBatchChars: 256 * 1024,
  maxBuffered: 3 * 1024 * 1024,
};

/** The test writer with `overrides`; the hard bound follows the server's formula (2 × the
 *  high-water mark + a 1 MiB max frame) unless given. */
export function writerLimits(overrides: Partial<WriterLimits> = {}): WriterLimits {
  const highWaterMark = overrides.highWaterMark ?? TEST_WRITER.highWaterMark;
  return { ...TEST_WRITER, maxBuffered: 2 * highWaterMark + 1024 * 1024, ...overrides };
}

export const TEST_HUB_OPTIONS: HubOptions = {
  sessionTtlMs: 60_000,
  heartbeatIntervalMs: 1000,
  maxBadFrames: 3,
  maxMessageBytes: 1024 * 1024,
  maxQueuedClientMessages: 1000,
  maxSessionsPerUser: 100,
  writer: TEST_WRITER,
  // The product defaults (clientRate, clientBurst, clientRateMaxWait, maxJsonDepth).
  clientLimits: { rate: 100, burst: 200, maxWaitMs: 10_000, maxDepth: 32 },
};

export interface HarnessOptions {
  limits?: Partial<OutboxLimits>;
  /** Share a store, a bus and a clock with another harness: two nodes in one process. */
  store?: MemoryStore;
  bus?: SessionBus;
  clock?: ManualClock;
  node?: string;
  writer?: Partial<WriterLimits>;
  hub?: Partial<Omit<HubOptions, 'writer'>>;
  dlqMax?: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class HubHarness {
  readonly clock: ManualClock;
  readonly events = new Emitter<CoreEvents>();
  readonly limits: OutboxLimits;
  readonly store: MemoryStore;
  readonly dlq: MemoryDeadLetterStore;
  readonly outbox: Outbox;
  readonly hub: Hub;
  private readonly deferred: (() => void)[] = [];
  readonly scheduler = new FlushScheduler((fn) => this.deferred.push(fn));

  constructor(options: HarnessOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.store = options.store ?? new MemoryStore({ limits: this.limits });
    this.dlq = new MemoryDeadLetterStore(options.dlqMax ?? 1000);
    this.outbox = new Outbox(this.store, this.limits, this.dlq, this.events, this.clock);
    const hubOptions: HubOptions = {
      ...TEST_HUB_OPTIONS,
      ...options.hub,
      writer: writerLimits(options.writer),
      ...(options.bus === undefined ? {} : { bus: options.bus }),
      ...(options.node === undefined ? {} : { node: options.node }),
    };
    this.hub = new Hub(this.outbox, this.clock, this.events, hubOptions, this.scheduler);
  }

  /** Accept a new fake connection (`request`: its upgrade request, for `authenticate`). */
  connect(remote?: string, request?: Partial<AuthRequest>): FakeTransport {
    const t = new FakeTransport(remote);
    const upgrade: AuthRequest = {
      ip: t.remoteAddress ?? '127.0.0.1',
      headers: {},
      url: '/ws',
      ...request,
    };
    t.bind(this.hub.accept(t, () => t.remoteAddress, upgrade).handlers);
    return t;
  }

  /** Whether a flush is scheduled (writes are waiting for the end of the turn). */
  get flushPending(): boolean {
    return this.deferred.length > 0;
  }

  /** End the turn: run the scheduled flush (and any it schedules). */
  flush(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }

  /** Let every pending promise settle and every scheduled flush run, until quiet. */
  async settle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await nextTurn();
      if (this.deferred.length === 0) return;
      this.flush();
    }
    throw new Error('the hub did not settle');
  }

  /** Send hello on `t` and return the welcome. */
  async hello(t: FakeTransport, resume?: ResumeRequest): Promise<FrameOf<'welcome'>> {
    t.peerSends(resume === undefined ? { t: 'hello', v: 1 } : { t: 'hello', v: 1, resume });
    await this.settle();
    return t.welcome;
  }

  /** A connected session: transport, sid and key. */
  async session(): Promise<{ t: FakeTransport; sid: string; key: string }> {
    const t = this.connect();
    const w = await this.hello(t);
    return { t, sid: w.sid, key: w.key };
  }

  /** Collect every payload of one event. */
  record<K extends keyof CoreEvents>(name: K): CoreEvents[K][] {
    const out: CoreEvents[K][] = [];
    this.events.on(name, (p) => out.push(p));
    return out;
  }
}
