/**
 * Server and client process code for the memory benchmarks (memory per connection,
 * sustained memory): the same three systems, each run as its users would run it.
 *
 * The systems come from bench/lib/systems.ts. A resilient-ws connection counts once it has a
 * session (the client sent `hello` and got `welcome`); a Socket.IO one once the client's
 * `connect` fired.
 *
 * The bench files run as parent, server child and client child (argv switch), over
 * bench/lib/child.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Socket as SioServerSocket } from 'socket.io';
import { io as sioConnect, type Socket as SioClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import type { RwsServer } from '../../src/index.js';
import { serveRpc } from './child.js';
import { heapAfterGc } from './harness.js';
import {
  SIO_CLIENT,
  SIO_RECOVERY_MS,
  SYSTEMS,
  WS_CLIENT,
  startResilientWs,
  startSocketIo,
  startWs,
  startWsHeartbeat,
  type System,
} from './systems.js';

export { SYSTEMS, type System };

/**
 * What a server child runs: one of the systems, or a diagnostic: resilient-ws holding
 * connections that never send `hello` (the connection's cost without a session; the hello
 * timeout is raised to 60 s so that they stay open while they are counted).
 */
export type ServerKind = System | 'resilient-ws-no-hello';

export function isServerKind(s: string | undefined): s is ServerKind {
  return s === 'resilient-ws' || s === 'ws' || s === 'socket.io' || s === 'resilient-ws-no-hello';
}

/** The push payload, ~100 B of JSON (the end-to-end benchmarks' small message). */
export const PAYLOAD = { type: 'progress', step: 0, of: 100, note: 'x'.repeat(60) };

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const noop = (): void => undefined;

// ---------------------------------------------------------------------------------------
// Memory readings
// ---------------------------------------------------------------------------------------

export interface MemoryReading {
  /** heapUsed after two full GCs. */
  heap: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** How long the GCs took (ms). */
  gcMs: number;
}

