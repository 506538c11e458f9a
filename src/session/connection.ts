/**
 * One WebSocket connection: its outgoing batch, backpressure state and activity times.
 * Protocol decisions live in the hub and frame handler; this class only writes and closes.
 */
import { CloseCode, encodeFrame, ErrorCode, type ServerFrame } from '../protocol/index.js';
import type { RateBucket } from './client-limits.js';
import { RUN_MASK, type FlushScheduler } from './flush-scheduler.js';
import type { Transport, TransportHandlers } from './transport-port.js';

export type ConnectionState = 'hello' | 'handshaking' | 'open' | 'closed';

/**
 * Connection.mode: four flags, and above them the scheduler run of the last write
 * (`FlushScheduler.runs`, masked to RUN_MASK: a small integer kept in the object itself).
 */
/** A flush is due in this turn's check phase. */
const MARKED = 1;
/** The last turn brought two frames or more (under load): batch from the first frame. */
const LOADED = 2;
/** The pending frames were held back one loop iteration already (autocorking). */
const HELD = 4;
/** A frame of this turn was written at once: it counts toward the turn's frames. */
const WROTE = 8;
const FLAGS = 15;
const RUN_SHIFT = 4;

export interface WriterLimits {
  /** bufferedAmount above which stored messages stop being written (default 1 MiB). */
  highWaterMark: number;
  /** Most frames joined into one WebSocket message. */
  maxBatchFrames: number;
  /** Most characters joined into one WebSocket message (a single larger frame goes alone). */
  maxBatchChars: number;
  /**
   * Hard bound on what may wait for a peer, in bytes (the server passes 2 × highWaterMark +
   * maxFrame). Stored messages stop at the high-water mark, but replies and pongs do not; a
   * peer that keeps sending without reading is closed as a slow consumer (4002) past it.
   */
  maxBuffered: number;
}

/**
 * What a connection calls into: the hub, through one object shared by every connection (no
 * closures per connection: an idle connection's heap is a benchmarked figure).
 */
export interface ConnectionOwner {
  readonly scheduler: FlushScheduler;
  readonly limits: WriterLimits;
  now(): number;
  /** A congested connection can take more. */
  writable(conn: Connection): void;
  message(conn: Connection, text: string): void;
  closed(conn: Connection, code: number, reason: string): void;
}

/** The connection is also its transport's handlers (prototype methods, no closures). */
export class Connection implements TransportHandlers {
  state: ConnectionState = 'hello';
  /** The session this connection serves once hello completed. */
  sid: string | undefined;
  readonly openedAt: number;
  // The other times are kept as whole-ms offsets from `openedAt`: small integers live in the
  // object itself, while every time field holding epoch ms (or a fraction, from the monotonic
  // clock) costs a 16-byte heap number per connection. They serve heartbeats and deadlines
  // (seconds), so ±0.5 ms is nothing.
  private receivedAfter = 0;
  private sentAfter = 0;
  /** -1: no hello yet. */
  private handshakeAfter = -1;
  badFrames = 0;
  /** The rate bucket of its client messages, made at the first one (client-limits.ts). */
  rate: RateBucket | undefined = undefined;
  /** `bye` received: later frames are ignored while the session is forgotten. */
  ending = false;
  /** True while the socket is above the high-water mark: stored messages wait in the outbox. */
  congested = false;
  closeCode: number | undefined;
  /** This turn's frames; none (no array) between turns, as on most idle connections. */
  private pending: string[] | undefined = undefined;
  private pendingChars = 0;
  /** Flags (MARKED, LOADED, HELD, WROTE) and the run of the last write, see above. */
  private mode = 0;

  constructor(
    readonly transport: Transport,
    private readonly owner: ConnectionOwner,
  ) {
    this.openedAt = owner.now();
  }

  /** When the peer last sent anything. */
  get lastReceivedAt(): number {
    return this.openedAt + this.receivedAfter;
  }

  set lastReceivedAt(at: number) {
    this.receivedAfter = Math.round(at - this.openedAt);
  }

  /** When anything was last written to the peer. */
  get lastSentAt(): number {
    return this.openedAt + this.sentAfter;
  }

  set lastSentAt(at: number) {
    this.sentAfter = Math.round(at - this.openedAt);
  }

  /** When hello arrived (the handshake's deadline is measured from here); 0 before. */
  get handshakeAt(): number {
    return this.handshakeAfter < 0 ? 0 : this.openedAt + this.handshakeAfter;
  }

