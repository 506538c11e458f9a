/**
 * A fleet of client connections spread over several client processes, for the benchmarks
 * that hold thousands of connections (bench/connections.bench.ts, bench/broadcast.bench.ts).
 *
 * - One process may open 20 000 files here (hard limit), so a fleet splits its connections
 *   over `ceil(max / PER_PROCESS)` client processes, each under PER_PROCESS connections.
 * - Each group of at most PER_ADDRESS connections binds its own loopback source address
 *   (127.A.B.C, A random per run, B.C counted up, never 127.0.0.x), so ephemeral ports
 *   (32768–60999 here, ~28k per source address) never run out, and a run never meets the
 *   TIME_WAIT sockets of an earlier one.
 * - Clients as users run them: resilient-ws with the real SDK (`ResilientClient`, its
 *   `WebSocket` option a `ws` subclass that sets `localAddress`), a connection counting once
 *   its `open` event (the `welcome`) fired; raw ws clients (`open`); socket.io-client with
 *   `forceNew` (`connect`). Options from bench/lib/systems.ts.
 * - Every client records each broadcast it receives (`{ b: k, … }`): a count per k, a
 *   duplicate count, and the process.hrtime.bigint() of the last arrival per k
 *   (CLOCK_MONOTONIC, the same clock in every process of the machine).
 *
 * The parent side is `Fleet`; the client process runs `fleetClientChild()` (the bench file
 * switches on its argv, as the other benchmarks do).
 */