export function readMemoryAfterGc(): MemoryReading {
  const t0 = performance.now();
  const heap = heapAfterGc();
  const gcMs = performance.now() - t0;
  const m = process.memoryUsage();
  return { heap, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, gcMs };
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/** What the parent can ask of a server process. */
export interface ServerCounts {
  /** Connections that completed the system's handshake (rws: sessions attached). */
  established: number;
  /** Raw connections the server holds (rws: before hello too). */
  connections: number;
  /** System-specific figures (rws: store stats; socket.io: recovery sessions, packets). */
  extra: Record<string, number>;
}

interface PeerServer {
  url: string;
  counts(): Promise<ServerCounts>;
  /** The sustained-push producer's target: sends `n` messages, numbered from `from`. */
  push?: (from: number, n: number) => Promise<number>;
  /** Highest count the client has acknowledged (cumulative). */
  acked(): number;
  /** Resolves at the next ack. */
  nextAck(): Promise<void>;
  /**
   * One broadcast of `data` to every client, the system's own way (rws `server.broadcast`,
   * raw ws a loop over `wss.clients`, Socket.IO `io.emit`); `t0` is process.hrtime.bigint()
   * just before the call (CLOCK_MONOTONIC, comparable across processes), `reached` what the
   * system says it reached (rws: sessions given a seq; others: clients at the call).
   */
  broadcast(data: unknown): Promise<{ t0: bigint; reached: number }>;
  /** Figures sampled alongside memory during a sustained push. */
  sampleExtra(): Record<string, number>;
}

class AckWaiter {
  acked = 0;
  private waiters: (() => void)[] = [];
  set(n: number): void {
    if (n <= this.acked) return;
    this.acked = n;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  next(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
}

/** What a server child may be asked to change from its system's defaults. */
export interface PeerServerOptions {
  /**
   * Every system's heartbeat at this interval (ms): rws `heartbeatInterval`, raw ws the
   * README's protocol-ping loop (`startWsHeartbeat`; without it raw ws pings nobody),
   * Socket.IO `pingInterval`. Default: each system's own (rws 25 s, raw ws none, Socket.IO 25 s).
   */
  heartbeatMs?: number;
  /**
   * rws `maxConnections` (default 10 000, an admission limit a deployment raises to hold
   * more): the fleet benchmarks hold 15 000. Raw ws and Socket.IO have no such limit.
   */
  maxConnections?: number;
}

async function rwsServer(noHello = false, o: PeerServerOptions = {}): Promise<PeerServer> {
  const { server, url } = await startResilientWs({
    ...(noHello ? { helloTimeout: 60_000 } : {}),
    ...(o.heartbeatMs === undefined ? {} : { heartbeatInterval: o.heartbeatMs }),
    ...(o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections }),
  });
  const acks = new AckWaiter();
  let target = '';
  let drops = 0;
  server.on('ack', (e) => {
    if (e.sid === target) acks.set(e.seq);
  });
  server.on('drop', (e) => {
    drops += e.count;
  });
  const refused = { overflow: 0, other: 0 };
  return {
    url,
    async counts() {
      const st = await server.store.stats();
      return {
        established: noHello ? server.connectionCount : server.attachedCount,
        connections: server.connectionCount,
        extra: {
          storeSessions: st.sessions,
          storeMessages: st.messages,
          storeBytes: st.bytes,
          outboxMax: server.config.outboxMax,
          outboxMaxBytes: server.config.outboxMaxBytes,
        },
      };
    },
    // The target session is the only one attached (the sink's).
    async push(from, n) {
      if (target === '') {
        const first = server.attachedSessionIds()[0];
        if (first === undefined) throw new Error('no session attached');
        target = first;
      }
      const batch = new Array<Promise<unknown>>(n);
      for (let i = 0; i < n; i++) batch[i] = server.send(target, { ...PAYLOAD, step: from + i });
      const results = (await Promise.all(batch)) as Awaited<ReturnType<RwsServer['send']>>[];
      let stored = 0;
      for (const r of results) {
        if ('seq' in r) stored++;
        else if ('dropped' in r) refused.overflow++;
        else refused.other++;
      }
      return stored;
    },
    acked: () => acks.acked,
    nextAck: () => acks.next(),
    async broadcast(data) {
      const t0 = process.hrtime.bigint();
      const reached = await server.broadcast(data);
      return { t0, reached };
    },
    sampleExtra() {
      // Read inside a 1 s timer: the default (memory) dead-letter store answers at once.
      const dlq = server.dlq.stats();
      if (dlq instanceof Promise) throw new Error('expected the memory dead-letter store');
      return {
        storedSent: server.sentTotals.messages,
        droppedEvents: drops,
        dlqSize: dlq.size,
        dlqEvicted: dlq.evicted,
        refusedOverflow: refused.overflow,
        refusedOther: refused.other,
        attached: server.attachedCount,
      };
    },
  };
}

async function wsServer(o: PeerServerOptions = {}): Promise<PeerServer> {
  const { wss, url } = await startWs();
  if (o.heartbeatMs !== undefined) startWsHeartbeat(wss, o.heartbeatMs);
  const acks = new AckWaiter();
  let target: WebSocket | undefined;
  wss.on('connection', (ws) => {
    ws.on('error', noop);
    ws.on('message', (data: Buffer) => {
      // The sink's cumulative ack: {"ack":N}
      const text = data.toString();
      if (text.startsWith('{"ack":')) acks.set(parseInt(text.slice(7), 10));
    });
  });
  return {
    url,
    counts: () =>
      Promise.resolve({
        established: wss.clients.size,
        connections: wss.clients.size,
        extra: {},
      }),
    push(from, n) {
      target ??= wss.clients.values().next().value;
      if (target === undefined) throw new Error('no client connected');
      for (let i = 0; i < n; i++) target.send(JSON.stringify({ ...PAYLOAD, step: from + i }));
      return Promise.resolve(n);
    },
    acked: () => acks.acked,
    nextAck: () => acks.next(),
    broadcast(data) {
      const t0 = process.hrtime.bigint();
      const text = JSON.stringify(data);
      let reached = 0;
      for (const c of wss.clients) {
        c.send(text);
        reached++;
      }
      return Promise.resolve({ t0, reached });
    },
    sampleExtra: () => ({ bufferedAmount: target?.bufferedAmount ?? 0 }),
  };
}

async function sioServer(o: PeerServerOptions = {}): Promise<PeerServer> {
  const { io, url, storedPackets, recoverySessions } = await startSocketIo(
    SIO_RECOVERY_MS,
    o.heartbeatMs,
  );
  const acks = new AckWaiter();
  let target: SioServerSocket | undefined;
  io.on('connection', (socket) => {
    socket.on('ack', (n: number) => acks.set(n));
  });
  return {
    url,
    counts: () =>
      Promise.resolve({
        established: io.of('/').sockets.size,
        connections: io.engine.clientsCount,
        extra: {
          recoverySessions: recoverySessions(),
          storedPackets: storedPackets(),
        },
      }),
    push(from, n) {
      target ??= io.of('/').sockets.values().next().value;
      if (target === undefined) throw new Error('no client connected');
      for (let i = 0; i < n; i++) target.emit('m', { ...PAYLOAD, step: from + i });
      return Promise.resolve(n);
    },
    acked: () => acks.acked,
    nextAck: () => acks.next(),
    broadcast(data) {
      const t0 = process.hrtime.bigint();
      const reached = io.of('/').sockets.size;
      io.emit('m', data);
      return Promise.resolve({ t0, reached });
    },
    sampleExtra: () => ({ storedPackets: storedPackets() }),
  };
}

export function startPeerServer(
  kind: ServerKind,
  options: PeerServerOptions = {},
): Promise<PeerServer> {
  switch (kind) {
    case 'resilient-ws':
      return rwsServer(false, options);
    case 'resilient-ws-no-hello':
      return rwsServer(true, options);
    case 'ws':
      return wsServer(options);
    case 'socket.io':
      return sioServer(options);
  }
}

export interface SustainedSample {
  /** Seconds since the push started. */
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** heapUsed after a full GC, at the GC points only. */
  heapGc?: number;
  gcMs?: number;
  sent: number;
  acked: number;
  extra: Record<string, number>;
}

export interface PushOptions {
  durationMs: number;
  /** Most messages sent and not yet acknowledged (the producer's credit window). */
  window: number;
  /** Most messages sent per event-loop turn. */
  batch: number;
  /** Seconds (since start) at which a sample also forces a full GC. */
  gcAt: number[];
}

export interface PushResult {
  samples: SustainedSample[];
  sent: number;
  acked: number;
  /** Times the producer waited for an ack (its window was full). */
  creditWaits: number;
  /** The final reading, after the push stopped and the last acks arrived (GC'd). */
  end: MemoryReading & { extra: Record<string, number> };
  ms: number;
}

/**
 * Pushes as fast as the system takes it for `durationMs`, keeping at most `window` messages
 * unacknowledged (a producer that respects backpressure), sampling memory every second.
 */
async function sustainedPush(srv: PeerServer, o: PushOptions): Promise<PushResult> {
  const push = srv.push;
  if (push === undefined) throw new Error('this server cannot push');
  const samples: SustainedSample[] = [];
  let sent = 0;
  let creditWaits = 0;
  const t0 = performance.now();
  const gcAt = new Set(o.gcAt);
  let second = 0;
  const sample = (): void => {
    second++;
    const t = (performance.now() - t0) / 1000;
    let heapGc: number | undefined;
    let gcMs: number | undefined;
    if (gcAt.has(second)) {
      const r = readMemoryAfterGc();
      heapGc = r.heap;
      gcMs = r.gcMs;
    }
    const m = process.memoryUsage();
    samples.push({
      t,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      ...(heapGc === undefined ? {} : { heapGc, gcMs: gcMs! }),
      sent,
      acked: srv.acked(),
      extra: srv.sampleExtra(),
    });
  };
  const timer = setInterval(sample, 1000);
  const end = t0 + o.durationMs;
  try {
    while (performance.now() < end) {
      const credit = o.window - (sent - srv.acked());
      if (credit <= 0) {
        creditWaits++;
        // Bounded wait: a stalled client must not hang the benchmark.
        await Promise.race([srv.nextAck(), sleep(1000)]);
        continue;
      }
      const n = Math.min(credit, o.batch);
      const stored = await push(sent + 1, n);
      sent += stored;
      if (stored < n) await sleep(1); // refused sends: do not spin
      await tick(); // the flush and the client's acks run here
    }
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  // A busy event loop can delay the last whole second's timer past the end: take it now.
  while (second < Math.floor(o.durationMs / 1000)) sample();
  // The last acks (bounded wait), then one GC'd reading.
  const until = performance.now() + 2000;
  while (srv.acked() < sent && performance.now() < until) await sleep(5);
  const r = readMemoryAfterGc();
  return {
    samples,
    sent,
    acked: srv.acked(),
    creditWaits,
    end: { ...r, extra: srv.sampleExtra() },
    ms,
  };
}

/** Server CPU and event-loop delay over a window in which the parent sends nothing. */
export interface IdleWindow {
  wallMs: number;
  /** User + system CPU of the server process over the window, µs. */
  cpuUs: number;
  /** Event-loop delay (perf_hooks monitorEventLoopDelay, 10 ms resolution), ms. */
  eldP50Ms: number;
  eldP99Ms: number;
  eldMaxMs: number;
  counts: ServerCounts;
}

async function idleWindow(srv: PeerServer, ms: number): Promise<IdleWindow> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  h.disable();
  return {
    wallMs,
    cpuUs: cpu.user + cpu.system,
    eldP50Ms: h.percentile(50) / 1e6,
    eldP99Ms: h.percentile(99) / 1e6,
    eldMaxMs: h.max / 1e6,
    counts: await srv.counts(),
  };
}

/**
 * Server child: one system's server, answering `counts`, `measure` (memory after GC), `push`
 * (sustained memory), `idle` (CPU and event-loop delay over a window) and `broadcast`.
 */
export async function serverChild(
  kind: ServerKind,
  options: PeerServerOptions = {},
): Promise<void> {
  const srv = await startPeerServer(kind, options);
  serveRpc(
    {
      counts: () => srv.counts(),
      measure: async () => ({ ...readMemoryAfterGc(), counts: await srv.counts() }),
      idle: (a: { ms: number }) => idleWindow(srv, a.ms),
      broadcast: async (a: { data: unknown }) => {
        const r = await srv.broadcast(a.data);
        // Written: rws flushes a turn's frames in a setImmediate queued during the call, so
        // one queued now runs right after it (the same check phase, before any more I/O);
        // raw ws and Socket.IO have written by then too.
        await tick();
        return { t0: String(r.t0), written: String(process.hrtime.bigint()), reached: r.reached };
      },
      push: async (o: PushOptions) => {
        const r = await sustainedPush(srv, o);
        return { ...r, counts: await srv.counts() };
      },
    },
    { url: srv.url, pid: process.pid },
  );
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

interface IdleConnection {
  /** Ends the connection: graceful (rws: bye; socket.io: disconnect; ws: close) or at once. */
  close(graceful: boolean): void;
  closed: Promise<void>;
}

/** One resilient-ws connection with a session: hello sent, welcome received. Answers pings. */
function rwsIdle(url: string): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'rws.v1', WS_CLIENT);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    let welcomed = false;
    ws.on('error', (e) => {
      if (!welcomed) reject(e);
    });
    ws.on('close', (code) => {
      if (!welcomed) reject(new Error(`closed ${code} before welcome`));
    });
    ws.on('open', () => ws.send('{"t":"hello","v":1}'));
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (!welcomed && text.startsWith('{"t":"welcome"')) {
        welcomed = true;
        resolve({
          closed,
          close: (graceful) => (graceful ? ws.send('{"t":"bye"}') : ws.terminate()),
        });
      }
      if (text.includes('{"t":"ping"}')) ws.send('{"t":"pong"}');
    });
  });
}

