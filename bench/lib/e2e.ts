/**
 * Process code shared by the end-to-end benchmarks (bench/e2e-push.bench.ts and
 * bench/latency.bench.ts): a server process and a client process per system, driven by the
 * parent over bench/lib/child.ts.
 *
 * The three systems come from bench/lib/systems.ts (built as their users run them). How each
 * application sends: resilient-ws `server.send(sid, data)`, its client speaking protocol v1
 * over `ws` (hello, then cumulative acks with the SDK's own ack policy: `AckBatcher` from
 * client/ack-batcher.ts, at the 64th unacked message or after 25 ms); ws one
 * `ws.send(JSON.stringify(msg))` per message; Socket.IO one `socket.emit('m', msg)`.
 *
 * Processes: each system's server and client run in their own processes, servers pinned to
 * CPU 0 and clients to CPU 1 with `taskset` where it exists; only one system works at a time.
 *
 * Flow control, the same for all three: a credit window of `WINDOW` messages per connection.
 * The client acknowledges what it processed (resilient-ws: protocol `ack` frames; ws and
 * Socket.IO: a small application ack carrying the count), with the same policy everywhere
 * (the SDK's `AckBatcher`), and the server keeps sent − acked ≤ `WINDOW`. Raw `ws` also stops
 * while `bufferedAmount` is above `WS_HIGH_WATER_MARK` (resilient-ws has the same mark
 * inside; Socket.IO offers none to its users). Clients decode every message (`JSON.parse`;
 * Socket.IO's parser does it itself) and check that message i of a round is the i-th
 * received on its connection; a round ends only when every message reached its client.
 *
 * Push mode writes as fast as the window allows, `SLICE` messages per connection per turn
 * (`stream`) or all at once (`burst`); latency mode (`pace`) sends one message per connection
 * per tick on a fixed schedule.
 *
 * Run as a child: `node e2e.js server|client <system>`; it talks to its parent over IPC.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AckBatcher } from '../../client/ack-batcher.js';
import { serveRpc, startChild, type Peer } from './child.js';
import type { ServerOptions } from '../../src/index.js';
import {
  SIO_CLIENT,
  SYSTEMS,
  WS_CLIENT,
  startResilientWs,
  startSocketIo,
  startSocketIoRedis,
  startWs,
  type System,
} from './systems.js';

export { SYSTEMS, type System };

/**
 * The systems on Redis (bench/redis-push.bench.ts): resilient-ws with `store: <redis url>`,
 * and Socket.IO with connection-state recovery on `@socket.io/redis-streams-adapter`. Their
 * processes get the Redis URL and a key prefix of their own as arguments.
 */
export const REDIS_SYSTEMS = ['resilient-ws-redis', 'socket.io-redis'] as const;

/**
 * The end-to-end benchmarks' systems (bench/e2e-push.bench.ts, bench/latency.bench.ts): the
 * three of bench/lib/systems.ts, plus two that answer "what does reliability cost":
 *
 * - `ws-batched`: raw `ws` with resilient-ws's batching and nothing else: the frames an
 *   application hands over in one event-loop turn leave as newline-joined WebSocket messages
 *   of at most BATCH_FRAMES frames (the server's `maxBatchFrames`), flushed in the check
 *   phase like resilient-ws's FlushScheduler; no seq, no outbox, no session. Its client
 *   splits the lines and decodes each. The floor for the cost of reliability.
 * - `resilient-ws-lite`: the resilient-ws server with a hand-written protocol v1 client (split
 *   lines, decode, check seq, ack with the SDK's AckBatcher) instead of the SDK: what the
 *   SDK's own work costs at the client.
 *
 * `resilient-ws` itself runs the real SDK (`ResilientClient`, counted at its `message`
 * callback), as an application would.
 */
export const E2E_SYSTEMS = [
  'resilient-ws',
  'ws',
  'ws-batched',
  'socket.io',
  'resilient-ws-lite',
] as const;
export type E2eBaseSystem = (typeof E2E_SYSTEMS)[number];
export type E2eSystem = E2eBaseSystem | (typeof REDIS_SYSTEMS)[number];
const ALL_SYSTEMS: readonly string[] = [...E2E_SYSTEMS, ...REDIS_SYSTEMS];
/** ws-batched: most frames per WebSocket message (resilient-ws's `maxBatchFrames`). */
export const BATCH_FRAMES = 64;

/**
 * Socket.IO on the Redis streams adapter: most emits awaiting their XADD reply in the whole
 * process, served first come first served. node-redis queues without limit: without this cap
 * 100 pumps queued >100k XADDs and delivery fell to ~400 msg/s (measured when the
 * Socket.IO-on-Redis baseline was set up); 256 was in its best range measured, so the cap
 * favours the peer. bench/results/redis-push.md ("method") states the cap.
 */