import { ResilientClient } from '../../client/index.js';
import type { WebSocketCtor } from '../../client/index.js';
import { io as sioConnect, type Socket as SioClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { startChild, serveRpc, type Peer } from './child.js';
import { SIO_CLIENT, WS_CLIENT, type System } from './systems.js';

/** The argv role under which a bench file runs `fleetClientChild()`. */
export const FLEET_ROLE = 'fleet';

/** Most connections in one client process (the file limit is 20 000 per process). */
export const PER_PROCESS = 5000;
/** Most connections bound to one source address. */
export const PER_ADDRESS = 4000;
/** Handshakes in flight at once per client process. */
export const CONCURRENCY = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const noop = (): void => undefined;

// ---------------------------------------------------------------------------------------
// Source addresses
// ---------------------------------------------------------------------------------------

const RUN_OCTET = 2 + Math.floor(Math.random() * 250);
let nextAddress = 1;

/** A loopback source address no other fleet of this run has used. */
export function freshAddress(): string {
  const k = nextAddress++;
  if (k >= 65_535) throw new Error('out of source addresses');
  return `127.${RUN_OCTET}.${k >> 8}.${k & 255}`;
}

// ---------------------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------------------

export interface OpenResult {
  /** Connections established (rws: welcomed) by this call. */
  opened: number;
  /** Connections that did not get there within the timeout (closed again). */
  failed: number;
  /** rws: SDK attempts that failed and were retried (its `reconnecting` events). */
  retries: number;
  /** The first few errors, for the report. */
  errors: string[];
  ms: number;
}

export interface GrowResult extends OpenResult {
  /** Connections held by the fleet after the call. */
  total: number;
  /** Wall time of the whole call in the parent (all processes in parallel), ms. */
  wallMs: number;
  /** Connections established per second (opened / wall time). */
  rate: number;
}

export interface Arrivals {
  k: number;
  /** Clients of the fleet that received broadcast k. */
  received: number;
  /** Clients of the fleet. */
  clients: number;
  /** Latest arrival of k over all processes (process.hrtime.bigint()). */
  lastNs: bigint;
  /** Messages received twice by one client, over the fleet (all k so far). */
  duplicates: number;
}

export interface FleetOptions {
  /** The bench file that runs `fleetClientChild()` for `args`. */
  script: string;
  args: string[];
  system: System;
  /** The most connections it will hold: sets the number of processes. */
  max: number;
  /** The CPU its processes are pinned to. */
  cpu: number;
}

export class Fleet {
  total = 0;

  private constructor(
    readonly system: System,
    readonly peers: Peer[],
  ) {}

  static async start(o: FleetOptions): Promise<Fleet> {
    const n = Math.max(1, Math.ceil(o.max / PER_PROCESS));
    const peers = Array.from({ length: n }, (_, i) =>
      startChild(o.script, o.args, {
        cpu: o.cpu,
        execArgv: ['--max-old-space-size=4096'],
        name: `fleet ${o.system} #${i}`,
      }),
    );
    const fleet = new Fleet(o.system, peers);
    try {
      await Promise.all(peers.map((p) => p.ready));
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    return fleet;
  }

  /** Opens connections to `url` until the fleet holds `total`, spread evenly. */
  async grow(url: string, total: number, timeoutMs = 120_000): Promise<GrowResult> {
    const add = total - this.total;
    const per = this.peers.map(
      (_, i) => Math.floor(add / this.peers.length) + (i < add % this.peers.length ? 1 : 0),
    );
    const t0 = performance.now();
    const results = await Promise.all(
      this.peers.map((p, i) => {
        const n = per[i]!;
        const addresses = Array.from({ length: Math.ceil(n / PER_ADDRESS) }, freshAddress);
        return p.call<OpenResult>(
          'open',
          { system: this.system, url, n, addresses, timeoutMs },
          { timeoutMs: timeoutMs + 30_000 },
        );
      }),
    );
    const wallMs = performance.now() - t0;
    const sum = (f: (r: OpenResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    const opened = sum((r) => r.opened);
    this.total += opened;
    return {
      opened,
      failed: sum((r) => r.failed),
      retries: sum((r) => r.retries),
      errors: results.flatMap((r) => r.errors).slice(0, 5),
      ms: Math.max(...results.map((r) => r.ms)),
      total: this.total,
      wallMs,
      rate: opened / (wallMs / 1000),
    };
  }

  /** Waits until every client of the fleet has broadcast `k` (or the timeout). */
  async arrivals(k: number, timeoutMs = 60_000): Promise<Arrivals> {
    const rs = await Promise.all(
      this.peers.map((p) =>
        p.call<{ received: number; clients: number; lastNs: string; duplicates: number }>(
          'expect',
          { k, timeoutMs },
          { timeoutMs: timeoutMs + 10_000 },
        ),
      ),
    );
    let lastNs = 0n;
    for (const r of rs) if (BigInt(r.lastNs) > lastNs) lastNs = BigInt(r.lastNs);
    return {
      k,
      received: rs.reduce((a, r) => a + r.received, 0),
      clients: rs.reduce((a, r) => a + r.clients, 0),
      lastNs,
      duplicates: rs.reduce((a, r) => a + r.duplicates, 0),
    };
  }

  /** Closes every connection (graceful: rws bye, ws close, socket.io disconnect). */
  async closeAll(graceful: boolean): Promise<void> {
    await Promise.all(this.peers.map((p) => p.call('closeAll', { graceful })));
    this.total = 0;
  }

  /** Ends every client process (its connections end with it). */
  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
  }
}

// ---------------------------------------------------------------------------------------
// Client process
// ---------------------------------------------------------------------------------------

interface Conn {
  /** Graceful (rws: `client.close()`, i.e. bye; ws: close handshake; socket.io: disconnect) or at once. */
  close(graceful: boolean): void;
}

/** What every client calls on a message: the broadcast's number. */
type OnBroadcast = (k: number) => void;

/** A `ws` constructor with the browser signature that binds `localAddress`. */
function wsBoundTo(localAddress: string): WebSocketCtor {
  class BoundWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: object) {
      super(url, protocols, { ...WS_CLIENT, ...options, localAddress });
    }
  }
  return BoundWebSocket;
}

interface Opening {
  conn: Conn;
  established: Promise<void>;
  /** rws: failed attempts the SDK retried. */
  retries(): number;
}

function openRws(url: string, ctor: WebSocketCtor, on: OnBroadcast): Opening {
  const client = new ResilientClient(url, { WebSocket: ctor });
  let retries = 0;
  client.on('reconnecting', () => retries++);
  client.on('message', (m) => on((m.data as { b: number }).b));
  // The SDK reports server error frames and listener errors here; none is expected.
  client.on('error', noop);
  const established = new Promise<void>((resolve) => client.once('open', () => resolve()));
  client.connect();
  return {
    // The SDK has no abrupt close: both end the session with bye.
    conn: { close: () => void client.close().catch(noop) },
    established,
    retries: () => retries,
  };
}

function openWs(url: string, localAddress: string, on: OnBroadcast): Opening {
  const ws = new WebSocket(url, { ...WS_CLIENT, localAddress });
  const established = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', noop);
  ws.on('message', (data: Buffer) => on((JSON.parse(data.toString()) as { b: number }).b));
  return {
    conn: { close: (graceful) => (graceful ? ws.close() : ws.terminate()) },
    established,
    retries: () => 0,
  };
}

function openSio(url: string, localAddress: string, on: OnBroadcast): Opening {
  const socket: SioClientSocket = sioConnect(url, {
    ...SIO_CLIENT,
    reconnection: false,
    localAddress,
  } as Parameters<typeof sioConnect>[1]);
  const established = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('m', (d: { b: number }) => on(d.b));
  return {
    conn: { close: (graceful) => (graceful ? socket.disconnect() : socket.io.engine.close()) },
    established,
    retries: () => 0,
  };
}

/** The client process of a fleet: `open`, `expect` (broadcast arrivals), `count`. */
export function fleetClientChild(): void {
  const conns: Conn[] = [];
  /** Per client: bit k set once broadcast k arrived. */
  const seen: number[] = [];
  const received = new Map<number, number>();
  const lastNs = new Map<number, bigint>();
  let duplicates = 0;
  /** Clients that never got established (closed again; not expected to receive anything). */
  let failedTotal = 0;
  const arrived = (i: number, k: number): void => {
    const bit = 2 ** k;
    if (Math.floor((seen[i] ?? 0) / bit) % 2 === 1) {
      duplicates++;
      return;
    }
    seen[i] = (seen[i] ?? 0) + bit;
    received.set(k, (received.get(k) ?? 0) + 1);
    lastNs.set(k, process.hrtime.bigint());
  };

  const open = async (a: {
    system: System;
    url: string;
    n: number;
    addresses: string[];
    timeoutMs: number;
  }): Promise<OpenResult> => {
    const t0 = performance.now();
    const ctors = a.addresses.map(wsBoundTo);
    let next = 0;
    let opened = 0;
    let failed = 0;
    let retries = 0;
    const errors: string[] = [];
    const deadline = Date.now() + a.timeoutMs;
    const one = async (j: number): Promise<void> => {
      const g = Math.floor(j / PER_ADDRESS);
      const i = conns.length;
      // The slot is taken now so the client's index is fixed before any message arrives.
      const on: OnBroadcast = (k) => arrived(i, k);
      const o =
        a.system === 'resilient-ws'
          ? openRws(a.url, ctors[g]!, on)
          : a.system === 'ws'
            ? openWs(a.url, a.addresses[g]!, on)
            : openSio(a.url, a.addresses[g]!, on);
      conns.push(o.conn);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          o.established,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error('not established in time')),
              Math.max(0, deadline - Date.now()),
            );
          }),
        ]);
        opened++;
      } catch (e) {
        failed++;
        failedTotal++;
        if (errors.length < 5) errors.push(e instanceof Error ? e.message : String(e));
        o.conn.close(false);
      } finally {
        clearTimeout(timer);
        retries += o.retries();
      }
    };
    const worker = async (): Promise<void> => {
      while (next < a.n) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, a.n) }, worker));
    return { opened, failed, retries, errors, ms: performance.now() - t0 };
  };

  const expect = async (a: { k: number; timeoutMs: number }) => {
    const until = Date.now() + a.timeoutMs;
    const clients = conns.length - failedTotal;
    while ((received.get(a.k) ?? 0) < clients && Date.now() < until) await sleep(5);
    return {
      received: received.get(a.k) ?? 0,
      clients,
      lastNs: String(lastNs.get(a.k) ?? 0n),
      duplicates,
    };
  };

  /** Closes every client (gracefully or not) and forgets them. */
  const closeAll = (a: { graceful: boolean }): { closed: number } => {
    const all = conns.splice(0);
    for (const c of all) c.close(a.graceful);
    seen.length = 0;
    received.clear();
    lastNs.clear();
    duplicates = 0;
    failedTotal = 0;
    return { closed: all.length };
  };

  serveRpc(
    { open, expect, closeAll, count: () => ({ clients: conns.length - failedTotal }) },
    { pid: process.pid },
  );
}