function wsIdle(url: string): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, WS_CLIENT);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.once('error', reject);
    ws.once('open', () => {
      ws.on('error', noop);
      resolve({ closed, close: (graceful) => (graceful ? ws.close() : ws.terminate()) });
    });
  });
}

function sioIdle(url: string): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const socket: SioClientSocket = sioConnect(url, { ...SIO_CLIENT, reconnection: false });
    const closed = new Promise<void>((r) => socket.once('disconnect', () => r()));
    socket.once('connect_error', reject);
    socket.once('connect', () =>
      resolve({
        closed,
        close: (graceful) => {
          if (graceful) socket.disconnect();
          else socket.io.engine.close();
        },
      }),
    );
  });
}

const IDLE: Record<System, (url: string) => Promise<IdleConnection>> = {
  'resilient-ws': rwsIdle,
  ws: wsIdle,
  'socket.io': sioIdle,
};

/** Opens `n` connections, at most `concurrency` handshakes at a time. */
async function openMany(
  system: System,
  url: string,
  n: number,
  concurrency: number,
  into: IdleConnection[],
): Promise<{ opened: number; ms: number }> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      into.push(await IDLE[system](url));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { opened: n, ms: performance.now() - t0 };
}

/** Client child for the idle-connection benchmark: opens and closes many connections. */
export function idleClientChild(): void {
  let open: IdleConnection[] = [];
  serveRpc(
    {
      open: (a: { system: System; url: string; n: number; concurrency: number }) =>
        openMany(a.system, a.url, a.n, a.concurrency, open),
      close: async (a: { graceful: boolean }) => {
        const all = open;
        open = [];
        const t0 = performance.now();
        for (const c of all) c.close(a.graceful);
        await Promise.race([Promise.all(all.map((c) => c.closed)), sleep(10000)]);
        return { closed: all.length, ms: performance.now() - t0 };
      },
    },
    { pid: process.pid },
  );
}

