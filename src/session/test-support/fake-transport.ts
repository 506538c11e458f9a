/**
 * A fake of the `Transport` port for unit tests: records what the core writes and closes, and
 * lets a test play the peer (send frames, close, drain) and set `bufferedAmount` by hand.
 */
import { decodeServerMessage, type ServerFrame } from '../../protocol/index.js';
import type { Transport, TransportHandlers } from '../transport-port.js';

export type FrameOf<T extends ServerFrame['t']> = Extract<ServerFrame, { t: T }>;

export class FakeTransport implements Transport {
  /** Every WebSocket message the core sent, raw. */
  readonly messages: string[] = [];
  /** Set by the test to simulate a socket that has not written everything yet. */
  bufferedAmount = 0;
  /** The core's close call, if any. */
  closed: { code: number; reason: string } | undefined;
  /** The core dropped the connection without a close handshake. */
  terminated = false;
  private closeEventFired = false;
  private handlers: TransportHandlers | undefined;
  private taken = 0;

  constructor(readonly remoteAddress: string | undefined = '127.0.0.1') {}

  /** Wire the callbacks returned by `hub.accept`. */
  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  send(text: string): void {
    if (this.closed !== undefined) return;
    this.messages.push(text);
  }

  close(code: number, reason: string): void {
    if (this.closed !== undefined) return;
    this.closed = { code, reason };
  }

  /** Like ws: the socket is destroyed and its close event (1006) follows shortly. */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    queueMicrotask(() => this.fireClose(1006, ''));
  }

  // ---- the peer's side ----

  /** The peer sends one WebSocket message carrying these frames (joined by '\n'). */
  peerSends(...frames: readonly object[]): void {
    this.peerSendsRaw(frames.map((f) => JSON.stringify(f)).join('\n'));
  }

  /** The peer sends one WebSocket message with exactly this text. */
  peerSendsRaw(text: string): void {
    this.bound().onMessage(text);
  }

  /**
   * The socket's close event: after the core's own close (its code by default) or a close by
   * the peer or the network (pass the code).
   */
  fireClose(code?: number, reason?: string): void {
    // A socket emits its close event once.
    if (this.closeEventFired) return;
    this.closeEventFired = true;
    this.bound().onClose(code ?? this.closed?.code ?? 1006, reason ?? this.closed?.reason ?? '');
  }

  /** A write completed and the socket now holds `bufferedAmount` bytes. */
  drain(bufferedAmount = 0): void {
    this.bufferedAmount = bufferedAmount;
    this.bound().onDrain();
  }

  // ---- what the core wrote ----

  /** Every frame the core sent, in order, decoded and validated by the protocol codec. */
  get frames(): ServerFrame[] {
    const out: ServerFrame[] = [];
    for (const m of this.messages) {
      for (const d of decodeServerMessage(m)) {
        if (!d.ok) throw new Error(`the server sent an invalid frame: ${d.message} in ${m}`);
        out.push(d.frame);
      }
    }
    return out;
  }

  /** Frames sent since the previous call to `take`. */
  take(): ServerFrame[] {
    const all = this.frames;
    const fresh = all.slice(this.taken);
    this.taken = all.length;
    return fresh;
  }

  framesOf<T extends ServerFrame['t']>(t: T): FrameOf<T>[] {
    return this.frames.filter((f): f is FrameOf<T> => f.t === t);
  }

  /** The seqs of every stored `msg` frame received, in order. */
  get seqs(): number[] {
    return this.framesOf('msg').flatMap((m) => (m.seq === undefined ? [] : [m.seq]));
  }

  get welcome(): FrameOf<'welcome'> {
    const w = this.framesOf('welcome');
    if (w.length !== 1) throw new Error(`expected one welcome, got ${w.length}`);
    return w[0]!;
  }

  private bound(): TransportHandlers {
    if (this.handlers === undefined) throw new Error('FakeTransport.bind was not called');
    return this.handlers;
  }
}
