/**
 * One timer per connection with two jobs. Watchdog: nothing received for interval + timeout
 * means the connection is dead (a half-open TCP connection never reports a close). Keep-alive:
 * nothing sent for interval sends a `ping`, so the server's own watchdog hears from a client
 * that has nothing to ack (a volatile-only stream).
 * The timer re-arms from timestamps when it fires instead of being reset on every frame, so a
 * busy stream costs one clock read per message, not a clearTimeout/setTimeout pair.
 */
import type { ClientClock } from './clock.js';

export interface HeartbeatHooks {
  dead(): void;
  ping(): void;
}

export class Heartbeat {
  private lastIn = 0;
  private lastOut = 0;
  private interval = 0;
  private limit = 0;
  private timer: unknown;
  private running = false;

  constructor(
    private readonly clock: ClientClock,
    private readonly timeoutMs: number,
    private readonly hooks: HeartbeatHooks,
  ) {}

  /**
   * Arms for a connection. `intervalMs` is the heartbeat interval (the server's `welcome.hb`,
   * or the client's default when that is 0): undefined during the handshake (watchdog only,
   * `timeoutMs` from now).
   */
  start(intervalMs?: number): void {
    this.stop();
    const now = this.clock.now();
    this.lastIn = now;
    this.lastOut = now;
    this.interval = intervalMs ?? 0;
    this.limit = this.interval + this.timeoutMs;
    this.running = true;
    this.arm(now);
  }

  received(): void {
    this.lastIn = this.clock.now();
  }

  sent(): void {
    this.lastOut = this.clock.now();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.clock.clearTimeout(this.timer);
  }

  private arm(now: number): void {
    let due = this.lastIn + this.limit;
    if (this.interval > 0) due = Math.min(due, this.lastOut + this.interval);
    this.timer = this.clock.setTimeout(() => this.wake(), Math.max(0, due - now));
  }

  private wake(): void {
    const now = this.clock.now();
    if (now - this.lastIn >= this.limit) {
      this.running = false;
      this.hooks.dead();
      return;
    }
    const timer = this.timer;
    if (this.interval > 0 && now - this.lastOut >= this.interval) {
      this.lastOut = now;
      this.hooks.ping();
    }
    // The ping hook may have stopped or restarted us; re-arm only our own timer.
    if (this.running && this.timer === timer) this.arm(now);
  }
}
