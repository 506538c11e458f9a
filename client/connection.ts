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
  private readonly writer = new FrameWriter((text) => this.transmit(text));
  private readonly heartbeat: Heartbeat;
  private released = false;
  private sealed = false;

  constructor(
    private readonly sock: WebSocketLike,
    clock: ClientClock,
    heartbeatTimeoutMs: number,
    private readonly hooks: ConnectionHooks,
  ) {
    this.heartbeat = new Heartbeat(clock, heartbeatTimeoutMs, {
      dead: () => this.lose(CloseCode.HeartbeatTimeout, 'heartbeat timeout (client watchdog)'),
      ping: () => this.writer.writeNow(encodeFrame({ t: 'ping' })),
    });
    // Until `welcome` tells the interval, the watchdog bounds the handshake alone.
    this.heartbeat.start();
    attachSocket(sock, {
      open: () => this.guard(() => this.transmit(encodeFrame(hooks.hello()))),
      message: (data) => this.guard(() => this.onMessage(data)),
      close: (code, reason) => this.guard(() => this.lose(code, reason)),
      error: (message) => this.guard(() => this.lose(CloseCode.Abnormal, message)),
    });
  }

  /** `welcome` arrived: heartbeat at the server's interval `hbMs` (0: none). */
  welcomed(hbMs: number): void {
    this.heartbeat.start(hbMs);
  }

  /** Queues a frame; frames written in one tick or one dispatch leave as one message. */
  write(frame: string): void {
    if (!this.released) this.writer.write(frame);
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
      // Never throw into the socket's callback.
      this.hooks.error(
        ClientErrorCode.Internal,
        error instanceof Error ? error.message : String(error),
        error,
      );
    }
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
    this.writer.hold(() => {
      for (const decoded of decodeServerMessage(data)) {
        if (this.released) return;
        if (!decoded.ok) this.hooks.error(decoded.code, decoded.message);
        else if (decoded.frame.t === 'ping') this.writer.write(encodeFrame({ t: 'pong' }));
        else if (decoded.frame.t !== 'pong') this.hooks.frame(decoded.frame);
      }
    });
  }

  private transmit(text: string): void {
    if (this.released || this.sealed || this.sock.readyState !== SocketState.Open) return;
    try {
      this.sock.send(text);
      this.heartbeat.sent();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.hooks.error(ClientErrorCode.SendFailed, message, error);
    }
  }
}