export const SIO_REDIS_INFLIGHT = 256;

/**
 * How the application produces in push mode. `stream`: at most SLICE messages per connection
 * per event-loop turn (a source fed by I/O), within the window. `single`: one message per
 * connection per turn (an application that sends as events happen: nothing to batch within a
 * connection). `burst`: everything the window allows in one synchronous loop (a fan-out of a
 * backlog).
 */
export type Producer = 'stream' | 'single' | 'burst';

/** Stream producer: most messages written to one connection per event-loop turn. */
export const SLICE = 64;

/** Messages per connection per turn of each producer. */
export const PRODUCER_SLICE: Record<Producer, number> = {
  stream: SLICE,
  single: 1,
  burst: Number.POSITIVE_INFINITY,
};

/** Most unacknowledged messages per connection, for every system. */
export const WINDOW = 1000;
/** Raw `ws`: stop writing above this `bufferedAmount` (resilient-ws's default mark). */
export const WS_HIGH_WATER_MARK = 1024 * 1024;
/** The SDK's ack policy (client/options.ts defaults), used by every client. */
export const ACK_DELAY_MS = 25;
export const ACK_MAX_UNACKED = 64;
/** resilient-ws outbox bounds: its defaults; WINDOW messages of ≤ 1 KB fit in them. */
export const RWS_OUTBOX_MAX = 1000;
export const RWS_OUTBOX_MAX_BYTES = 1024 * 1024;

/** Timestamps travel as TS_OFFSET + ns since a common base: always 16 digits, so the
 *  payload size does not depend on the mode or the time. */
const TS_OFFSET = 1e15;

/** The application message every system sends. */
export interface Payload {
  /** 1-based index within the round, per connection. */
  i: number;
  /** TS_OFFSET + send time (ns after the run's base, CLOCK_MONOTONIC); filler in push mode. */
  ts: number;
  p: string;
}

/** Padding so that JSON.stringify(payload) is at most `bytes` (exactly, at 6-digit i). */
export function padding(bytes: number): string {
  const base = JSON.stringify({ i: 999_999, ts: TS_OFFSET, p: '' }).length;
  if (bytes < base) throw new Error(`payload of ${bytes} B is too small`);
  return 'x'.repeat(bytes - base);
}

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------
// Results

export interface PushResult {
  /** hrtime (ns, as a string) when the server started the round. */
  t0: string;
  /** hrtime when the application handed the last message of the round to the library. */
  tLastSend: string;
  /** Server process CPU (user + system) from the start until every message was acked, µs. */
  cpuUs: number;
  sent: number;
  problems: string[];
  /** Socket.IO: packets its recovery log stored during the round. */
  stored?: number;
  heapUsed: number;
}

export interface PaceResult {
  sent: number;
  /** Achieved offered rate, msg/s, over the round's ticks. */
  rate: number;
  /** How late the ticks fired, ms (p99, max): the server's own event-loop delay. */
  lagP99: number;
  lagMax: number;
  /** Server time from a tick to the check phase after it (every message of the tick handed
   *  to the socket, resilient-ws's flush included), ms: p50, p99 over the round's ticks. */
  workP50: number;
  workP99: number;
  /** Sends skipped because the window or the high-water mark was reached. */
  stalled: number;
  cpuUs: number;
  problems: string[];
  stored?: number;
}

export interface ClientResult {
  received: number;
  expected: number;
  /** hrtime (ns, as a string) when the last message of the round arrived. */
  tLast: string;
  /** Client process CPU from arm to the last message, µs. */
  cpuUs: number;
  /** One-way latencies, µs (latency mode). */
  samples?: number[];
  problems: string[];
}

/**
 * Starts `node e2e.js <role> <system>`: servers pinned to CPU 0, clients to CPU 1 (with
 * taskset; otherwise unpinned). A large old space: Socket.IO's recovery log keeps every
 * packet for its maxDisconnectionDuration.
 */
