/**
 * One WebSocket connection: hello on open, decoding, ping/pong, the heartbeat watchdog and
 * batched writes. The client makes a new one per attempt; once released (or lost) a
 * connection ignores everything its socket still reports, so a stale socket cannot touch
 * the session.
 */
import {
  CloseCode,
  decodeServerMessage,
  encodeFrame,
  type HelloFrame,
  type ServerFrame,
} from '../src/protocol/index.js';
import type { ClientClock } from './clock.js';
import { ClientErrorCode } from './errors.js';
import { FrameWriter } from './frame-writer.js';
import { Heartbeat } from './heartbeat.js';
import { SocketState, attachSocket, type WebSocketLike } from './socket.js';

/**
 * Heartbeat interval when `welcome.hb` is 0 (the server sends no pings of its own): the
 * client still pings at this interval and treats `hb` + timeout of silence as a dead
 * connection, since the server answers every `ping` with `pong`.
 */
export const DEFAULT_HEARTBEAT_MS = 25_000;

export interface ConnectionLimits {
  /** Silence past the heartbeat interval (or, before `welcome`, from the start) that is fatal. */
  heartbeatTimeoutMs: number;
  /** The largest WebSocket message the server accepts (`options.maxMessageBytes`). */
  maxMessageBytes: number;
}

export interface ConnectionHooks {
  /** The socket is open: the `hello` to send. */
  hello(): HelloFrame;
  /** A decoded frame other than ping/pong. */
  frame(f: ServerFrame): void;
  /** Something to report as an `error` event; the connection stays up. */
  error(code: string, message: string, cause?: unknown): void;
  /** Closed, failed or silent past the watchdog. At most once, and never after `release()`. */
  lost(code: number, reason: string): void;
}

export class Connection {
  private readonly writer: FrameWriter;
  private readonly heartbeat: Heartbeat;
  private released = false;
  private sealed = false;

  constructor(
    private readonly sock: WebSocketLike,
    clock: ClientClock,
    limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.writer = new FrameWriter((text) => this.transmit(text), limits.maxMessageBytes);
    this.heartbeat = new Heartbeat(clock, limits.heartbeatTimeoutMs, {
      dead: () => this.lose(CloseCode.HeartbeatTimeout, 'heartbeat timeout (client watchdog)'),
      ping: () => this.writer.writeNow(encodeFrame({ t: 'ping' })),
    });
    // Until `welcome` tells the interval, the watchdog bounds the handshake alone.
    this.heartbeat.start();
    attachSocket(sock, {
      open: () => this.guard(() => this.transmit(encodeFrame(hooks.hello()))),
      // Per message: no closure (the hot path of a busy stream).
      message: (data) => {
        if (this.released) return;
        try {
          this.onMessage(data);
        } catch (error) {
          this.internalError(error);
        }
      },
      close: (code, reason) => this.guard(() => this.lose(code, reason)),
      error: (message) => this.guard(() => this.lose(CloseCode.Abnormal, message)),
    });
  }

  /**
   * `welcome` arrived: heartbeat at the server's interval `hbMs`, or at
   * `DEFAULT_HEARTBEAT_MS` when it is 0. Returns the interval in use.
   */
  welcomed(hbMs: number): number {
    const interval = hbMs > 0 ? hbMs : DEFAULT_HEARTBEAT_MS;
    this.heartbeat.start(interval);
    return interval;
  }

  /**
   * Queues a frame; frames written in one tick or one dispatch leave as one message. `sent`
   * is called once the frame has been handed to the socket's `send` without an error; never
   * if the connection is lost first or the socket refused it.
   */
  write(frame: string, sent?: () => void): void {
    if (!this.released) this.writer.write(frame, sent);
  }

  /** Sends a frame now (or with the message being handled). */
  writeNow(frame: string): void {
    if (!this.released) this.writer.writeNow(frame);
  }

  /** Sends what is queued, then `bye`; nothing is sent after it. */
  bye(): void {
    this.writer.flush();
    this.transmit(encodeFrame({ t: 'bye' }));
    this.sealed = true;
  }

  /** Stops everything and drops the socket; its later events are ignored. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.heartbeat.stop();
    this.writer.clear();
    if (this.sock.readyState === SocketState.Closed) return;
    try {
      // `ws` would otherwise wait up to 30 s for the close handshake of a dead connection.
      if (typeof this.sock.terminate === 'function') this.sock.terminate();
      else this.sock.close();
    } catch {
      // Already closing: nothing left to release.
    }
  }

  private guard(fn: () => void): void {
    if (this.released) return;
    try {
      fn();
    } catch (error) {
      this.internalError(error);
    }
  }

  /** Never throw into the socket's callback: report it instead. */
  private internalError(error: unknown): void {
    this.hooks.error(
      ClientErrorCode.Internal,
      error instanceof Error ? error.message : String(error),
      error,
    );
  }

  private lose(code: number, reason: string): void {
    this.release();
    this.hooks.lost(code, reason);
  }

  private onMessage(data: unknown): void {
    this.heartbeat.received();
    if (typeof data !== 'string') {
      this.hooks.error('bad_frame', 'binary messages are not part of protocol v1');
      return;
    }
    // What the frames make us write (pongs, acks at the cap) leaves as one message after them.
    this.writer.begin();
    try {
      for (const decoded of decodeServerMessage(data)) {
        if (this.released) return;
        if (!decoded.ok) this.hooks.error(decoded.code, decoded.message);
        else if (decoded.frame.t === 'ping') this.writer.write(encodeFrame({ t: 'pong' }));
        else if (decoded.frame.t !== 'pong') this.hooks.frame(decoded.frame);
      }
    } finally {
      this.writer.end();
    }
  }

  /** Sends one WebSocket message; returns whether the socket took it. */
  private transmit(text: string): boolean {
    if (this.released || this.sealed || this.sock.readyState !== SocketState.Open) return false;
    try {
      this.sock.send(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.hooks.error(ClientErrorCode.SendFailed, message, error);
      return false;
    }
    this.heartbeat.sent();
    return true;
  }
}
