/**
 * The position check: the repair of a bus that may lose events (docs/architecture.md,
 * "Delivery and repair"). For every session attached here it reads the store's record, the
 * truth: a session that is gone ended elsewhere (close 1000); a session another node owns was
 * taken over (close 4001); a `last` above what this connection wrote means an `appended`
 * hint was lost (read from the sent position). It runs on a timer only when the bus is not
 * reliable, after a bus resync, and for one session when a `takeover` hint arrives.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import { CloseCode } from '../protocol/index.js';
import type { Store } from '../store/store.js';
import type { Delivery } from './delivery.js';
import type { LocalSession } from './local-session.js';
import type { SessionRegistry } from './session-registry.js';

export class PositionCheck {
  private timer: TimerHandle | undefined;
  private running = false;
  /** A resync came while a check was running: run again when it ends. */
  private again = false;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly delivery: Delivery,
    private readonly store: Store,
    private readonly events: Emitter<CoreEvents>,
    private readonly node: string,
  ) {}

  /** Check every `intervalMs` (a bus that may lose events); checks never overlap. */
  start(clock: Clock, intervalMs: number): void {
    this.stop();
    this.timer = clock.every(intervalMs, () => void this.run());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Check every session attached here once. O(attached here) store reads. */
  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      do {
        this.again = false;
        for (const local of this.registry.localSessions()) await this.check(local);
      } while (this.again);
    } catch (error) {
      this.events.emit('error', { where: 'position-check', error });
    } finally {
      this.running = false;
    }
  }

  /**
   * The bus may have lost events (a reconnect): check every session attached here. A check
   * in progress may have read some records before the loss, so it runs once more after.
   */
  resync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return Promise.resolve();
    }
    return this.run();
  }

  /** A `takeover` hint for `sid`: close the connection here if the store confirms it. */
  verifyOwner(sid: string): void {
    const local = this.registry.current(sid);
    if (local === undefined) return;
    this.check(local).catch((error: unknown) =>
      this.events.emit('error', { where: 'position-check', error }),
    );
  }

  private async check(local: LocalSession): Promise<void> {
    const record = await this.store.getSession(local.sid);
    if (!this.registry.isCurrent(local) || local.conn.state !== 'open') return;
    if (record === undefined) {
      this.registry.end(local.sid);
      local.conn.close(CloseCode.Normal, 'session ended');
      return;
    }
    if (record.owner !== undefined && record.owner !== this.node) {
      this.registry.takenOver(local.sid);
      local.conn.close(CloseCode.Replaced, 'replaced by a newer connection');
      this.events.emit('takeover', { sid: local.sid, node: record.owner });
      return;
    }
    if (record.epoch !== local.epoch) {
      // The store started the stream over (it lost it: a deleted or evicted key, a rollback)
      // while this connection was open: new seqs would look like ones already sent. The
      // client resumes and is told `epoch_changed`.
      local.conn.close(CloseCode.ServiceRestart, 'the session stream was reset: resume');
      return;
    }
    if (record.last > local.sentSeq) this.delivery.catchUp(local.sid, record.last);
  }
}
