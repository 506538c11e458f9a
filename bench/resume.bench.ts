/**
 * Resume under forced disconnects (BENCHMARKS.md "resume"): a client receives a steady stream
 * of numbered messages through a TCP proxy that is cut (both sockets destroyed, no close
 * handshake) 1000 times (100 in quick mode), each cut after the stream has resumed and
 * delivered a few messages again. The client counts, from the payload numbers, what was lost,
 * duplicated or reordered, and how long each cut took to resumed delivery. The same for
 * Socket.IO 4.8 with connection-state recovery, side by side (figures only, no bar).
 *
 * Outside the window: (a) a disconnect longer than the session TTL, the sweep having reaped
 * the session, must resume with `recovered: false`, reason `unknown_session`; (b) messages
 * evicted from a small outbox while the client is away must resume with reason `gap` and
 * `missing` equal to the evictions above the client's ack, which the client then confirms by
 * what it receives. Socket.IO's outside-window behaviour is shown as a figure.
 *
 * Process layout: each server in its own child process (bench/lib/resume-peers.ts), pinned to
 * CPU 0 with taskset where available; this process (clients, proxies, cut schedule, counting)
 * pinned to CPU 1. Seed: BENCH_SEED, else printed.
 */
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import type { Server as TcpServer } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import WebSocket from 'ws';
import { io as sioConnect, type Socket as SioClientSocket } from 'socket.io-client';
import {
  ResilientClient,
  type ClientGapEvent,
  type ClientResumedEvent,
  type WebSocketCtor,
} from '../client/index.js';
import { ChaosProxy, seededRandom } from '../test/support/chaos-proxy.js';
import { QUICK, atLeast, atMost, report } from './lib/harness.js';
import {
  OUTSIDE,
  Peer,
  SIO_CHAOS_WINDOW_MS,
  canPin,
  runPeer,
  until,
  type PeerKind,
} from './lib/resume-peers.js';

const SELF = fileURLToPath(import.meta.url);
const CUTS = QUICK ? 100 : 1000;
const TRIALS = QUICK ? 20 : 100;
/** Concurrent outside-window trials (each lane: its own proxy, client and session). */
const LANES = 10;
/** Messages per second streamed to the chaos client. */
const RATE = 1000;
/** Each cut waits for 1..MAX_AFTER messages delivered after the reconnect, then a pause. */
const MAX_AFTER = 10;
/**
 * The pause: 0–3 ms, so the cut lands before the SDK's batched ack (25 ms) went out and the
 * resume's ack trims the outbox; for 1 cut in LATE_EVERY, 26–40 ms, after a live ack did.
 */
const LATE_EVERY = 5;
/** No delivery for this long after a cut counts as a stall. */
const STALL_MS = 5000;
/** The product's default session TTL (docs/configuration.md): the resume window of the chaos run. */
const DEFAULT_SESSION_TTL_MS = 300_000;
/** Reconnect backoff: SDK full jitter in [0, 10) ms; Socket.IO 5 ms ± 50 %, capped at 10 ms. */
const RWS_BACKOFF = { baseMs: 10, capMs: 10 };
const SIO_RECONNECT = { reconnectionDelay: 5, reconnectionDelayMax: 10 };
const TIME_LIMIT_MS = QUICK ? 120_000 : 360_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));
const now = (): number => performance.now();

const rng = seededRandom;

