/**
 * A soak client process: `clients` SDK clients (`ResilientClient`, as applications run it),
 * each one logical session, and the load around them, driven from one 20 ms tick:
 *
 * - publishes over the HTTP API (`POST /api/sessions/{sid}/messages`, keep-alive), one in
 *   flight per session, so the seqs the server assigns follow the order of the publishes. The
 *   payload carries the client's slot, its session's generation and `k`, the publish's number
 *   within the session; a 202 must answer `{seq: k}`.
 * - client messages (`client.send`), answered by the server's handler: with the message itself
 *   (an echo) for the fraction `resultRatio` that ask for it, else without a result;
 * - drops: the client's socket terminated abruptly (`ws.terminate()`); the SDK reconnects
 *   with its backoff and resumes;
 * - reloads: the socket terminated and the SDK instance stopped without `bye`, then a new
 *   instance resumes the session from `client.session` (what a page reload does);
 * - ends: publishing to the session stops, and once everything accepted for it has arrived
 *   (and been acked) the client ends it with `close()` (`bye`); a new session takes its slot.
 *
 * Every delivered message is checked: its seq must be the previous + 1 (a repeat is a
 * duplicate, a jump is a reordering) and its payload must be this session's `k = seq`. A
 * session's accepted publishes that never arrive are counted as lost when it ends and at the
 * end of the run (`drain`).
 *
 * Run as a child of bench/soak/run.ts (bench/lib/child.ts), pinned to CPU 1.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { ResilientClient, isClientError, type ClientSession } from '../../client/index.js';
import type { WebSocketCtor } from '../../client/index.js';
import { serveRpc } from '../lib/child.js';
import { WS_CLIENT } from '../lib/systems.js';
import {
  emptyTotals,
  prng,
  sleep,
  type ClientReport,
  type ClientTotals,
  type LoadSettings,
} from './common.js';

const TICK_MS = 20;
/** Most publishes in flight in this process (beyond it a publish is skipped and counted). */
const MAX_POSTS_IN_FLIGHT = 64;
/** Client messages unanswered per client before it is skipped for another. */
const MAX_SENDS_PER_CLIENT = 4;
/** How long an SDK client may take to (re)open before that is a problem. */
const OPEN_TIMEOUT_MS = 30_000;
/** How long an ending session may take to receive what was accepted for it. */
const END_DRAIN_MS = 15_000;
/** After the last message of an ending session: the SDK's batched ack (25 ms) goes out. */
const ACK_SETTLE_MS = 100;
const PUBLISH_TIMEOUT_MS = 10_000;

type TrackState = 'opening' | 'live' | 'reloading' | 'ending' | 'done';

/** One slot's current session: its SDK client and its delivery ledger. */
class Track {
  state: TrackState = 'opening';
  client!: ResilientClient;
  /** The newest socket the SDK opened for this slot (to terminate it). */
  sock: WebSocket | undefined;
  sid: string | undefined;
  /** An instance told to stop (its terminal close is expected). */
  stopping: ResilientClient | undefined;
  posted = 0;
  accepted = 0;
  postInFlight = false;
  /** Publishing failed once: the ledger of this session is uncertain, stop publishing. */
  publishBroken = false;
  /** Distinct seqs delivered, and the highest. */
  delivered = 0;
  lastSeq = 0;
  sendsPending = 0;
  sent = 0;
  /** The SDK's WebSocket: `ws`, remembering each socket it opens in `sock`. */
  readonly Ctor: WebSocketCtor = trackedSocket(this);
  private opened: (() => void) | undefined;

  constructor(
    readonly slot: number,
    readonly gen: number,
  ) {}

  /** Resolves at the next `open` of the current instance (false after the timeout). */
  nextOpen(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.opened = undefined;
        resolve(false);
      }, OPEN_TIMEOUT_MS);
      this.opened = () => {
        clearTimeout(timer);
        this.opened = undefined;
        resolve(true);
      };
    });
  }

  onOpen(): void {
    this.opened?.();
  }
}

function trackedSocket(t: Track): WebSocketCtor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, WS_CLIENT);
      t.sock = this;
    }
  };
}

let S: LoadSettings;
let random: () => number = Math.random;
let pad = '';
let agent: Agent;
const T: ClientTotals = emptyTotals();
const problems: string[] = [];
let tracks: Track[] = [];
let running = false;
let postsInFlight = 0;
let churnPending = 0;
let ticker: NodeJS.Timeout | undefined;

