/**
 * The outside-the-window trials of the resume benchmark (bench/resume.bench.ts): a session
 * expired by its TTL, an outbox overflowed while away (resilient-ws), and Socket.IO away
 * longer than its recovery window.
 */
import type { Server as TcpServer } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import {
  ResilientClient,
  type ClientGapEvent,
  type ClientResumedEvent,
} from '../../client/index.js';
import { ChaosProxy, seededRandom } from '../../test/support/chaos-proxy.js';
import {
  LANES,
  RWS_BACKOFF,
  TRIALS,
  now,
  sioClient,
  sleep,
  target,
  trackedWebSocket,
  until,
  type WireWelcome,
} from './common.js';
import { OUTSIDE, startPeer, type Peer } from './peers.js';

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

export interface RwsTrial {
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

export interface SioTrial {
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

export interface OutsideResult {
  ttl: RwsTrial[];
  overflow: RwsTrial[];
  sioOut: SioTrial[];
  sioServerConnections: { recovered: number; fresh: number };
  rwsOutsideMs: number;
  sioOutsideMs: number;
}

/** Runs every outside-window trial: TTL and overflow (resilient-ws), then Socket.IO. */
export async function outsideWindow(seed: number): Promise<OutsideResult> {
  const hole = await blackhole();
  const tOut = now();
  const { peer: outsidePeer, info } = await startPeer<{
    ports: { ttl: number; overflow: number };
  }>('rws-outside');
  const ports = info.ports;
  const random = seededRandom(seed + 2);
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
  const { peer: sioPeer, info: sioInfo } = await startPeer<{ port: number }>('sio-outside');
  const sioLanes = await Promise.all(
    Array.from({ length: LANES }, () => new Lane(sioInfo.port, hole.port).listen()),
  );
  const sioOut = await overLanes(sioLanes, TRIALS, (lane) => sioOutsideTrial(sioPeer, lane));
  const sioServerConnections = await sioPeer.call<{ recovered: number; fresh: number }>('stats');
  await Promise.all(sioLanes.map((l) => l.proxy.close()));
  await sioPeer.stop();
  const sioOutsideMs = now() - tSio;
  return { ttl, overflow, sioOut, sioServerConnections, rwsOutsideMs, sioOutsideMs };
}