function pct(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

function round(values: readonly number[]): number[] {
  return values.map((v) => Math.round(v * 100) / 100);
}

function ms3(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const f = (v: number): string => v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${f(pct(values, 0.5))} / ${f(pct(values, 0.99))} / ${f(Math.max(...values))}`;
}

function target(port: number): { host: string; port: number } {
  return { host: '127.0.0.1', port };
}

// ---------------------------------------------------------------- the stream as the client sees it

interface Anomaly {
  kind: 'duplicate' | 'reordered';
  n: number;
  /** Cuts made before it was delivered. */
  cut: number;
  previous: number;
}

/**
 * Counts a numbered stream at the client and times each cut: cut → the client's next
 * connection attempt (detection + backoff) → the first message delivered on a connection
 * opened after the cut (handshake + resume + replay).
 */
class StreamObserver {
  seen = new Uint8Array(1 << 16);
  /** Cuts made before n was delivered (its connection's epoch). */
  epochOf = new Int32Array(1 << 16);
  /** Per epoch (= cuts before the connection): whether its resume said recovered. */
  recoveredOf: (boolean | undefined)[] = [];
  max = 0;
  unique = 0;
  delivered = 0;
  duplicates = 0;
  reordered = 0;
  anomalies: Anomaly[] = [];
  cuts = 0;
  private phase: 'live' | 'cut' | 'attempted' = 'live';
  private cutAt = 0;
  private attemptAt = 0;
  private previous = 0;
  private sinceResume = 0;
  private waiter: { k: number; resolve: (ok: boolean) => void } | undefined;
  toAttempt: number[] = [];
  attemptToDelivery: number[] = [];
  toDelivery: number[] = [];

  onCut(t: number): void {
    this.cuts++;
    this.phase = 'cut';
    this.cutAt = t;
    this.sinceResume = 0;
  }

  /** A new connection (attempt) was started by the client. */
  onAttempt(t: number): void {
    if (this.phase !== 'cut') return;
    this.phase = 'attempted';
    this.attemptAt = t;
  }

  /** The connection of the current epoch said whether it recovered. */
  onResumed(recovered: boolean): void {
    this.recoveredOf[this.cuts] = recovered;
  }

  onMessage(n: number, t: number): void {
    if (n >= this.seen.length) {
      const size = Math.max(n + 1, this.seen.length * 2);
      const seen = new Uint8Array(size);
      seen.set(this.seen);
      this.seen = seen;
      const epoch = new Int32Array(size);
      epoch.set(this.epochOf);
      this.epochOf = epoch;
    }
    this.delivered++;
    if (this.seen[n] === 1) {
      this.duplicates++;
      if (this.anomalies.length < 50)
        this.anomalies.push({ kind: 'duplicate', n, cut: this.cuts, previous: this.previous });
    } else {
      this.seen[n] = 1;
      this.unique++;
      this.epochOf[n] = this.cuts;
      if (n < this.max) {
        this.reordered++;
        if (this.anomalies.length < 50)
          this.anomalies.push({ kind: 'reordered', n, cut: this.cuts, previous: this.previous });
      } else this.max = n;
    }
    this.previous = n;
    if (this.phase === 'attempted') {
      this.toAttempt.push(this.attemptAt - this.cutAt);
      this.attemptToDelivery.push(t - this.attemptAt);
      this.toDelivery.push(t - this.cutAt);
      this.phase = 'live';
    }
    if (this.phase === 'live') {
      this.sinceResume++;
      if (this.waiter !== undefined && this.sinceResume >= this.waiter.k) {
        this.waiter.resolve(true);
        this.waiter = undefined;
      }
    }
  }

  /** Resolves true once k messages were delivered on the connection after the last cut. */
  deliveredAfterResume(k: number, timeoutMs: number): Promise<boolean> {
    if (this.phase === 'live' && this.sinceResume >= k) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.waiter = {
        k,
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
    });
  }

  /** After the final drain: the numbers in 1..sent never delivered, as ranges. */
  lost(sent: number): { count: number; ranges: { from: number; to: number; epoch: number }[] } {
    let count = 0;
    const ranges: { from: number; to: number; epoch: number }[] = [];
    for (let n = 1; n <= sent; n++) {
      if (n < this.seen.length && this.seen[n] === 1) continue;
      count++;
      const last = ranges[ranges.length - 1];
      if (last !== undefined && last.to === n - 1) last.to = n;
      else {
        // The epoch of the last delivered number before the hole: the loss happened at the
        // reconnect after it (or within its connection).
        let p = n - 1;
        while (p > 0 && this.seen[p] !== 1) p--;
        ranges.push({ from: n, to: n, epoch: p > 0 ? this.epochOf[p]! : 0 });
      }
    }
    return { count, ranges };
  }
}

interface ChaosResult {
  system: string;
  cuts: number;
  socketsCut: number;
  sent: number;
  delivered: number;
  unique: number;
  lost: number;
  lostRanges: { from: number; to: number; epoch: number }[];
  /** Lost messages at reconnects whose resume said recovered:true (silent losses). */
  lostSilently: number;
  duplicates: number;
  reordered: number;
  anomalies: Anomaly[];
  recoveredTrue: number;
  recoveredFalse: number;
  notRecoveredReasons: Record<string, number>;
  gapEvents: number;
  stalls: { cut: number; max: number }[];
  toDelivery: number[];
  toAttempt: number[];
  attemptToDelivery: number[];
  durationMs: number;
  extra: Record<string, unknown>;
}

/** Cuts the proxy `CUTS` times, each after 1..MAX_AFTER messages delivered again and a pause. */
async function cutSchedule(
  proxy: ChaosProxy,
  stream: StreamObserver,
  random: () => number,
): Promise<{ cut: number; max: number }[]> {
  const stalls: { cut: number; max: number }[] = [];
  while (stream.cuts < CUTS) {
    const k = 1 + Math.floor(random() * MAX_AFTER);
    if (!(await stream.deliveredAfterResume(k, STALL_MS))) {
      stalls.push({ cut: stream.cuts, max: stream.max });
      console.error(`[resume] stall after cut ${stream.cuts} (last n ${stream.max})`);
      if (stalls.length >= 3) break;
      continue;
    }
    const late = random() < 1 / LATE_EVERY;
    const d = late ? 26 + Math.floor(random() * 15) : Math.floor(random() * 4);
    if (d === 0) await immediate();
    else await sleep(d);
    const t = now();
    if (proxy.cut() > 0) stream.onCut(t);
  }
  return stalls;
}

function lostSilently(
  stream: StreamObserver,
  ranges: { from: number; to: number; epoch: number }[],
): number {
  let silent = 0;
  // A hole after epoch e happened at the reconnect into epoch e + 1 (or, after the last cut,
  // within the last connection): silent when that connection said it recovered.
  for (const r of ranges)
    if ((stream.recoveredOf[r.epoch + 1] ?? stream.recoveredOf[r.epoch]) === true)
      silent += r.to - r.from + 1;
  return silent;
}

/** What the client saw of a stream of `sent` numbers, the same figures for both systems. */
function streamCounts(stream: StreamObserver, proxy: ChaosProxy, sent: number) {
  const lost = stream.lost(sent);
  return {
    cuts: stream.cuts,
    socketsCut: proxy.cuts,
    sent,
    delivered: stream.delivered,
    unique: stream.unique,
    lost: lost.count,
    lostRanges: lost.ranges.slice(0, 50),
    lostSilently: lostSilently(stream, lost.ranges),
    duplicates: stream.duplicates,
    reordered: stream.reordered,
    anomalies: stream.anomalies,
  };
}

/** Waits until every streamed number arrived (or 10 s), then a little more for late repeats. */
async function drain(stream: StreamObserver, sent: number): Promise<void> {
  await until(() => stream.unique >= sent, 10_000);
  await sleep(300);
}

// ---------------------------------------------------------------- resilient-ws

interface WireWelcome {
  sid: string;
  resumed: boolean;
  recovered: boolean;
  reason?: string;
  missing?: number;
  last: number;
}

/**
 * The `ws` package as the SDK's WebSocket, reporting each new socket (a connection attempt)
 * and the raw `welcome` frame (so the checks read the wire, not only the SDK's events).
 */
function trackedWebSocket(hooks: {
  attempt?: () => void;
  welcome?: (w: WireWelcome) => void;
}): WebSocketCtor {
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      hooks.attempt?.();
      const onWelcome = hooks.welcome;
      if (onWelcome !== undefined)
        this.once('message', (data: unknown) => {
          const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
          const first = text.split('\n', 1)[0]!;
          if (first.startsWith('{"t":"welcome"')) onWelcome(JSON.parse(first) as WireWelcome);
        });
    }
  }
  return Tracked;
}

async function rwsChaos(pin: boolean, seed: number): Promise<ChaosResult> {
  const random = rng(seed);
  const started = now();
  const peer = await Peer.start(SELF, 'rws-chaos', pin);
  const proxy = new ChaosProxy(target(peer.info.port as number));
  const port = await proxy.listen();
  const stream = new StreamObserver();
  let recoveredTrue = 0;
  let recoveredFalse = 0;
  const reasons: Record<string, number> = {};
  let gapEvents = 0;
  const errors: Record<string, number> = {};
  const client = new ResilientClient(`ws://127.0.0.1:${port}/ws`, {
    WebSocket: trackedWebSocket({ attempt: () => stream.onAttempt(now()) }),
    backoff: RWS_BACKOFF,
    random,
  });
  client.on('message', (m) => stream.onMessage((m.data as { n: number }).n, now()));
  client.on('resumed', (e: ClientResumedEvent) => {
    stream.onResumed(e.recovered);
    if (e.recovered) recoveredTrue++;
    else {
      recoveredFalse++;
      const k = e.reason ?? 'none';
      reasons[k] = (reasons[k] ?? 0) + 1;
    }
  });
  client.on('gap', () => gapEvents++);
  client.on('error', (e) => (errors[e.code] = (errors[e.code] ?? 0) + 1));
  const opened = new Promise<string>((resolve) => client.once('open', (e) => resolve(e.sid)));
  client.connect();
  const sid = await opened;
  stream.onResumed(true); // epoch 0: the first connection
  await peer.call('stream', { sid, rate: RATE });
  const t0 = now();
  const stalls = await cutSchedule(proxy, stream, random);
  const chaosMs = now() - t0;
  const stop = await peer.call<{
    sent: number;
    error?: string;
    resumes: Record<string, number>;
    drops: Record<string, number>;
    storedMessages: number;
  }>('stop');
  if (stop.error !== undefined) throw new Error(`rws stream: ${stop.error}`);
  await drain(stream, stop.sent);
  const stats = client.stats;
  await client.close();
  await proxy.close();
  await peer.stop();
  return {
    system: 'resilient-ws',
    ...streamCounts(stream, proxy, stop.sent),
    recoveredTrue,
    recoveredFalse,
    notRecoveredReasons: reasons,
    gapEvents,
    stalls,
    toDelivery: stream.toDelivery,
    toAttempt: stream.toAttempt,
    attemptToDelivery: stream.attemptToDelivery,
    durationMs: now() - started,
    extra: {
      chaosMs,
      sdkStats: stats,
      sdkErrors: errors,
      serverResumes: stop.resumes,
      serverDrops: stop.drops,
      serverStoredAfter: stop.storedMessages,
    },
  };
}

