/**
 * A congested connection must always hear that its socket drained (found in review).
 *
 * WsTransport attaches its write-completion callback only to writes that may leave the socket
 * at or above `watchFrom` (hwm / 2). That reasoning covers the frames the core writes, but not
 * the bytes `ws` writes by itself: an automatic pong to a client's WebSocket ping (up to
 * 127 bytes each, up to 60 pending by default). Pongs queued behind the last watched write keep
 * `bufferedAmount` above hwm / 2 when that write completes, so `Connection.drained()` returns
 * early; the pongs then complete without any callback, and every later small write (a
 * heartbeat ping, a reply) is written below `watchFrom`, so it carries none either. The
 * connection stays `congested` forever: stored messages are never written to it again.
 *
 * The socket here is a real `ws` WebSocket (RwsSocket, as the endpoint makes them) over a
 * Duplex whose writes complete only when the test says so.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Connection } from '../session/connection.js';
import { FlushScheduler } from '../session/flush-scheduler.js';
import { RwsSocket, WsTransport } from './ws-transport.js';

/** A socket whose writes complete one at a time, when `releaseAll` lets them. */
class HeldSocket extends Duplex {
  readonly held: (() => void)[] = [];
  override _read(): void {}
  override _write(_chunk: unknown, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.held.push(() => cb());
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function releaseAll(sock: HeldSocket): Promise<void> {
  for (let guard = 0; guard < 10_000; guard++) {
    await tick();
    const next = sock.held.shift();
    if (next === undefined) return;
    next();
  }
  throw new Error('writes never finished');
}

/** A client→server ping frame (clients mask their frames). */
function maskedPing(payload: Buffer): Buffer {
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x89; // FIN + ping
  out[1] = 0x80 | payload.length; // masked, length <= 125
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

function setup(hwm: number, watchFrom = hwm / 2) {
  // As WebSocketServer creates them: `new WebSocket(null, undefined, serverOptions)`, then
  // setSocket once the upgrade completed (ws defaults: autoPong, 60 pending pongs at most).
  const Ctor = RwsSocket as unknown as new (a: null, p: undefined, o: object) => RwsSocket;
  const ws = new Ctor(null, undefined, { autoPong: true, maxPendingAutoPongs: 60 });
  const sock = new HeldSocket();
  (ws as unknown as { setSocket(s: Duplex, h: Buffer, o: object): void }).setSocket(
    sock,
    Buffer.alloc(0),
    { allowSynchronousEvents: true, maxPayload: 1 << 20, skipUTF8Validation: false },
  );
  // As WsEndpoint.opened does.
  const transport = new WsTransport(ws, watchFrom);
  let wakes = 0;
  const conn = new Connection(transport, {
    scheduler: new FlushScheduler(() => {}),
    limits: {
      highWaterMark: hwm,
      maxBatchFrames: 64,
      maxBatchChars: 1 << 20,
      maxBuffered: 2 * hwm + (1 << 20),
    },
    now: () => 1000,
    writable: () => {
      wakes++;
    },
    message: () => {},
    closed: () => {},
  });
  transport.bind(conn);
  conn.state = 'open';
  return { ws, sock, transport, conn, wakes: () => wakes };
}

describe('drain notification with ws-level control frames', () => {
  async function scenario(watchFrom?: number) {
    const hwm = 1024;
    const { sock, transport, conn } = setup(hwm, watchFrom);

    // A large frame: the socket is above the mark, stored messages now wait (deferred).
    conn.write(`{"t":"msg","seq":1,"data":"${'x'.repeat(2000)}"}`);
    conn.flush();
    expect(conn.congested).toBe(true);
    conn.deferred = true;

    // The client (which has stopped reading) pings at the WebSocket level; ws answers each
    // ping itself, behind the large frame.
    for (let i = 0; i < 5; i++) sock.push(maskedPing(Buffer.alloc(125, 0x61)));
    await tick();
    expect(transport.bufferedAmount).toBeGreaterThan(2000 + 5 * 127 - 1);

    // The client reads again: everything is written.
    await releaseAll(sock);
    expect(transport.bufferedAmount).toBe(0);

    // Later traffic on the connection (a heartbeat ping) does not help either.
    conn.sendFrame({ t: 'ping' });
    conn.flush();
    await releaseAll(sock);
    return {
      buffered: transport.bufferedAmount,
      congested: conn.congested,
      writable: conn.writable,
    };
  }

  it('a congested connection is told it drained even when ws wrote pongs meanwhile', async () => {
    // The socket is empty, yet the connection still believes it is congested: the hub's pump
    // (which checks conn.writable) never writes the messages it held back.
    expect(await scenario()).toEqual({ buffered: 0, congested: false, writable: true });
  });

  it('control: with every write watched it recovers', async () => {
    expect(await scenario(0)).toEqual({ buffered: 0, congested: false, writable: true });
  });
});
