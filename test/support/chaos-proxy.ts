/**
 * A TCP proxy on loopback that the test can cut: `cut()` destroys the live client↔server
 * socket pair at once (no close handshake), as a network failure would. `pause()` stops
 * reading the server→client leg (a client that stops reading, seen from the server: its
 * socket buffers fill and its writes back up); `resume()` lets the bytes flow again.
 *
 * `target` is settable: a new target takes effect for the next connection (the live ones stay
 * where they are until cut), so `proxy.target = b; proxy.cut()` moves a client to node B, as a
 * load balancer that lost its backend would.
 *
 * Both legs set TCP_NODELAY, as `ws` does on its own sockets: with Nagle's algorithm on, a
 * handshake made of several small writes waits for the peer's delayed ACK (up to 40 ms per
 * round trip), which measured the proxy rather than the protocol (the resume benchmark saw
 * Socket.IO's reconnect → first message at 48 ms instead of 3 ms).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class ChaosProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private paused = false;
  port = 0;
  cuts = 0;

  constructor(public target: { host: string; port: number }) {
    this.server = createServer({ noDelay: true }, (client) => {
      const upstream = createConnection({ ...this.target, noDelay: true });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      if (this.paused) upstream.pause();
      else upstream.pipe(client);
      const drop = (): void => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  get live(): number {
    return this.pairs.size;
  }

  /**
   * Stop reading what the server sends, on every live connection and on new ones (the
   * client→server leg keeps flowing). Nothing is dropped: it waits in the sockets' buffers.
   */
  pause(): void {
    this.paused = true;
    for (const [client, upstream] of this.pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Forward what the server sends again (what waited first, in order). */
  resume(): void {
    this.paused = false;
    for (const [client, upstream] of this.pairs) upstream.pipe(client);
  }

  /** New connections go to `target` from now on (live ones stay where they are). */
  moveTo(target: { host: string; port: number }): void {
    this.target = target;
  }

  /** Destroy every live connection; returns how many were cut. */
  cut(): number {
    let n = 0;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
      n++;
    }
    this.pairs.clear();
    this.cuts += n;
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Deterministic randomness (mulberry32) for chaos schedules, so a failing one can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