// ---------------------------------------------------------------- Socket.IO

function sioClient(port: number): SioClientSocket {
  return sioConnect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    forceNew: true,
    ...SIO_RECONNECT,
  });
}

async function sioChaos(pin: boolean, seed: number): Promise<ChaosResult> {
  const random = rng(seed);
  const started = now();
  const peer = await Peer.start(SELF, 'sio-chaos', pin);
  const proxy = new ChaosProxy(target(peer.info.port as number));
  const port = await proxy.listen();
  const stream = new StreamObserver();
  let recoveredTrue = 0;
  let recoveredFalse = 0;
  let connects = 0;
  const socket = sioClient(port);
  socket.on('m', (m: { n: number }) => stream.onMessage(m.n, now()));
  socket.io.on('reconnect_attempt', () => stream.onAttempt(now()));
  const opened = new Promise<void>((resolve) =>
    socket.on('connect', () => {
      if (connects++ === 0) {
        stream.onResumed(true);
        resolve();
        return;
      }
      // Replayed packets are emitted before 'connect' (they wait in the receive buffer), so
      // this flag is set after the first messages of the epoch: only the loss attribution
      // reads it, at the end.
      stream.onResumed(socket.recovered);
      if (socket.recovered) recoveredTrue++;
      else recoveredFalse++;
    }),
  );
  await opened;
  await peer.call('stream', { rate: RATE });
  const t0 = now();
  const stalls = await cutSchedule(proxy, stream, random);
  const chaosMs = now() - t0;
  const stop = await peer.call<{
    sent: number;
    connections: { recovered: number; fresh: number };
    storedPackets: number;
  }>('stop');
  await drain(stream, stop.sent);
  socket.disconnect();
  await proxy.close();
  await peer.stop();
  return {
    system: 'Socket.IO 4.8 + recovery',
    ...streamCounts(stream, proxy, stop.sent),
    recoveredTrue,
    recoveredFalse,
    notRecoveredReasons: {},
    gapEvents: 0,
    stalls,
    toDelivery: stream.toDelivery,
    toAttempt: stream.toAttempt,
    attemptToDelivery: stream.attemptToDelivery,
    durationMs: now() - started,
    extra: {
      chaosMs,
      serverConnections: stop.connections,
      serverStoredPackets: stop.storedPackets,
    },
  };
}

