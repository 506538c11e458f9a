/**
 * The gateway upstream: each client message is POSTed as JSON `{sid, id, data}` to an HTTP
 * endpoint whose answer decides `ok` or `nack`.
 * - 2xx → `ok` with the response body as data (parsed JSON, else the text; empty: none).
 * - 4xx → `nack upstream_rejected`, not retryable (408 and 429 are: "come back later").
 *   The breaker counts it as a success: the upstream answered; the request was at fault.
 * - 5xx, connection error, oversized response → retried with full-jitter backoff up to
 *   `retries` times, then `nack upstream_failed` (retryable); a timed-out attempt likewise,
 *   then `nack upstream_timeout`. Each of these attempts is a breaker failure.
 * - Breaker not admitting → `nack breaker_open` (retryable), without a call.
 * - More than `maxInFlight` calls → `nack overloaded` (retryable); draining → `nack draining`.
 * A retryable nack makes the SDK resend later with the same id; the server's dedup window
 * then keeps the upstream's success effectively-once.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import { fullJitter } from '../resilience/backoff.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { NackError, type ClientMessage, type MessageHandler } from '../session/client-messages.js';
import { attempt, type AttemptOutcome } from './http-attempt.js';

/** The `nack` codes of the upstream (all but `upstream_rejected` are retryable). */
export const UpstreamNack = {
  Rejected: 'upstream_rejected',
  Failed: 'upstream_failed',
  Timeout: 'upstream_timeout',
  BreakerOpen: 'breaker_open',
  Overloaded: 'overloaded',
  Draining: 'draining',
} as const;

export interface UpstreamOptions {
  url: string;
  /** Time one attempt may take (ms), response body included. */
  timeoutMs: number;
  /** Extra attempts after a retryable failure. */
  retries: number;
  /** Full jitter: retry n waits random() * min(capMs, baseMs * 2^n) ms. */
  backoff: { baseMs: number; capMs: number };
  /** Most client messages being handled at once (waiting for a retry included). */
  maxInFlight: number;
  /** Largest response body read (bytes); a larger 2xx body is a failure. */
  maxResponseBytes: number;
  /** Admits each attempt and hears its outcome (the server's breaker named `upstream`). */
  breaker: Pick<CircuitBreaker, 'tryAcquire' | 'onSuccess' | 'onFailure' | 'release'>;
  /** Gets one `upstream` event per client message. */
  events: Emitter<CoreEvents>;
  clock?: Clock;
  random?: () => number;
}

type Outcome = CoreEvents['upstream']['outcome'];

/** One client message being handled: what drain needs to cut it short. */
interface Call {
  controller: AbortController | undefined;
  sleep: { timer: TimerHandle; wake: () => void } | undefined;
  /** Set by drain: no further attempt, and an abort here means "draining". */
  cut: boolean;
}