/** What the sink saw: every message counted and its number checked against the previous. */
export interface SinkStats {
  received: number;
  last: number;
  /** A number other than last + 1 (a gap, a duplicate or a reordering). */
  outOfOrder: number;
  acksSent: number;
  wsMessages: number;
  closed: number | undefined;
}

/**
 * The sustained-push client: one connection, counts and checks every message, and acks
 * cumulatively once per event-loop turn (after each socket read, as the SDK's ack batcher
 * does for a burst), so it keeps up as long as its CPU does.
 */
export function sinkChild(): void {
  const s: SinkStats = {
    received: 0,
    last: 0,
    outOfOrder: 0,
    acksSent: 0,
    wsMessages: 0,
    closed: undefined,
  };
  let ackArmed = false;
  let sendAck: (n: number) => void = noop;
  const seen = (n: number): void => {
    s.received++;
    if (n !== s.last + 1) s.outOfOrder++;
    s.last = n;
    if (!ackArmed) {
      ackArmed = true;
      setImmediate(() => {
        ackArmed = false;
        s.acksSent++;
        sendAck(s.last);
      });
    }
  };
  const connect = (a: { system: System; url: string }): Promise<{ ok: true }> =>
    new Promise((resolve, reject) => {
      if (a.system === 'socket.io') {
        const socket = sioConnect(a.url, { ...SIO_CLIENT, reconnection: false });
        socket.once('connect_error', reject);
        socket.once('connect', () => resolve({ ok: true }));
        socket.on('disconnect', () => (s.closed = -1));
        socket.on('m', (p: { step: number }) => {
          s.wsMessages++;
          seen(p.step);
        });
        sendAck = (n) => socket.emit('ack', n);
        return;
      }
      const rws = a.system === 'resilient-ws';
      const ws = rws ? new WebSocket(a.url, 'rws.v1', WS_CLIENT) : new WebSocket(a.url, WS_CLIENT);
      ws.once('error', reject);
      ws.on('close', (code) => (s.closed = code));
      sendAck = rws ? (n) => ws.send(`{"t":"ack","seq":${n}}`) : (n) => ws.send(`{"ack":${n}}`);
      if (!rws) ws.once('open', () => resolve({ ok: true }));
      else ws.once('open', () => ws.send('{"t":"hello","v":1}'));
      ws.on('message', (data: Buffer) => {
        s.wsMessages++;
        const text = data.toString();
        if (!rws) {
          seen((JSON.parse(text) as { step: number }).step);
          return;
        }
        for (const line of text.split('\n')) {
          if (line.startsWith('{"t":"msg","seq":')) seen(parseInt(line.slice(17), 10));
          else if (line.startsWith('{"t":"welcome"')) resolve({ ok: true });
          else if (line === '{"t":"ping"}') ws.send('{"t":"pong"}');
        }
      });
    });
  serveRpc({ connect, stats: () => ({ ...s }) }, { pid: process.pid });
}