// ---------------------------------------------------------------- outside the window

/**
 * One lane of outside-window trials: a ChaosProxy whose upstream target this bench owns, so
 * it can be pointed at a black hole (a listener that destroys every socket at once) for an
 * outage: reconnect attempts then fail as on a dead network, and the client keeps retrying.
 * (ChaosProxy reads its target object at each new connection.)
 */
class Lane {
  readonly target: { host: string; port: number };
  readonly proxy: ChaosProxy;
  port = 0;

  constructor(
    private readonly serverPort: number,
    private readonly blackholePort: number,
  ) {
    this.target = target(serverPort);
    this.proxy = new ChaosProxy(this.target);
  }

  async listen(): Promise<this> {
    this.port = await this.proxy.listen();
    return this;
  }

  /** The network goes down: the live connection is cut and new ones fail. */
  down(): void {
    this.target.port = this.blackholePort;
    this.proxy.cut();
  }

  up(): void {
    this.target.port = this.serverPort;
  }
}

async function blackhole(): Promise<{ server: TcpServer; port: number }> {
  const server = createTcpServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** Runs `trials` trials over `lanes`, each lane taking the next trial when it is free. */
async function overLanes<T>(
  lanes: Lane[],
  trials: number,
  fn: (lane: Lane, trial: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array<T>(trials);
  let next = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      for (let i = next++; i < trials; i = next++) out[i] = await fn(lane, i);
    }),
  );
  return out;
}

interface RwsTrial {
  ok: boolean;
  reason: string | undefined;
  recovered: boolean | undefined;
  missing: number | undefined;
  detail: Record<string, unknown>;
}

/** An SDK client on a lane, with the counters a trial needs. */
function trialClient(lane: Lane, random: () => number) {
  const welcomes: WireWelcome[] = [];
  const resumed: ClientResumedEvent[] = [];
  const gaps: ClientGapEvent[] = [];
  const ns: number[] = [];
  const sids: string[] = [];
  const client = new ResilientClient(`ws://127.0.0.1:${lane.port}/ws`, {
    WebSocket: trackedWebSocket({ welcome: (w) => welcomes.push(w) }),
    backoff: RWS_BACKOFF,
    random,
  });
  client.on('resumed', (e) => resumed.push(e));
  client.on('gap', (e) => gaps.push(e));
  client.on('message', (m) => ns.push((m.data as { n: number }).n));
  client.on('open', (e) => sids.push(e.sid));
  client.on('error', () => {}); // refused reconnects during the outage
  client.connect();
  return { client, welcomes, resumed, gaps, ns, sids };
}