function problem(text: string): void {
  if (problems.length < 30) problems.push(`[proc ${S.proc}] ${text}`);
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** Starts an SDK instance for `t` (resuming `resume` when given). */
function startClient(t: Track, resume?: ClientSession): ResilientClient {
  const client = new ResilientClient(S.url, {
    WebSocket: t.Ctor,
    ...(resume === undefined ? {} : { resume }),
  });
  t.client = client;
  client.on('open', (e) => {
    if (t.sid === undefined) t.sid = e.sid;
    else if (e.sid !== t.sid) {
      T.sessionChanged++;
      problem(`slot ${t.slot}: resumed as ${e.sid}, expected ${t.sid}`);
    }
    if (client === t.client) t.onOpen();
  });
  client.on('message', ({ seq, data }) => {
    T.received++;
    if (seq === undefined) {
      T.misdelivered++;
      problem(`slot ${t.slot}: a message without seq`);
      return;
    }
    if (seq <= t.lastSeq) {
      T.duplicated++;
      problem(`slot ${t.slot}: seq ${seq} delivered again (last ${t.lastSeq})`);
      return;
    }
    if (seq !== t.lastSeq + 1) {
      T.reordered++;
      problem(`slot ${t.slot}: seq ${seq} after ${t.lastSeq}`);
    }
    t.lastSeq = seq;
    t.delivered++;
    const d = data as { i?: unknown; g?: unknown; k?: unknown } | null;
    if (d?.i !== t.slot || d.g !== t.gen || d.k !== seq) {
      T.misdelivered++;
      problem(`slot ${t.slot}.${t.gen}: seq ${seq} carried ${JSON.stringify(data).slice(0, 80)}`);
    }
  });
  client.on('gap', (e) => {
    T.gaps++;
    problem(`slot ${t.slot}: gap ${JSON.stringify(e)}`);
  });
  client.on('resumed', (e) => {
    if (e.recovered) return;
    T.notRecovered++;
    problem(`slot ${t.slot}: resume not recovered (${e.reason}, missing ${e.missing})`);
  });
  client.on('close', (e) => {
    if (t.stopping === client) return;
    T.unexpectedStops++;
    problem(`slot ${t.slot}: the client stopped (close ${e.code} ${e.reason})`);
  });
  client.on('error', (e) => count(T.errors, e.code));
  client.connect();
  return client;
}

/** An SDK instance is done with: its counters go into the totals. */
function retireInstance(client: ResilientClient): void {
  const st = client.stats;
  T.sdkDuplicatesDropped += st.duplicatesDropped;
  T.reconnects += st.reconnects;
}

/** A session is done with (ended, or the run is over): what never arrived is lost. */
function retireSession(t: Track): void {
  const lost = t.accepted - t.delivered;
  if (lost > 0) {
    T.lost += lost;
    problem(`slot ${t.slot}.${t.gen}: ${lost} of ${t.accepted} accepted messages never arrived`);
  }
  retireInstance(t.client);
  t.state = 'done';
}

/**
 * Opens a session in `slot` and sends its first client message, with a result: the server
 * creates a session's dedup window and kept results at its first client message, so every
 * session has them from the start rather than one by one over the first minutes of load
 * (which would read as heap growth after the warm-up).
 */
async function openSlot(slot: number, gen: number): Promise<Track> {
  const t = new Track(slot, gen);
  tracks[slot] = t;
  startClient(t);
  T.sessions++;
  if (await t.nextOpen()) {
    t.state = 'live';
    send(t, true);
  } else problem(`slot ${slot}: no welcome within ${OPEN_TIMEOUT_MS} ms`);
  return t;
}

// ---------------------------------------------------------------------------------------
// The actions

function publish(t: Track): void {
  const sid = t.sid!;
  const k = ++t.posted;
  t.postInFlight = true;
  postsInFlight++;
  const body = JSON.stringify({ data: { i: t.slot, g: t.gen, k, p: pad } });
  let settled = false;
  const done = (status: number | undefined, text: string): void => {
    if (settled) return;
    settled = true;
    t.postInFlight = false;
    postsInFlight--;
    let seq: unknown;
    try {
      seq = status === 202 ? (JSON.parse(text) as { seq?: unknown }).seq : undefined;
    } catch {
      seq = undefined;
    }
    if (seq === k) {
      t.accepted++;
      T.published++;
      return;
    }
    T.publishFailures++;
    t.publishBroken = true;
    problem(`slot ${t.slot}: publish ${k} answered ${status ?? 'nothing'} ${text.slice(0, 120)}`);
  };
  const req = request(
    `${S.httpUrl}/api/sessions/${encodeURIComponent(sid)}/messages`,
    {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: PUBLISH_TIMEOUT_MS,
    },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(res.statusCode, text));
      res.on('error', (e) => done(undefined, e.message));
    },
  );
  req.on('timeout', () => req.destroy(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`)));
  req.on('error', (e) => done(undefined, e.message));
  req.end(body);
}

function send(t: Track, withResult = random() < S.resultRatio): void {
  const c = ++t.sent;
  // r: 1 asks the handler for a result (the echo), which the server keeps for duplicate answers.
  const payload = { i: t.slot, g: t.gen, c, r: withResult ? 1 : 0 };
  t.sendsPending++;
  T.messagesSent++;
  t.client.send(payload).then(
    (v) => {
      t.sendsPending--;
      const d = v as { i?: unknown; g?: unknown; c?: unknown } | undefined;
      const right =
        payload.r === 1 ? d?.i === payload.i && d.g === payload.g && d.c === c : v === undefined;
      if (right) T.messagesOk++;
      else {
        T.badEchoes++;
        problem(`slot ${t.slot}: message ${c} answered ${JSON.stringify(v)}`);
      }
    },
    (e: unknown) => {
      t.sendsPending--;
      const code = isClientError(e) ? e.code : 'other';
      count(T.messagesRejected, code);
      problem(`slot ${t.slot}: message ${c} rejected: ${code}`);
    },
  );
}

const isOpen = (t: Track): boolean =>
  t.state === 'live' && t.client.state === 'open' && t.sock?.readyState === WebSocket.OPEN;

function drop(t: Track): void {
  T.drops++;
  t.sock!.terminate();
}

/** A page reload: the connection dies, the instance stops without `bye`, a new one resumes. */
async function reload(t: Track): Promise<void> {
  t.state = 'reloading';
  churnPending++;
  try {
    const old = t.client;
    // The SDK notices the dead socket and schedules a reconnect (which the reload preempts).
    const lost = new Promise<void>((r) => {
      const off = old.on('reconnecting', () => {
        off();
        r();
      });
    });
    t.sock!.terminate();
    await lost;
    t.stopping = old;
    await old.close(); // not open (waiting to reconnect): stops at once, no bye
    retireInstance(old);
    const session = old.session;
    if (session === undefined || session.sid !== t.sid || session.ack !== t.lastSeq) {
      problem(`slot ${t.slot}: session to resume ${JSON.stringify(session)}, last ${t.lastSeq}`);
      return;
    }
    const opened = t.nextOpen();
    startClient(t, session);
    if (!(await opened)) {
      problem(`slot ${t.slot}: reload did not reopen within ${OPEN_TIMEOUT_MS} ms`);
      return;
    }
    T.reloads++;
    t.state = 'live';
  } finally {
    churnPending--;
  }
}

/** Whether everything accepted for `t` arrived, nothing is in flight, and it is open. */
const settled = (t: Track): boolean =>
  !t.postInFlight && t.delivered >= t.accepted && t.sendsPending === 0 && t.client.state === 'open';

/** Ends the session with `bye` once everything sent to it arrived; a new one takes the slot. */
async function end(t: Track): Promise<void> {
  t.state = 'ending';
  churnPending++;
  try {
    const deadline = performance.now() + END_DRAIN_MS;
    while (!settled(t) && performance.now() < deadline) await sleep(20);
    await sleep(ACK_SETTLE_MS);
    while (!settled(t) && performance.now() < deadline) await sleep(20);
    if (!settled(t)) problem(`slot ${t.slot}: not settled ${END_DRAIN_MS} ms after its end began`);
    t.stopping = t.client;
    await t.client.close();
    retireSession(t);
    T.ends++;
    await openSlot(t.slot, t.gen + 1);
  } finally {
    churnPending--;
  }
}

/** Up to 8 random picks for a track that `ok` accepts. */
function pick(ok: (t: Track) => boolean): Track | undefined {
  for (let i = 0; i < 8; i++) {
    const t = tracks[Math.floor(random() * tracks.length)];
    if (t !== undefined && ok(t)) return t;
  }
  return undefined;
}

type Kind = 'publish' | 'message' | 'drop' | 'reload' | 'end';
const carry: Record<Kind, number> = { publish: 0, message: 0, drop: 0, reload: 0, end: 0 };

function act(kind: Kind): void {
  switch (kind) {
    case 'publish': {
      if (postsInFlight >= MAX_POSTS_IN_FLIGHT) {
        T.publishSkipped++;
        return;
      }
      const t = pick((x) => x.state === 'live' && !x.postInFlight && !x.publishBroken);
      if (t === undefined) T.publishSkipped++;
      else publish(t);
      return;
    }
    case 'message': {
      const t = pick((x) => x.state === 'live' && x.sendsPending < MAX_SENDS_PER_CLIENT);
      if (t === undefined) T.churnSkipped++;
      else send(t);
      return;
    }
    case 'drop': {
      const t = pick(isOpen);
      if (t === undefined) T.churnSkipped++;
      else drop(t);
      return;
    }
    case 'reload': {
      const t = pick((x) => isOpen(x) && x.sendsPending === 0);
      if (t === undefined) T.churnSkipped++;
      else void reload(t);
      return;
    }
    case 'end': {
      const t = pick((x) => isOpen(x) && x.sendsPending === 0);
      if (t === undefined) T.churnSkipped++;
      else void end(t);
      return;
    }
  }
}

function startLoad(): void {
  running = true;
  const rates: Record<Kind, number> = {
    publish: S.publishRate,
    message: S.messageRate,
    drop: S.dropRate,
    reload: S.reloadRate,
    end: S.endRate,
  };
  let lastTick = performance.now();
  ticker = setInterval(() => {
    if (!running) return;
    const now = performance.now();
    // A stalled process catches up at most a quarter of a second at once.
    const dt = Math.min(0.25, (now - lastTick) / 1000);
    lastTick = now;
    for (const kind of Object.keys(rates) as Kind[]) {
      carry[kind] += rates[kind] * dt;
      let n = Math.floor(carry[kind]);
      carry[kind] -= n;
      while (n-- > 0) act(kind);
    }
  }, TICK_MS);
}

/** Stops the load and waits (at most `timeoutMs`) until every session has everything. */
async function drain(timeoutMs: number): Promise<ClientReport> {
  running = false;
  if (ticker !== undefined) clearInterval(ticker);
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  const quiet = (): boolean =>
    churnPending === 0 && postsInFlight === 0 && tracks.every((t) => settled(t));
  while (!quiet() && performance.now() < deadline) await sleep(50);
  const drained = quiet();
  const drainMs = performance.now() - t0;
  await sleep(ACK_SETTLE_MS); // the last acks reach the server
  const notOpen = tracks.filter((t) => t.client.state !== 'open').length;
  for (const t of tracks) if (t.state !== 'done') retireSession(t);
  const report: ClientReport = {
    totals: T,
    notOpen,
    publishesPending: postsInFlight,
    messagesPending: tracks.reduce((a, t) => a + t.sendsPending, 0),
    churnPending,
    drained,
    drainMs,
    problems,
  };
  return report;
}

serveRpc(
  {
    /** Opens the clients (at most 50 handshakes at a time) and waits for their welcome. */
    open: async (settings: LoadSettings) => {
      S = settings;
      random = prng(S.seed);
      pad = 'x'.repeat(S.padBytes);
      agent = new Agent({ keepAlive: true, maxSockets: 16 });
      tracks = new Array<Track>(S.clients);
      const t0 = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < S.clients) await openSlot(next++, 0);
      };
      await Promise.all(Array.from({ length: 50 }, worker));
      const open = tracks.filter((t) => t.state === 'live').length;
      return { open, ms: performance.now() - t0 };
    },
    start: () => {
      startLoad();
      return {};
    },
    /** A progress reading: counts so far. */
    progress: () => ({
      totals: T,
      open: tracks.filter((t) => t.client.state === 'open').length,
      problems: problems.length,
    }),
    drain: (a: { timeoutMs: number }) => drain(a.timeoutMs),
  },
  { pid: process.pid },
);
