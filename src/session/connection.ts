/**
 * One WebSocket connection: its outgoing batch, backpressure state and activity times.
 * Protocol decisions live in the hub and frame handler; this class only writes and closes.
 */
import { CloseCode, encodeFrame, ErrorCode, type ServerFrame } from '../protocol/index.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { Transport } from './transport-port.js';

export type ConnectionState = 'hello' | 'handshaking' | 'open' | 'closed';

export interface WriterLimits {
  /** bufferedAmount above which stored messages stop being written (default 1 MiB). */
  highWaterMark: number;
  /** Most frames joined into one WebSocket message. */
  maxBatchFrames: number;
  /** Most characters joined into one WebSocket message (a single larger frame goes alone). */
  maxBatchChars: number;
  /**
   * Hard bound on what may wait for a peer, in bytes (default 2 × highWaterMark + 1 MiB).
   * Stored messages stop at the high-water mark, but replies and pongs do not; a peer that
   * keeps sending without reading is closed as a slow consumer (4002) past this bound.
   */
  maxBuffered?: number;
}

export class Connection {
  state: ConnectionState = 'hello';
  /** The session this connection serves once hello completed. */
  sid: string | undefined;
  readonly openedAt: number;
  lastReceivedAt: number;
  lastSentAt: number;
  badFrames = 0;
  /** When hello arrived (the handshake's deadline is measured from here). */
  handshakeAt = 0;
  /** `bye` received: later frames are ignored while the session is forgotten. */
  ending = false;
  /** True while the socket is above the high-water mark: stored messages wait in the outbox. */
  congested = false;
  closeCode: number | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  private marked = false;

  constructor(
    readonly transport: Transport,
    private readonly scheduler: FlushScheduler,
    private readonly limits: WriterLimits,
    private readonly now: () => number,
    /** Called when a congested connection can take more. */
    private readonly onWritable: (conn: Connection) => void,
  ) {
    this.openedAt = now();
    this.lastReceivedAt = this.openedAt;
    this.lastSentAt = this.openedAt;
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Stored messages were held back for capacity; call onWritable when there is room. */
  deferred = false;

  /** Whether stored messages may be written now (open, socket and this turn's batch below the mark). */
  get writable(): boolean {
    return (
      this.state === 'open' && !this.congested && this.pendingChars <= this.limits.highWaterMark
    );
  }

  sendFrame(frame: ServerFrame): void {
    this.write(encodeFrame(frame));
  }

  /** Queue one encoded frame; it leaves with the rest of this turn's batch. */
  write(text: string): void {
    if (this.state === 'closed') return;
    this.pending.push(text);
    this.pendingChars += text.length;
    if (!this.marked) {
      this.marked = true;
      this.scheduler.mark(this);
    }
  }

  flush(): void {
    this.send(true);
  }

  /** Hand the pending frames to the transport; `check`: apply the hard bound after. */
  private send(check: boolean): void {
    this.marked = false;
    if (this.pending.length === 0 || this.state === 'closed') {
      this.pending = [];
      this.pendingChars = 0;
      return;
    }
    const frames = this.pending;
    this.pending = [];
    this.pendingChars = 0;
    let batch: string[] = [];
    let chars = 0;
    for (const f of frames) {
      if (
        batch.length > 0 &&
        (batch.length >= this.limits.maxBatchFrames || chars + f.length > this.limits.maxBatchChars)
      ) {
        this.transport.send(batch.length === 1 ? batch[0]! : batch.join('\n'));
        batch = [];
        chars = 0;
      }
      batch.push(f);
      chars += f.length + 1;
    }
    this.transport.send(batch.length === 1 ? batch[0]! : batch.join('\n'));
    this.lastSentAt = this.now();
    if (!check) return;
    const buffered = this.transport.bufferedAmount;
    const hardLimit = this.limits.maxBuffered ?? 2 * this.limits.highWaterMark + 1024 * 1024;
    if (buffered > hardLimit) {
      this.closeSlowConsumer(`more than ${hardLimit} bytes waiting for this peer`);
      return;
    }
    if (buffered > this.limits.highWaterMark) this.congested = true;
    else if (this.deferred) this.wake();
  }

  /** Pending characters not yet flushed, for backpressure decisions within one turn. */
  get queuedChars(): number {
    return this.pendingChars;
  }

  /** The transport finished a write. */
  drained(): void {
    if (!this.congested) return;
    if (this.transport.bufferedAmount > this.limits.highWaterMark / 2) return;
    this.congested = false;
    if (this.deferred) this.wake();
  }

  private wake(): void {
    this.deferred = false;
    if (this.state === 'open') this.onWritable(this);
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