/** (a) Away longer than the session TTL, the sweep having reaped the session. */
async function ttlTrial(peer: Peer, lane: Lane, random: () => number): Promise<RwsTrial> {
  const c = trialClient(lane, random);
  try {
    if (!(await until(() => c.sids.length > 0, 5000))) throw new Error('no welcome');
    const sid = c.sids[0]!;
    await peer.call('send', { which: 'ttl', sid, count: 3 });
    if (!(await until(() => c.ns.length >= 3, 5000))) throw new Error('3 messages not received');
    const cutAt = now();
    lane.down();
    const detached = await peer.call<boolean>('waitDetach', { which: 'ttl', sid });
    const reaped = await peer.call<boolean>('waitReap', { sid });
    const reapedAfter = now() - cutAt;
    lane.up();
    const answered = await until(() => c.resumed.length > 0, 5000);
    const away = now() - cutAt;
    const e = c.resumed[0];
    const w = c.welcomes[c.welcomes.length - 1];
    const ok =
      detached &&
      reaped &&
      answered &&
      e?.recovered === false &&
      e.reason === 'unknown_session' &&
      c.welcomes.length === 2 &&
      w?.resumed === false &&
      w.recovered === false &&
      w.reason === 'unknown_session' &&
      w.missing === undefined &&
      w.sid !== sid &&
      c.gaps.length === 0;
    return {
      ok,
      reason: e?.reason,
      recovered: e?.recovered,
      missing: e?.missing,
      detail: { sid, detached, reaped, reapedAfter, away, welcome: w, gaps: c.gaps },
    };
  } finally {
    await c.client.close();
  }
}

/**
 * (b) The outbox overflows while the client is away: outboxMax 16, drop-oldest, 17..56
 * messages sent during the outage. Even trials cut after the server has the client's ack of
 * everything delivered; odd trials cut at once, before the SDK's batched ack (25 ms) went
 * out, so some evicted messages were delivered already (seq ≤ the resume ack: not missing).
 */
async function overflowTrial(
  peer: Peer,
  lane: Lane,
  random: () => number,
  trial: number,
): Promise<RwsTrial> {
  const c = trialClient(lane, random);
  const first = 3;
  try {
    if (!(await until(() => c.sids.length > 0, 5000))) throw new Error('no welcome');
    const sid = c.sids[0]!;
    await peer.call('send', { which: 'overflow', sid, count: first });
    if (!(await until(() => c.ns.length >= first, 5000))) throw new Error('messages not received');
    const ackedFirst = trial % 2 === 0;
    if (ackedFirst && !(await peer.call<boolean>('waitAck', { sid, seq: first })))
      throw new Error('no ack');
    const resumeAck = c.client.lastSeq;
    lane.down();
    const detached = await peer.call<boolean>('waitDetach', { which: 'overflow', sid });
    const away = OUTSIDE.outboxMax + 1 + Math.floor(random() * 40);
    const sent = await peer.call<{ last: number; evicted: number[]; dropEvents: number }>('send', {
      which: 'overflow',
      sid,
      count: away,
    });
    const expectedMissing = sent.evicted.filter((s) => s > resumeAck).length;
    lane.up();
    const answered = await until(() => c.resumed.length > 0, 5000);
    await until(() => c.ns.includes(sent.last), 5000);
    await sleep(30); // anything after the last one (a repeat) would show here
    const after = c.ns.slice(first);
    const distinct = new Set(after);
    const observedLost = away - distinct.size;
    const inOrder = after.every((n, i) => i === 0 || n > after[i - 1]!);
    // What the client received is exactly the newest outboxMax messages.
    const expectedTail = Array.from(
      { length: Math.min(away, OUTSIDE.outboxMax) },
      (_, i) => sent.last - Math.min(away, OUTSIDE.outboxMax) + 1 + i,
    );
    const tailOk =
      after.length === expectedTail.length && after.every((n, i) => n === expectedTail[i]);
    const server = await peer.call<{ recovered: boolean; reason?: string; missing: number } | null>(
      'lastResume',
      { sid },
    );
    const e = c.resumed[0];
    const w = c.welcomes[c.welcomes.length - 1];
    const ok =
      detached &&
      answered &&
      e?.recovered === false &&
      e.reason === 'gap' &&
      e.missing === expectedMissing &&
      w?.resumed === true &&
      w.recovered === false &&
      w.reason === 'gap' &&
      w.missing === expectedMissing &&
      server?.missing === expectedMissing &&
      observedLost === expectedMissing &&
      sent.dropEvents === sent.evicted.length &&
      c.gaps.length === 1 &&
      c.gaps[0]!.reason === 'resume' &&
      (c.gaps[0] as { missing: number }).missing === expectedMissing &&
      inOrder &&
      tailOk;
    return {
      ok,
      reason: e?.reason,
      recovered: e?.recovered,
      missing: e?.missing,
      detail: {
        sid,
        ackedFirst,
        resumeAck,
        away,
        evicted: sent.evicted.length,
        evictedAtOrBelowAck: sent.evicted.length - expectedMissing,
        expectedMissing,
        observedLost,
        welcome: w,
        server,
        gaps: c.gaps,
        inOrder,
        tailOk,
      },
    };
  } finally {
    await c.client.close();
  }
}

interface SioTrial {
  recovered: boolean | undefined;
  newId: boolean;
  away: number;
}

