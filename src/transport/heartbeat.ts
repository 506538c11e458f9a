/**
 * One timer for every connection (never one per connection): each tick closes peers silent
 * for interval + timeout (4000), closes connections that sent no hello in time (4501) or
 * whose hello the store did not answer in time (4003), and pings connections to which the
 * server will have sent nothing for an interval by the next tick.
 *
 * Why at the last tick before the deadline, not the first after it: the SDK pings after an
 * interval of its own silence, i.e. just after the server's deadline (it last wrote when the
 * server's previous frame arrived). Pinging after the deadline races it, and when the SDK
 * wins every connection costs the server a wake-up of its own (its ping read, its pong
 * written) at a time of the client's choosing; when both ping, it costs two exchanges.
 * Pinging before it, the server's ping always comes first, the SDK answers it and its own
 * timer starts again, and the pings due in one tick leave together, their pongs read in
 * the same wake-ups (bench/connections.bench.ts measures the difference).
 */
import type { Clock, TimerHandle } from '../clock.js';
import { CloseCode, ErrorCode, encodeFrame } from '../protocol/index.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { Connection } from '../session/connection.js';

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  helloTimeoutMs: number;
  /**
   * Most pings written in one event-loop turn (default PINGS_PER_TURN): the rest of a tick's
   * pings follow in the next turns, so I/O is served between them.
   */
  pingsPerTurn?: number;
}

/**
 * Connections that connected together are pinged together, tick after tick: at 15k sessions
 * one tick's pings held the event loop for tens of ms (bench/connections.bench.ts, event-loop
 * delay while idle). A turn of 500 pings is a few ms.
 */
export const PINGS_PER_TURN = 500;

/** The ping frame, encoded once. */
const PING = encodeFrame({ t: 'ping' });

/** How often the one timer ticks: fine enough for the shortest deadline, at most 1 s. */
export function heartbeatTick(o: HeartbeatOptions): number {
  return Math.max(5, Math.min(1000, o.intervalMs / 4, o.timeoutMs / 4, o.helloTimeoutMs / 4));
}

/** What the heartbeat watches: every open connection of this node, and where to report. */
export interface HeartbeatContext {
  readonly connections: Iterable<Connection>;
  readonly events: Emitter<CoreEvents>;
}

export function startHeartbeat(
  ctx: HeartbeatContext,
  clock: Clock,
  o: HeartbeatOptions,
): TimerHandle {
  const silentLimit = o.intervalMs + o.timeoutMs;
  const tick = heartbeatTick(o);
  // Ping at the last tick before the interval is up (see the header).
  const pingAfter = Math.max(0, o.intervalMs - tick);
  const perTurn = Math.max(1, o.pingsPerTurn ?? PINGS_PER_TURN);
  /** A tick's pings are still being written: the next tick pings nobody (no ping twice). */
  let writing = false;
  let stopped = false;
  /** Writes due[from…] a turn at a time (a closed connection ignores its write). */
  const ping = (due: Connection[], from: number): void => {
    if (stopped) return;
    const end = Math.min(due.length, from + perTurn);
    for (let i = from; i < end; i++) due[i]!.write(PING);
    writing = end < due.length;
    if (writing) setImmediate(ping, due, end);
  };
  const timer = clock.every(tick, () => {
    const now = clock.now();
    let due: Connection[] | undefined;
    for (const conn of ctx.connections) {
      if (conn.state === 'hello') {
        if (now - conn.openedAt >= o.helloTimeoutMs) {
          ctx.events.emit('frameError', { sid: undefined, code: ErrorCode.HelloTimeout });
          conn.close(CloseCode.ProtocolError, 'hello timeout', {
            code: ErrorCode.HelloTimeout,
            message: `no hello within ${o.helloTimeoutMs} ms`,
          });
        }
        continue;
      }
      if (conn.state === 'handshaking') {
        // The store has not answered the hello within the hello timeout: let the client retry.
        if (now - conn.handshakeAt >= o.helloTimeoutMs)
          conn.close(CloseCode.Overloaded, 'store timeout', {
            code: ErrorCode.Unavailable,
            message: `the session store did not answer within ${o.helloTimeoutMs} ms; retry`,
          });
        continue;
      }
      if (conn.state !== 'open') continue;
      if (now - conn.lastReceivedAt >= silentLimit) {
        ctx.events.emit('heartbeatTimeout', { sid: conn.sid });
        conn.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
        continue;
      }
      if (!writing && now - conn.lastSentAt >= pingAfter) (due ??= []).push(conn);
    }
    if (due !== undefined) ping(due, 0);
  });
  return {
    cancel: () => {
      stopped = true; // the rest of a tick's pings too
      timer.cancel();
    },
  };
}