export function startProcess(
  role: 'server' | 'client',
  system: E2eSystem,
  extraArgs: readonly string[] = [],
): Peer<{ url?: string }> {
  // BENCH_E2E_CPU_PROF=<system>[:<role>] profiles that process (--cpu-prof into
  // BENCH_E2E_CPU_PROF_DIR, default <tmpdir>/rws-e2e-profiles) to see where its time goes.
  const [profSystem, profRole = 'server'] = (process.env.BENCH_E2E_CPU_PROF ?? '').split(':');
  const prof =
    profSystem === system && profRole === role
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${process.env.BENCH_E2E_CPU_PROF_DIR ?? join(tmpdir(), 'rws-e2e-profiles')}`,
        ]
      : [];
  return startChild(SELF, [role, system, ...extraArgs], {
    cpu: role === 'server' ? 0 : 1,
    // BENCH_E2E_NODE_ARGS: extra node flags for every process (experiments, e.g. GC sizes).
    execArgv: [
      '--max-old-space-size=8192',
      ...prof,
      ...(process.env.BENCH_E2E_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    name: `${system} ${role}`,
  });
}

/** One system's server and client processes, connected with `conns` connections. */
export interface Pair<S extends E2eSystem = System> {
  system: S;
  server: Peer<{ url?: string }>;
  client: Peer<{ url?: string }>;
}

/**
 * `systems` defaults to the three of e2e-push; `serverArgs` gives a server process its extra
 * arguments (the Redis systems: URL and key prefix).
 */
export async function startPairs<S extends E2eSystem = System>(
  conns: number,
  systems: readonly S[] = SYSTEMS as unknown as readonly S[],
  serverArgs: (system: S) => string[] = () => [],
): Promise<Pair<S>[]> {
  const pairs = systems.map((system) => ({
    system,
    server: startProcess('server', system, serverArgs(system)),
    client: startProcess('client', system),
  }));
  try {
    await Promise.all(
      pairs.map(async (p) => {
        const { url } = await p.server.ready;
        await p.client.ready;
        await p.client.call('connect', { url: url!, n: conns }, { timeoutMs: 30_000 });
        await p.server.call('links', { n: conns }, { timeoutMs: 30_000 });
      }),
    );
  } catch (error) {
    await stopPairs(pairs);
    throw error;
  }
  return pairs;
}

export async function stopPairs(pairs: readonly Pair<E2eSystem>[]): Promise<void> {
  await Promise.all(pairs.flatMap((p) => [p.client.stop(), p.server.stop()]));
}

// ---------------------------------------------------------------------------------------
// Server process

/** One client connection as the server application sees it. */
class Link {
  sent = 0;
  acked = 0;
  target = 0;
  /** ws: a send is waiting for the socket to drain below the high-water mark. */
  waiting = false;
  /** In the queue for the process-wide in-flight cap (Socket.IO on Redis). */
  queued = false;
  /** resilient-ws: the session's seq before this round (acks are seqs). */
  seqBase = 0;
  constructor(public write: (msg: Payload) => void) {}
}

interface ServerState {
  links: Link[];
  mode: 'idle' | 'push' | 'pace';
  /** Push mode: messages per connection per turn (Infinity: the whole window at once). */
  slice: number;
  pad: string;
  problems: string[];
  /** Links not yet fully acked this round, and what to call when none is left. */
  open: number;
  /** Links that have not been handed all their messages yet (push mode). */
  unsent: number;
  tLastSend: bigint;
  onDone: (() => void) | undefined;
  /** Socket.IO: its recovery log (SessionAwareAdapter.packets). */
  storedPackets: (() => number) | undefined;
  /** resilient-ws: the promise of the last server.send (they resolve in call order). */
  lastSend: Promise<unknown> | undefined;
  /** Socket.IO on Redis: emits awaiting their XADD reply, at most `cap` (others: Infinity). */
  inflight: number;
  cap: number;
  /** Links stopped by the cap, first come first served. */
  capQueue: Link[];
}

const S: ServerState = {
  links: [],
  mode: 'idle',
  slice: SLICE,
  pad: '',
  problems: [],
  open: 0,
  unsent: 0,
  tLastSend: 0n,
  onDone: undefined,
  storedPackets: undefined,
  lastSend: undefined,
  inflight: 0,
  cap: Number.POSITIVE_INFINITY,
  capQueue: [],
};

function problem(list: string[], text: string): void {
  if (list.length < 20) list.push(text);
}

let fillScheduled = false;

/**
 * Push mode: write while the round has messages left and the window has room, at most SLICE
 * in this turn; returns whether it stopped at the slice (there is more to write now).
 */
function pump(l: Link): boolean {
  const pad = S.pad;
  const slice = S.slice;
  let n = 0;
  while (l.sent < l.target && l.sent - l.acked < WINDOW && !l.waiting) {
    if (S.inflight >= S.cap) {
      if (!l.queued) {
        l.queued = true;
        S.capQueue.push(l);
      }
      return false;
    }
    if (n++ === slice) {
      scheduleFill();
      return true;
    }
    const i = ++l.sent;
    l.write({ i, ts: TS_OFFSET + i, p: pad });
    if (i === l.target && --S.unsent === 0) lastWritten();
  }
  return false;
}

/** The application handed its last message of the round to the library. */
function lastWritten(): void {
  S.tLastSend = process.hrtime.bigint();
}

let releaseScheduled = false;

/** Socket.IO on Redis: an emit's XADD came back (its packet reached the socket's buffer). */
function inflightDone(): void {
  if (S.inflight > 0) S.inflight--;
  if (S.capQueue.length > 0 && !releaseScheduled) {
    releaseScheduled = true;
    setImmediate(releaseCap);
  }
}

/** The links the cap stopped write again, in the order they were stopped. */
function releaseCap(): void {
  releaseScheduled = false;
  while (S.capQueue.length > 0 && S.inflight < S.cap) {
    const l = S.capQueue.shift()!;
    l.queued = false;
    if (S.mode === 'push') pump(l);
  }
}

function scheduleFill(): void {
  if (fillScheduled) return;
  fillScheduled = true;
  setImmediate(fill);
}

/** The next turn's slice for every connection that still has credit and messages. */
function fill(): void {
  fillScheduled = false;
  if (S.mode !== 'push') return;
  for (const l of S.links) pump(l);
}

function onAck(l: Link, count: number): void {
  if (count <= l.acked) return;
  if (count > l.sent) problem(S.problems, `ack ${count} above sent ${l.sent}`);
  l.acked = count;
  if (S.mode === 'push') pump(l);
  if (l.acked >= l.target && S.mode !== 'idle' && --S.open === 0) S.onDone?.();
}

function onDrained(l: Link): void {
  l.waiting = false;
  if (S.mode === 'push') pump(l);
}

function addLink(write: (msg: Payload) => void): Link {
  const l = new Link(write);
  S.links.push(l);
  return l;
}

function removeLink(l: Link, why: string): void {
  const i = S.links.indexOf(l);
  if (i >= 0) S.links.splice(i, 1);
  if (S.mode !== 'idle') problem(S.problems, `a connection closed during a round: ${why}`);
}

async function listenResilientWs(overrides: ServerOptions = {}): Promise<string> {
  const { server, url } = await startResilientWs({
    outboxMax: RWS_OUTBOX_MAX,
    outboxMaxBytes: RWS_OUTBOX_MAX_BYTES,
    ...overrides,
  });
  const bySid = new Map<string, Link>();
  const failed = (e: unknown) => problem(S.problems, `send failed: ${String(e)}`);
  server.on('session', ({ sid }) => {
    const l = addLink((msg) => {
      S.lastSend = server.send(sid, msg).catch(failed);
    });
    bySid.set(sid, l);
  });
  server.on('ack', ({ sid, seq }) => {
    const l = bySid.get(sid);
    if (l !== undefined) onAck(l, seq - l.seqBase);
  });
  server.on('disconnect', ({ sid, code }) => {
    const l = sid === undefined ? undefined : bySid.get(sid);
    if (l !== undefined) removeLink(l, `close ${code}`);
  });
  // A message dropped by the outbox would be lost to the client: the round must fail.
  server.on('drop', ({ reason, count }) =>
    problem(S.problems, `resilient-ws dropped ${count} message(s): ${reason}`),
  );
  // Acks are seqs: remember each session's seq at the start of a round.
  beforeRound = () => {
    for (const l of S.links) l.seqBase += l.sent;
  };
  return url;
}

async function listenWs(): Promise<string> {
  const { wss, url } = await startWs();
  wss.on('connection', (ws) => {
    const l: Link = addLink((msg) => {
      const text = JSON.stringify(msg);
      if (ws.bufferedAmount > WS_HIGH_WATER_MARK) {
        // Above the mark: this send carries the callback that resumes the writer.
        l.waiting = true;
        ws.send(text, () => onDrained(l));
      } else ws.send(text);
    });
    ws.on('message', (data: Buffer) => onAck(l, (JSON.parse(data.toString()) as { a: number }).a));
    ws.on('close', (code) => removeLink(l, `close ${code}`));
  });
  return url;
}

/**
 * Raw ws with resilient-ws's batching and nothing else (see E2E_SYSTEMS): a connection's
 * frames of one turn are joined by newlines, at most BATCH_FRAMES per WebSocket message, and
 * sent in the check phase (setImmediate, once for every connection with frames, as
 * resilient-ws's FlushScheduler does).
 */
async function listenWsBatched(): Promise<string> {
  const { wss, url } = await startWs();
  const dirty: (() => void)[] = [];
  let scheduled = false;
  const flushAll = () => {
    scheduled = false;
    const items = dirty.splice(0);
    for (const f of items) f();
  };
  wss.on('connection', (ws) => {
    let pending: string[] = [];
    let marked = false;
    const flush = () => {
      marked = false;
      const frames = pending;
      pending = [];
      for (let i = 0; i < frames.length; i += BATCH_FRAMES) {
        const text =
          frames.length - i === 1 ? frames[i]! : frames.slice(i, i + BATCH_FRAMES).join('\n');
        if (ws.bufferedAmount > WS_HIGH_WATER_MARK) {
          l.waiting = true;
          ws.send(text, () => onDrained(l));
        } else ws.send(text);
      }
    };
    const l: Link = addLink((msg) => {
      pending.push(JSON.stringify(msg));
      if (!marked) {
        marked = true;
        dirty.push(flush);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flushAll);
        }
      }
    });
    ws.on('message', (data: Buffer) => onAck(l, (JSON.parse(data.toString()) as { a: number }).a));
    ws.on('close', (code) => removeLink(l, `close ${code}`));
  });
  return url;
}

async function listenSocketIo(): Promise<string> {
  const { io, url, storedPackets } = await startSocketIo();
  // With recovery on, socket.emit goes through adapter.broadcast, which appends an offset to
  // the packet and keeps it in its log: every round checks the log grew by what was sent.
  S.storedPackets = storedPackets;
  io.on('connection', (socket) => {
    const l = addLink((msg) => {
      socket.emit('m', msg);
    });
    socket.on('a', (n: number) => onAck(l, n));
    socket.on('disconnect', (reason) => removeLink(l, reason));
  });
  return url;
}

/**
 * Socket.IO with recovery on the Redis streams adapter: socket.emit goes through the
 * adapter's broadcast, which XADDs the packet, waits for its id (the recovery offset) and
 * then writes it to the socket. The packet reaching the socket's buffer (engine.io
 * `packetCreate`) ends its time in flight. The parent checks the stream's `entries-added`.
 */
async function listenSocketIoRedis(redisUrl: string, prefix: string): Promise<string> {
  const { io, url } = await startSocketIoRedis(redisUrl, prefix);
  S.cap = SIO_REDIS_INFLIGHT;
  io.on('connection', (socket) => {
    const l = addLink((msg) => {
      S.inflight++;
      socket.emit('m', msg);
    });
    socket.conn.on('packetCreate', (p: { type: string }) => {
      if (p.type === 'message' && S.mode !== 'idle') inflightDone();
    });
    socket.on('a', (n: number) => onAck(l, n));
    socket.on('disconnect', (reason) => removeLink(l, reason));
  });
  return url;
}

let beforeRound: () => void = () => undefined;

function startRound(mode: 'push' | 'pace', target: number, bytes: number): Promise<void> {
  beforeRound();
  S.pad = padding(bytes);
  S.problems = [];
  S.inflight = 0;
  S.capQueue = [];
  S.mode = mode;
  S.open = S.links.length;
  S.unsent = S.links.length;
  for (const l of S.links) {
    l.sent = 0;
    l.acked = 0;
    l.target = target;
  }
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const sent = S.links.reduce((a, l) => a + l.sent, 0);
      const acked = S.links.reduce((a, l) => a + l.acked, 0);
      reject(new Error(`round not acked within 60 s: sent ${sent}, acked ${acked}`));
    }, 60_000);
    S.onDone = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function endRound(): void {
  S.mode = 'idle';
  S.onDone = undefined;
}

async function push(perConn: number, bytes: number, producer: Producer): Promise<PushResult> {
  S.slice = PRODUCER_SLICE[producer];
  const stored0 = S.storedPackets?.() ?? 0;
  const done = startRound('push', perConn, bytes);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const l of S.links) pump(l);
  await done;
  const c = process.cpuUsage(c0);
  endRound();
  const sent = S.links.reduce((a, l) => a + l.sent, 0);
  const r: PushResult = {
    t0: String(t0),
    tLastSend: String(S.tLastSend),
    cpuUs: c.user + c.system,
    sent,
    problems: S.problems,
    heapUsed: process.memoryUsage().heapUsed,
  };
  if (S.storedPackets !== undefined) r.stored = S.storedPackets() - stored0;
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Latency mode: every `tickMs`, on a fixed schedule, `perTick` messages to the next
 * `perTick` connections in turn (`perTick` = the connection count: one message to each).
 */
async function pace(
  ticks: number,
  tickMs: number,
  bytes: number,
  base: bigint,
  perTick: number,
): Promise<PaceResult> {
  const links = S.links.length;
  if ((ticks * perTick) % links !== 0)
    throw new Error(`${ticks} ticks × ${perTick} do not split evenly over ${links} connections`);
  const stored0 = S.storedPackets?.() ?? 0;
  const done = startRound('pace', (ticks * perTick) / links, bytes);
  const pad = S.pad;
  const tickNs = tickMs * 1e6;
  const lags = new Float64Array(ticks);
  const work = new Float64Array(ticks);
  let stalled = 0;
  const c0 = process.cpuUsage();
  const start = Number(process.hrtime.bigint() - base) + 2e6;
  let first = 0;
  let last = 0;
  let next = 0;
  for (let k = 0; k < ticks; k++) {
    const due = start + k * tickNs;
    const wait = due - Number(process.hrtime.bigint() - base);
    // Every tick is its own event, as in an application: a late tick still yields first, so
    // the previous tick's I/O (and resilient-ws's end-of-turn flush) is not held behind it.
    await (wait > 0 ? sleep(wait / 1e6) : new Promise<void>((r) => setImmediate(r)));
    const now = Number(process.hrtime.bigint() - base);
    lags[k] = (now - due) / 1e6;
    if (k === 0) first = now;
    last = now;
    // The tick's messages all exist from this instant: each carries it, so the latency of
    // the 100th includes the library's work for the 99 before it (whether it writes at
    // once, like ws, or batches until the end of the turn, like resilient-ws).
    const ts = TS_OFFSET + now;
    for (let j = 0; j < perTick; j++) {
      const l = S.links[next]!;
      next = next + 1 === links ? 0 : next + 1;
      if (l.sent - l.acked >= WINDOW || l.waiting) {
        stalled++;
        l.target--; // this message will never come: the round is void anyway
        continue;
      }
      const i = ++l.sent;
      l.write({ i, ts, p: pad });
    }
    // The end of the tick's work: the check phase after the last send completed (for
    // resilient-ws, its send promise resolves once the frame is queued, and its flush runs in
    // that check phase, before this callback).
    const tick = k;
    void (S.lastSend ?? Promise.resolve()).then(() =>
      setImmediate(() => (work[tick] = (Number(process.hrtime.bigint() - base) - now) / 1e6)),
    );
  }
  if (stalled > 0) {
    // Some links will get fewer messages than planned: count again who still owes acks.
    S.open = S.links.filter((l) => l.acked < l.target).length;
    if (S.open === 0) S.onDone?.();
  }
  await done;
  const c = process.cpuUsage(c0);
  endRound();
  const sent = S.links.reduce((a, l) => a + l.sent, 0);
  const sorted = Array.from(lags).sort((a, b) => a - b);
  const works = Array.from(work).sort((a, b) => a - b);
  const r: PaceResult = {
    sent,
    rate: sent / ((last - first + tickNs) / 1e9),
    lagP99: sorted[Math.floor(0.99 * (sorted.length - 1))]!,
    lagMax: sorted[sorted.length - 1]!,
    workP50: works[Math.floor(0.5 * (works.length - 1))]!,
    workP99: works[Math.floor(0.99 * (works.length - 1))]!,
    stalled,
    cpuUs: c.user + c.system,
    problems: S.problems,
  };
  if (S.storedPackets !== undefined) r.stored = S.storedPackets() - stored0;
  return r;
}

async function serverMain(system: E2eSystem, redisUrl = '', prefix = ''): Promise<void> {
  const url =
    system === 'resilient-ws' || system === 'resilient-ws-lite'
      ? await listenResilientWs()
      : system === 'resilient-ws-redis'
        ? await listenResilientWs({ store: redisUrl, redisPrefix: prefix })
        : system === 'ws'
          ? await listenWs()
          : system === 'ws-batched'
            ? await listenWsBatched()
            : system === 'socket.io-redis'
              ? await listenSocketIoRedis(redisUrl, prefix)
              : await listenSocketIo();
  serveRpc(
    {
      links: async (a: { n: number }) => {
        const deadline = Date.now() + 20_000;
        while (S.links.length !== a.n) {
          if (Date.now() > deadline)
            throw new Error(`${S.links.length} connections, expected ${a.n}`);
          await sleep(5);
        }
        return {};
      },
      push: (a: { perConn: number; bytes: number; producer: Producer }) =>
        push(a.perConn, a.bytes, a.producer),
      pace: (a: { ticks: number; tickMs: number; bytes: number; base: string; perTick?: number }) =>
        pace(a.ticks, a.tickMs, a.bytes, BigInt(a.base), a.perTick ?? S.links.length),
    },
    { url },
  );
}

// ---------------------------------------------------------------------------------------
// Client process

class ClientLink {
  /** Messages received this round. */
  count = 0;
  /** resilient-ws: the last seq received (must rise by 1). */
  lastSeq = 0;
  acks!: AckBatcher;
}

interface ClientState {
  links: ClientLink[];
  expected: number;
  received: number;
  tLast: bigint;
  c0: NodeJS.CpuUsage;
  cpuUs: number;
  samples: Float64Array | undefined;
  base: bigint;
  problems: string[];
  onDone: (() => void) | undefined;
  resetAcks: boolean;
}

const C: ClientState = {
  links: [],
  expected: 0,
  received: 0,
  tLast: 0n,
  c0: { user: 0, system: 0 },
  cpuUs: 0,
  samples: undefined,
  base: 0n,
  problems: [],
  onDone: undefined,
  resetAcks: true,
};

/** Every client: the decoded message is counted, checked and (latency mode) timed. */
function received(l: ClientLink, m: Payload): void {
  const n = ++l.count;
  if (m.i !== n) problem(C.problems, `message ${m.i} arrived as number ${n} of its connection`);
  const samples = C.samples;
  if (samples !== undefined) {
    const now = Number(process.hrtime.bigint() - C.base);
    samples[C.received] = (now - (m.ts - TS_OFFSET)) / 1000;
  }
  if (++C.received === C.expected) {
    C.tLast = process.hrtime.bigint();
    const c = process.cpuUsage(C.c0);
    C.cpuUs = c.user + c.system;
    C.onDone?.();
  }
}

async function connectResilientWs(url: string, n: number): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const { AckBatcher } = await import('../../client/ack-batcher.js');
  const { systemClock } = await import('../../client/clock.js');
  C.resetAcks = false; // acks are session seqs, cumulative across rounds
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, 'rws.v1', WS_CLIENT);
      const l = new ClientLink();
      l.acks = new AckBatcher(
        systemClock,
        ACK_DELAY_MS,
        (seq) => ws.send(`{"t":"ack","seq":${seq}}`),
        ACK_MAX_UNACKED,
      );
      ws.on('error', reject);
      ws.on('open', () => ws.send('{"t":"hello","v":1}'));
      ws.on('close', (code) => problem(C.problems, `resilient-ws connection closed: ${code}`));
      ws.on('message', (data: Buffer) => {
        // A WebSocket message is a batch of frames separated by newlines (docs/protocol.md §1).
        for (const line of data.toString('utf8').split('\n')) {
          if (line === '') continue;
          const f = JSON.parse(line) as { t: string; seq?: number; data?: Payload; code?: string };
          switch (f.t) {
            case 'msg':
              if (f.seq !== l.lastSeq + 1)
                problem(C.problems, `seq ${f.seq} after ${l.lastSeq}: a hole or a repeat`);
              l.lastSeq = f.seq!;
              received(l, f.data!);
              l.acks.processed(f.seq!);
              break;
            case 'ping':
              ws.send('{"t":"pong"}');
              break;
            case 'welcome':
              C.links.push(l);
              resolve();
              break;
            case 'error':
              problem(C.problems, `resilient-ws error frame: ${f.code}`);
              break;
          }
        }
      });
    });
  await Promise.all(Array.from({ length: n }, one));
}

/**
 * resilient-ws with the real SDK: one `ResilientClient` per connection (its defaults: acks
 * after 25 ms or at the 64th unacked message, heartbeats, resume), messages counted at its
 * `message` callback. Its seq check is the SDK's own plus ours.
 */
async function connectSdk(url: string, n: number): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const { ResilientClient } = await import('../../client/index.js');
  C.resetAcks = false; // the SDK acks by itself
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const client = new ResilientClient(url, { WebSocket: WebSocket });
      const l = new ClientLink();
      let opened = false;
      client.on('open', () => {
        if (opened) return problem(C.problems, 'resilient-ws SDK reconnected during the run');
        opened = true;
        C.links.push(l);
        resolve();
      });
      client.on('message', ({ seq, data }) => {
        if (seq !== l.lastSeq + 1)
          problem(C.problems, `seq ${seq} after ${l.lastSeq}: a hole or a repeat`);
        l.lastSeq = seq!;
        received(l, data as Payload);
      });
      client.on('gap', (g) => problem(C.problems, `SDK gap ${JSON.stringify(g)}`));
      client.on('reconnecting', ({ lastCloseCode }) =>
        problem(C.problems, `resilient-ws SDK connection closed: ${lastCloseCode}`),
      );
      client.on('close', ({ code }) => {
        problem(C.problems, `resilient-ws SDK stopped: ${code}`);
        if (!opened) reject(new Error(`SDK stopped before open: ${code}`));
      });
      client.connect();
    });
  await Promise.all(Array.from({ length: n }, one));
}

/**
 * Raw ws's client: one message per WebSocket message, or with `batched` (ws-batched's client)
 * newline-joined messages, each line decoded.
 */
async function connectWs(url: string, n: number, batched = false): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const { AckBatcher } = await import('../../client/ack-batcher.js');
  const { systemClock } = await import('../../client/clock.js');
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, WS_CLIENT);
      const l = new ClientLink();
      l.acks = new AckBatcher(
        systemClock,
        ACK_DELAY_MS,
        (count) => ws.send(`{"a":${count}}`),
        ACK_MAX_UNACKED,
      );
      ws.on('error', reject);
      ws.on('open', () => {
        C.links.push(l);
        resolve();
      });
      ws.on('close', (code) => problem(C.problems, `ws connection closed: ${code}`));
      const handle = (text: string): void => {
        received(l, JSON.parse(text) as Payload);
        l.acks.processed(l.count);
      };
      ws.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (!batched) handle(text);
        else for (const line of text.split('\n')) handle(line);
      });
    });
  await Promise.all(Array.from({ length: n }, one));
}

async function connectSocketIo(url: string, n: number): Promise<void> {
  const { io } = await import('socket.io-client');
  const { AckBatcher } = await import('../../client/ack-batcher.js');
  const { systemClock } = await import('../../client/clock.js');
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const socket = io(url, { ...SIO_CLIENT, reconnection: false });
      const l = new ClientLink();
      l.acks = new AckBatcher(
        systemClock,
        ACK_DELAY_MS,
        (count) => socket.emit('a', count),
        ACK_MAX_UNACKED,
      );
      socket.once('connect_error', reject);
      socket.once('connect', () => {
        C.links.push(l);
        resolve();
      });
      socket.on('disconnect', (reason) => problem(C.problems, `socket.io disconnect: ${reason}`));
      // With recovery the last argument is the packet's offset (the client keeps it).
      socket.on('m', (m: Payload) => {
        received(l, m);
        l.acks.processed(l.count);
      });
    });
  await Promise.all(Array.from({ length: n }, one));
}

function arm(perConn: number, latency: boolean, base: bigint): void {
  C.expected = perConn * C.links.length;
  C.received = 0;
  C.tLast = 0n;
  C.problems = [];
  C.base = base;
  C.samples = latency ? new Float64Array(C.expected) : undefined;
  for (const l of C.links) {
    l.count = 0;
    if (C.resetAcks) l.acks.reset(0);
  }
  C.c0 = process.cpuUsage();
}

function waitRound(timeoutMs: number): Promise<ClientResult> {
  const result = (): ClientResult => {
    const r: ClientResult = {
      received: C.received,
      expected: C.expected,
      tLast: String(C.tLast),
      cpuUs: C.cpuUs,
      problems: C.problems,
    };
    if (C.samples !== undefined) r.samples = Array.from(C.samples.subarray(0, C.received));
    return r;
  };
  if (C.received >= C.expected) return Promise.resolve(result());
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      C.onDone = undefined;
      resolve(result());
    }, timeoutMs);
    C.onDone = () => {
      clearTimeout(timer);
      C.onDone = undefined;
      resolve(result());
    };
  });
}

function clientMain(system: E2eSystem): void {
  // The Redis systems' clients are the same as their memory twins'.
  const connect = {
    'resilient-ws': connectSdk,
    'resilient-ws-lite': connectResilientWs,
    'resilient-ws-redis': connectResilientWs,
    ws: connectWs,
    'ws-batched': (url: string, n: number) => connectWs(url, n, true),
    'socket.io': connectSocketIo,
    'socket.io-redis': connectSocketIo,
  }[system];
  serveRpc({
    connect: (a: { url: string; n: number }) => connect(a.url, a.n).then(() => ({})),
    arm: (a: { perConn: number; latency: boolean; base: string }) => {
      arm(a.perConn, a.latency, BigInt(a.base));
      return {};
    },
    wait: (a: { timeoutMs: number }) => waitRound(a.timeoutMs),
  });
}

// ---------------------------------------------------------------------------------------

if (process.argv[1] === SELF) {
  const [role, system, redisUrl, prefix] = process.argv.slice(2) as [
    'server' | 'client',
    E2eSystem,
    string | undefined,
    string | undefined,
  ];
  if (!ALL_SYSTEMS.includes(system)) throw new Error(`unknown system ${system}`);
  if (role === 'server') await serverMain(system, redisUrl, prefix);
  else clientMain(system);
}