/** Socket.IO outside its window: away longer than maxDisconnectionDuration (200 ms). */
async function sioOutsideTrial(peer: Peer, lane: Lane): Promise<SioTrial> {
  const socket = sioClient(lane.port);
  let received = 0;
  let connects = 0;
  socket.on('m', () => received++);
  socket.on('connect', () => connects++);
  try {
    if (!(await until(() => connects > 0 && received >= OUTSIDE.sioFirstMessages, 5000)))
      throw new Error('no connect or messages');
    const id = socket.id!;
    const cutAt = now();
    lane.down();
    await peer.call('waitDisconnect', { id });
    await sleep(OUTSIDE.sioWindowMs + 50);
    lane.up();
    const back = await until(() => connects > 1, 5000);
    return {
      recovered: back ? socket.recovered : undefined,
      newId: socket.id !== id,
      away: now() - cutAt,
    };
  } finally {
    socket.disconnect();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const wall = now();
  const watchdog = setTimeout(() => {
    console.error(`[resume] time limit ${TIME_LIMIT_MS} ms reached`);
    process.exit(1);
  }, TIME_LIMIT_MS);
  watchdog.unref();
  const seed =
    process.env.BENCH_SEED !== undefined ? Number(process.env.BENCH_SEED) : Date.now() % 1_000_000;
  console.log(`[resume] seed ${seed}${QUICK ? ' (quick)' : ''}`);
  // Servers on CPU 0 (each peer), clients and proxies here on CPU 1 (all threads).
  const pin =
    canPin() && spawnSync('taskset', ['-a', '-pc', '1', String(process.pid)]).status === 0;

  const rws = await rwsChaos(pin, seed);
  console.log(
    `[resume] resilient-ws: ${rws.cuts} cuts, lost ${rws.lost} dup ${rws.duplicates} reordered ${rws.reordered}, ${(rws.durationMs / 1000).toFixed(1)} s`,
  );
  const sio = await sioChaos(pin, seed + 1);
  console.log(
    `[resume] Socket.IO: ${sio.cuts} cuts, lost ${sio.lost} dup ${sio.duplicates} reordered ${sio.reordered}, ${(sio.durationMs / 1000).toFixed(1)} s`,
  );

  // Outside the window.
  const hole = await blackhole();
  const tOut = now();
  const outsidePeer = await Peer.start(SELF, 'rws-outside', pin);
  const ports = outsidePeer.info.ports as { ttl: number; overflow: number };
  const random = rng(seed + 2);
  const ttlLanes = await Promise.all(
    Array.from({ length: LANES }, () => new Lane(ports.ttl, hole.port).listen()),
  );
  const ttl = await overLanes(ttlLanes, TRIALS, (lane) => ttlTrial(outsidePeer, lane, random));
  const ofLanes = await Promise.all(
    Array.from({ length: LANES }, () => new Lane(ports.overflow, hole.port).listen()),
  );
  const overflow = await overLanes(ofLanes, TRIALS, (lane, i) =>
    overflowTrial(outsidePeer, lane, random, i),
  );
  await Promise.all([...ttlLanes, ...ofLanes].map((l) => l.proxy.close()));
  await outsidePeer.stop();
  const rwsOutsideMs = now() - tOut;

  const tSio = now();
  const sioPeer = await Peer.start(SELF, 'sio-outside', pin);
  const sioLanes = await Promise.all(
    Array.from({ length: LANES }, () => new Lane(sioPeer.info.port as number, hole.port).listen()),
  );
  const sioOut = await overLanes(sioLanes, TRIALS, (lane) => sioOutsideTrial(sioPeer, lane));
  const sioServerConnections = await sioPeer.call<{ recovered: number; fresh: number }>('stats');
  await Promise.all(sioLanes.map((l) => l.proxy.close()));
  await sioPeer.stop();
  const sioOutsideMs = now() - tSio;
  await new Promise<void>((r) => hole.server.close(() => r()));
  const totalMs = now() - wall;

  // ---- figures
  const ttlOk = ttl.filter((t) => t.ok).length;
  const ofOk = overflow.filter((t) => t.ok).length;
  const sioOutFalse = sioOut.filter((t) => t.recovered === false).length;
  const sioOutTrue = sioOut.filter((t) => t.recovered === true).length;
  const sioOutNone = sioOut.filter((t) => t.recovered === undefined).length;
  const maxAway = Math.max(...rws.toDelivery);
  const sdk = rws.extra.sdkStats as { acksSent: number; duplicatesDropped: number };
  const evictedTotal = overflow.reduce((s, t) => s + (t.detail.evicted as number), 0);
  const belowAck = overflow.reduce((s, t) => s + (t.detail.evictedAtOrBelowAck as number), 0);
  const ttlAway = ttl.map((t) => t.detail.away as number);
  const ttlReaped = ttl.map((t) => t.detail.reapedAfter as number);
  const sioAway = sioOut.map((t) => t.away);
  // Counts as text: the markdown formatter would print a 0 as 0.000.
  const row = (figure: string, a: string | number, b: string | number): string[] => [
    figure,
    String(a),
    String(b),
  ];
  const reasonText = (r: Record<string, number>): string =>
    Object.keys(r).length === 0
      ? ''
      : ` (${Object.entries(r)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const quickNote = QUICK ? `quick mode: ${CUTS} drops (full mode: 1000)` : undefined;

  const method =
    `Process layout: each server in its own child process${pin ? ' pinned to CPU 0 with taskset' : ' (not pinned: no taskset)'}; ` +
    `the clients, the TCP proxies, the cut schedule and the counting in the parent process${pin ? ', pinned to CPU 1' : ''}. ` +
    `resilient-ws: createServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', metrics: true }) with product defaults ` +
    `(session TTL ${DEFAULT_SESSION_TTL_MS / 1000} s, outboxMax 1000), streaming server.send(sid, {n}) to one session at ${RATE} msg/s ` +
    `(each tick sends what is due since the start; sends awaited in order); the real SDK client (ResilientClient, the ws package as its WebSocket) ` +
    `connects through a ChaosProxy (TCP_NODELAY on both of its sockets, as ws sets on its own: with Nagle on, the proxy added up to 40 ms of delayed ACK to multi-write handshakes). Socket.IO 4.8.4: new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: ${SIO_CHAOS_WINDOW_MS} } }) ` +
    `streaming socket.emit('m', {n}) to the client's current socket at ${RATE} msg/s; client io(url, { transports: ['websocket'], ` +
    `reconnectionDelay: ${SIO_RECONNECT.reconnectionDelay}, reconnectionDelayMax: ${SIO_RECONNECT.reconnectionDelayMax} }) through the same kind of proxy. ` +
    `Cut schedule (both): ${CUTS} cuts (the proxy destroys both sockets, no close handshake); each cut waits until 1–${MAX_AFTER} messages (uniform) ` +
    `were delivered on the connection opened after the previous cut, then 0–3 ms (before the SDK's batched ack, 25 ms, went out: the resume's ack trims the outbox) ` +
    `or, for 1 cut in ${LATE_EVERY}, 26–40 ms (after a live ack), so cuts land in replays, between a delivery and its ack, and in the live stream; ` +
    `the schedule is seeded (seed ${seed}). Reconnect backoff made small for both so the cuts fit the time budget: SDK backoff { baseMs: ${RWS_BACKOFF.baseMs}, capMs: ${RWS_BACKOFF.capMs} } ` +
    `(full jitter: 0–10 ms, mean 5 ms); Socket.IO reconnectionDelay ${SIO_RECONNECT.reconnectionDelay} ms ± 50 % (randomizationFactor 0.5), max ${SIO_RECONNECT.reconnectionDelayMax} ms. ` +
    `Counted at the client from the payload numbers: duplicated = an n delivered again; reordered = an n delivered for the first time below a higher one already delivered; ` +
    `lost = the n in 1..sent never delivered, after the stream stopped and a final drain on a connection left up. Time to resumed delivery: from the cut to the first message ` +
    `delivered on a connection opened after it, split into cut → the client's next connection attempt (detection + backoff) and attempt → first message (handshake + resume + replay). ` +
    `All drops are within the window: the longest cut → resumed delivery (${maxAway.toFixed(0)} ms) is far below the ${DEFAULT_SESSION_TTL_MS / 1000} s session TTL. ` +
    `Outside the window, ${TRIALS} trials each, ${LANES} at a time (each with its own proxy, client and session); an outage points the proxy at a listener that destroys every socket, so ` +
    `the client's reconnects fail until it ends: (a) server with sessionTtl ${OUTSIDE.sessionTtlMs} ms, sweepInterval ${OUTSIDE.sweepIntervalMs} ms; the outage lasts until the server has ` +
    `detached and reaped the session (its reap event); pass = welcome resumed:false, recovered:false, reason unknown_session, a new sid, no missing, and the SDK's resumed event the same. ` +
    `(b) server with outboxMax ${OUTSIDE.outboxMax} (drop-oldest); 3 messages delivered, then (even trials) the server has the client's ack or (odd trials) the cut comes before the batched ack; ` +
    `during the outage ${OUTSIDE.outboxMax + 1}–${OUTSIDE.outboxMax + 40} messages are sent; pass = welcome recovered:false, reason gap, missing = the evicted seqs (from the dead-letter queue) above the ` +
    `client's resume ack = the server's resume event = the SDK's resumed and gap events = what the client never receives, and it receives exactly the newest ${OUTSIDE.outboxMax}, in order. ` +
    `Socket.IO outside its window: maxDisconnectionDuration ${OUTSIDE.sioWindowMs} ms, the outage lasts until the server saw the disconnect plus ${OUTSIDE.sioWindowMs + 50} ms; figure: socket.recovered on reconnect.`;

  const lostAt = (r: ChaosResult): string =>
    r.lost === 0 ? '0' : `${r.lost} (${r.lostSilently} at reconnects that said recovered)`;
  report({
    name: 'resume',
    title: 'Resume under forced disconnects',
    row: 'resume',
    method,
    table: {
      columns: ['figure', 'resilient-ws', 'Socket.IO 4.8 + recovery'],
      rows: [
        row('forced disconnects (proxy cuts)', rws.cuts, sio.cuts),
        row('messages streamed', rws.sent, sio.sent),
        row('lost', lostAt(rws), lostAt(sio)),
        row('duplicated', rws.duplicates, sio.duplicates),
        row('reordered', rws.reordered, sio.reordered),
        row(
          'reconnects with recovered: true / false',
          `${rws.recoveredTrue} / ${rws.recoveredFalse}${reasonText(rws.notRecoveredReasons)}`,
          `${sio.recoveredTrue} / ${sio.recoveredFalse}`,
        ),
        row('gap events', rws.gapEvents, 'n/a (no such event)'),
        row(
          'SDK: live ack frames sent / replayed duplicates dropped by seq',
          `${sdk.acksSent} / ${sdk.duplicatesDropped}`,
          'n/a (no acks)',
        ),
        row('stalls (no delivery 5 s after a cut)', rws.stalls.length, sio.stalls.length),
        row(
          'time to resumed delivery p50 / p99 / max (ms)',
          ms3(rws.toDelivery),
          ms3(sio.toDelivery),
        ),
        row(
          '  cut → reconnect attempt (detection + backoff)',
          ms3(rws.toAttempt),
          ms3(sio.toAttempt),
        ),
        row(
          '  attempt → first message (handshake + resume + replay)',
          ms3(rws.attemptToDelivery),
          ms3(sio.attemptToDelivery),
        ),
        row('chaos run duration', s(rws.durationMs), s(sio.durationMs)),
        row(
          'outside the window: session expired (TTL / maxDisconnectionDuration)',
          `${ttlOk}/${TRIALS} recovered:false, reason unknown_session`,
          `${sioOutFalse}/${TRIALS} recovered:false (${sioOutTrue} true, ${sioOutNone} no reconnect)`,
        ),
        row(
          '  time away p50 / max (ms)',
          `${pct(ttlAway, 0.5).toFixed(0)} / ${Math.max(...ttlAway).toFixed(0)} (reaped after ${pct(ttlReaped, 0.5).toFixed(0)})`,
          `${pct(sioAway, 0.5).toFixed(0)} / ${Math.max(...sioAway).toFixed(0)}`,
        ),
        row(
          'outside the window: outbox overflowed while away',
          `${ofOk}/${TRIALS} reason gap, missing = evicted above the ack = not received (${evictedTotal} evicted, ${belowAck} of them already delivered)`,
          'not measured (no outbox bound: its packet log is pruned by age only)',
        ),
        row('outside-window runs duration', s(rwsOutsideMs), s(sioOutsideMs)),
        row('whole benchmark', s(totalMs), ''),
      ],
    },
    checks: [
      atLeast(`forced disconnects made (resilient-ws)`, rws.cuts, CUTS, quickNote),
      atMost(`lost messages over ${CUTS} drops within the window`, rws.lost, 0, quickNote),
      atMost(
        `duplicated messages over ${CUTS} drops within the window`,
        rws.duplicates,
        0,
        quickNote,
      ),
      atMost(
        `reordered messages over ${CUTS} drops within the window`,
        rws.reordered,
        0,
        quickNote,
      ),
      atLeast(
        `share of ${TRIALS} expired-session trials answered recovered:false, reason unknown_session`,
        ttlOk / TRIALS,
        1,
      ),
      atLeast(
        `share of ${TRIALS} overflow trials answered recovered:false, reason gap, right missing`,
        ofOk / TRIALS,
        1,
      ),
    ],
    data: {
      seed,
      pinned: pin,
      rate: RATE,
      cuts: CUTS,
      trials: TRIALS,
      rws: { ...rws, toDelivery: undefined, toAttempt: undefined, attemptToDelivery: undefined },
      sio: { ...sio, toDelivery: undefined, toAttempt: undefined, attemptToDelivery: undefined },
      // Per cut, in ms (rounded to 10 µs).
      timings: {
        rws: {
          toDelivery: round(rws.toDelivery),
          toAttempt: round(rws.toAttempt),
          attemptToDelivery: round(rws.attemptToDelivery),
        },
        sio: {
          toDelivery: round(sio.toDelivery),
          toAttempt: round(sio.toAttempt),
          attemptToDelivery: round(sio.attemptToDelivery),
        },
      },
      ttlFailures: ttl.filter((t) => !t.ok).slice(0, 20),
      overflowFailures: overflow.filter((t) => !t.ok).slice(0, 20),
      overflowSample: overflow.slice(0, 4),
      sioOutside: {
        recoveredFalse: sioOutFalse,
        recoveredTrue: sioOutTrue,
        noReconnect: sioOutNone,
        serverConnections: sioServerConnections,
      },
      durationsMs: {
        total: totalMs,
        rwsChaos: rws.durationMs,
        sioChaos: sio.durationMs,
        rwsOutside: rwsOutsideMs,
        sioOutside: sioOutsideMs,
      },
    },
  });
  clearTimeout(watchdog);
}

if (process.argv[2] === 'peer') await runPeer(process.argv[3] as PeerKind);
else {
  await main();
  // Sockets of closed clients may linger a moment; the run is over.
  setTimeout(() => process.exit(), 200).unref();
}