export class Upstream {
  readonly handler: MessageHandler;
  private readonly o: UpstreamOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly calls = new Set<Call>();
  private draining = false;
  /** Resolved when the last call ends; shared by every drain() waiting for it. */
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: UpstreamOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.handler = (m) => this.handle(m);
  }

  /** Client messages being handled now (at most `maxInFlight`). */
  get inFlight(): number {
    return this.calls.size;
  }

  /**
   * Graceful shutdown: new calls are refused (`nack draining`, retryable), calls waiting for
   * a retry give up at once, and attempts in flight may finish until `deadlineMs`; the rest
   * are aborted (their clients get a retryable nack). Resolves when no call is left.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    for (const call of this.calls) {
      call.cut = true;
      call.sleep?.wake();
    }
    if (this.calls.size === 0) return;
    const idle = this.idlePromise();
    let deadline: TimerHandle | undefined;
    await Promise.race([
      idle,
      new Promise<void>((resolve) => (deadline = this.clock.after(deadlineMs, resolve))),
    ]);
    deadline?.cancel();
    for (const call of this.calls) call.controller?.abort();
    await idle;
  }

  private idlePromise(): Promise<void> {
    if (this.idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private async handle(m: ClientMessage): Promise<unknown> {
    const start = this.clock.now();
    if (this.draining) {
      this.report('draining', undefined, 0, start);
      throw nack(UpstreamNack.Draining, 'the server is shutting down; retry', true);
    }
    if (this.calls.size >= this.o.maxInFlight) {
      this.report('overloaded', undefined, 0, start);
      throw nack(
        UpstreamNack.Overloaded,
        `more than ${this.o.maxInFlight} upstream calls in flight; retry later`,
        true,
      );
    }
    const call: Call = { controller: undefined, sleep: undefined, cut: false };
    this.calls.add(call);
    try {
      return await this.run(call, upstreamBody(m), start);
    } finally {
      this.calls.delete(call);
      if (this.calls.size === 0 && this.idle !== undefined) {
        this.idle.resolve();
        this.idle = undefined;
      }
    }
  }

  /** Attempts until an answer, a non-retryable outcome, the retry budget or drain. */
  private async run(call: Call, body: string, start: number): Promise<unknown> {
    let last: { outcome: Outcome; status: number | undefined; message: string } | undefined;
    for (let n = 0; ; n++) {
      if (n > 0) await this.sleep(call, fullJitter(n - 1, this.o.backoff, this.random));
      if (call.cut) {
        this.report('draining', last?.status, n, start);
        throw nack(UpstreamNack.Draining, drainMessage(last?.message), true);
      }
      if (!this.o.breaker.tryAcquire()) {
        this.report('breaker_open', last?.status, n, start);
        throw nack(
          UpstreamNack.BreakerOpen,
          'the upstream circuit breaker is open; retry later',
          true,
        );
      }
      const r = await this.attempt(call, body);
      if (r.kind === 'ok') {
        this.report('ok', r.status, n + 1, start);
        return r.data;
      }
      if (r.kind === 'rejected') {
        this.report('rejected', r.status, n + 1, start);
        throw nack(UpstreamNack.Rejected, r.message, r.retryable);
      }
      if (r.kind === 'cut') {
        this.report('draining', undefined, n + 1, start);
        throw nack(UpstreamNack.Draining, drainMessage(last?.message), true);
      }
      last = r;
      if (n >= this.o.retries) {
        this.report(r.outcome, r.status, n + 1, start);
        const code = r.outcome === 'timeout' ? UpstreamNack.Timeout : UpstreamNack.Failed;
        throw nack(code, r.message, true);
      }
    }
  }

  /** One admitted attempt with its timeout, reported to the breaker. */
  private async attempt(
    call: Call,
    body: string,
  ): Promise<
    | Extract<AttemptOutcome, { kind: 'ok' | 'rejected' }>
    | { kind: 'retry'; outcome: 'failed' | 'timeout'; status: number | undefined; message: string }
    | { kind: 'cut' }
  > {
    const controller = new AbortController();
    call.controller = controller;
    let timedOut = false;
    const timer = this.clock.after(this.o.timeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    const t0 = this.clock.now();
    let r: AttemptOutcome;
    try {
      r = await attempt({
        url: this.o.url,
        body,
        signal: controller.signal,
        maxResponseBytes: this.o.maxResponseBytes,
      });
    } finally {
      timer.cancel();
      call.controller = undefined;
    }
    const ms = this.clock.now() - t0;
    const { breaker } = this.o;
    switch (r.kind) {
      case 'ok':
      case 'rejected':
        breaker.onSuccess(ms);
        return r;
      case 'failed':
        breaker.onFailure(ms);
        return { kind: 'retry', outcome: 'failed', status: r.status, message: r.message };
      case 'aborted':
        if (!timedOut) {
          // Cut by drain: not the upstream's fault, so the permit goes back uncounted.
          breaker.release();
          return { kind: 'cut' };
        }
        breaker.onFailure(ms);
        return {
          kind: 'retry',
          outcome: 'timeout',
          status: undefined,
          message: `the upstream did not answer within ${this.o.timeoutMs} ms`,
        };
    }
  }

  /** Waits `ms` before a retry; drain wakes it early. */
  private sleep(call: Call, ms: number): Promise<void> {
    if (call.cut) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        call.sleep?.timer.cancel();
        call.sleep = undefined;
        resolve();
      };
      call.sleep = { timer: this.clock.after(ms, wake), wake };
    });
  }

  private report(outcome: Outcome, status: number | undefined, attempts: number, start: number) {
    if (this.o.events.has('upstream'))
      this.o.events.emit('upstream', {
        outcome,
        status,
        attempts,
        durationMs: this.clock.now() - start,
      });
  }
}

/** The POST body: `{sid, id, data}`, plus `user` and `claims` when the session has a user. */
function upstreamBody(m: ClientMessage): string {
  if (m.user === undefined) return JSON.stringify({ sid: m.sid, id: m.id, data: m.data });
  return JSON.stringify({ sid: m.sid, id: m.id, data: m.data, user: m.user, claims: m.claims });
}

function nack(code: string, message: string, retryable: boolean): NackError {
  return new NackError(code, message, { retryable });
}

function drainMessage(lastFailure: string | undefined): string {
  const base = 'the server is shutting down; retry';
  return lastFailure === undefined ? base : `${base} (last attempt: ${lastFailure})`;
}