  set handshakeAt(at: number) {
    // ≥ 0: a wall clock that stepped back must not read as "no hello yet".
    this.handshakeAfter = Math.max(0, Math.round(at - this.openedAt));
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Stored messages were held back for capacity; call onWritable when there is room. */
  deferred = false;

  /** Whether stored messages may be written now (open, socket and this turn's batch below the mark). */
  get writable(): boolean {
    return (
      this.state === 'open' &&
      !this.congested &&
      this.pendingChars <= this.owner.limits.highWaterMark
    );
  }

  sendFrame(frame: ServerFrame): void {
    this.write(encodeFrame(frame));
  }

  /**
   * Write one encoded frame. An idle connection (nothing queued, no flush due in this turn,
   * not congested, not streaming, and its last turn had at most one frame) writes it at once:
   * a message produced as an event happens leaves without waiting for the end of the turn, as
   * with a bare socket. Every later frame of the turn is queued and leaves with the rest of
   * the turn's batch in the check phase; a connection whose last turn had two frames or more
   * (under load) batches from its first frame until a turn brings it at most one.
   */
  write(text: string): void {
    if (this.state === 'closed') return;
    const mode = this.mode;
    const scheduler = this.owner.scheduler;
    if ((mode & FLAGS) === 0 && !this.congested && !scheduler.streaming(mode >>> RUN_SHIFT)) {
      // The flush still comes in this turn's check phase: it checks the socket's bounds, and
      // the frames written after this one in this turn wait for it. This write belongs to the
      // run to come (the check phase of this loop iteration).
      this.mode = MARKED | WROTE | (((scheduler.runs + 1) & RUN_MASK) << RUN_SHIFT);
      scheduler.mark(this);
      this.transport.send(text, false);
      this.lastSentAt = this.owner.now();
      // Above the mark, stored messages wait from now on (not from the flush).
      if (this.transport.bufferedAmount > this.owner.limits.highWaterMark) this.congested = true;
      return;
    }
    (this.pending ??= []).push(text);
    this.pendingChars += text.length;
    if ((mode & MARKED) === 0) {
      this.mode = mode | MARKED;
      scheduler.mark(this);
    }
  }

  /**
   * The scheduler's call in the check phase. A connection streaming in a saturated loop (it
   * wrote in the previous run, and the loop did not wait for I/O since) holds a small batch for
   * one more loop iteration, once, so that two iterations' frames leave in one write: with
   * one message per connection per turn this halves the write system calls, at the cost of
   * one loop iteration of latency only while the loop is saturated.
   */
  flush(): void {
    const mode = this.mode;
    const scheduler = this.owner.scheduler;
    if (
      (mode & HELD) === 0 &&
      this.pending !== undefined &&
      this.state === 'open' &&
      this.pending.length * 2 < this.owner.limits.maxBatchFrames &&
      this.pendingChars * 2 < this.owner.limits.maxBatchChars &&
      scheduler.streaming(mode >>> RUN_SHIFT)
    ) {
      this.mode = mode | HELD;
      scheduler.mark(this);
      return;
    }
    this.send(true);
  }

  /**
   * Hand the pending frames to the transport; `check`: apply the bounds after (also when a
   * frame was written at once and nothing else was queued).
   */
  private send(check: boolean): void {
    const frames = this.pending;
    this.pending = undefined;
    this.pendingChars = 0;
    const n = frames === undefined ? 0 : frames.length;
    const lastWrite = n > 0 ? this.owner.scheduler.runs : this.mode >>> RUN_SHIFT;
    // The turn's frames: the queued ones and the one written at once, if any.
    const turnFrames = n + ((this.mode & WROTE) === 0 ? 0 : 1);
    this.mode = (turnFrames > 1 ? LOADED : 0) | (lastWrite << RUN_SHIFT);
    if (this.state === 'closed') return;
    if (n > 0) this.sendBatches(frames!);
    if (!check) return;
    const buffered = this.transport.bufferedAmount;
    const hardLimit = this.owner.limits.maxBuffered;
    if (buffered > hardLimit) {
      this.closeSlowConsumer(`more than ${hardLimit} bytes waiting for this peer`);
      return;
    }
    if (buffered > this.owner.limits.highWaterMark) this.congested = true;
    else if (this.deferred) this.wake();
  }

  /** Frames joined into WebSocket messages of at most maxBatchFrames / maxBatchChars. */
  private sendBatches(frames: readonly string[]): void {
    let batch: string[] = [];
    let chars = 0;
    for (const f of frames) {
      if (
        batch.length > 0 &&
        (batch.length >= this.owner.limits.maxBatchFrames ||
          chars + f.length > this.owner.limits.maxBatchChars)
      ) {
        this.transport.send(batch.length === 1 ? batch[0]! : batch.join('\n'), this.congested);
        batch = [];
        chars = 0;
      }
      batch.push(f);
      chars += f.length + 1;
    }
    this.transport.send(batch.length === 1 ? batch[0]! : batch.join('\n'), this.congested);
    this.lastSentAt = this.owner.now();
  }

  /** Pending characters not yet flushed, for backpressure decisions within one turn. */
  get queuedChars(): number {
    return this.pendingChars;
  }

  /** The transport finished a write. */
  drained(): void {
    if (!this.congested) return;
    if (this.transport.bufferedAmount > this.owner.limits.highWaterMark / 2) return;
    this.congested = false;
    if (this.deferred) this.wake();
  }

  private wake(): void {
    this.deferred = false;
    if (this.state === 'open') this.owner.writable(this);
  }

  onMessage(text: string): void {
    this.owner.message(this, text);
  }

  onClose(code: number, reason: string): void {
    this.owner.closed(this, code, reason);
  }

  onDrain(): void {
    this.drained();
  }

  /** Error `slow_consumer`, close 4002 (retryable: the client resumes and catches up). */
  closeSlowConsumer(message: string): void {
    this.close(CloseCode.SlowConsumer, 'slow consumer', { code: ErrorCode.SlowConsumer, message });
  }

  /** Send an optional error frame, flush, and close. */
  close(code: number, reason: string, error?: { code: string; message: string }): void {
    if (this.state === 'closed') return;
    if (error !== undefined)
      this.sendFrame({ t: 'error', code: error.code, message: error.message });
    this.send(false);
    this.state = 'closed';
    this.closeCode = code;
    this.transport.close(code, reason);
  }
}
