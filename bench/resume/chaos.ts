/**
 * The chaos runs of the resume benchmark (bench/resume.bench.ts): one client receiving a
 * steady stream through a TCP proxy that is cut CUTS times, for resilient-ws and Socket.IO.
 */
import { ResilientClient, type ClientResumedEvent } from '../../client/index.js';
import { ChaosProxy, seededRandom } from '../../test/support/chaos-proxy.js';
import {
  CUTS,
  LATE_EVERY,
  MAX_AFTER,
  RATE,
  RWS_BACKOFF,
  STALL_MS,
  immediate,
  now,
  sioClient,
  sleep,
  target,
  trackedWebSocket,
} from './common.js';
import { startPeer } from './peers.js';
import { StreamObserver, drain, streamCounts, type Anomaly } from './stream-observer.js';

export interface ChaosResult {
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

/**
 * Cuts the proxy `CUTS` times, each after 1..MAX_AFTER messages delivered again and a pause;
 * `beforeCut` runs just before each cut (the multi-node run moves the proxy to another node).
 */
export async function cutSchedule(
  proxy: ChaosProxy,
  stream: StreamObserver,
  random: () => number,
  beforeCut: () => void = () => undefined,
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
    beforeCut();
    const t = now();
    if (proxy.cut() > 0) stream.onCut(t);
  }
  return stalls;
}

export async function rwsChaos(seed: number): Promise<ChaosResult> {
  const random = seededRandom(seed);
  const started = now();
  const { peer, info } = await startPeer<{ port: number }>('rws-chaos');
  const proxy = new ChaosProxy(target(info.port));
  const port = await proxy.listen();
  const { client, stream, tally } = observedClient(port, random);
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
  }>('end');
  if (stop.error !== undefined) throw new Error(`rws stream: ${stop.error}`);
  await drain(stream, stop.sent);
  const stats = client.stats;
  await client.close();
  await proxy.close();
  await peer.stop();
  return {
    system: 'resilient-ws',
    ...streamCounts(stream, proxy, stop.sent),
    recoveredTrue: tally.recoveredTrue,
    recoveredFalse: tally.recoveredFalse,
    notRecoveredReasons: tally.reasons,
    gapEvents: tally.gapEvents,
    stalls,
    toDelivery: stream.toDelivery,
    toAttempt: stream.toAttempt,
    attemptToDelivery: stream.attemptToDelivery,
    durationMs: now() - started,
    extra: {
      chaosMs,
      sdkStats: stats,
      sdkErrors: tally.errors,
      serverResumes: stop.resumes,
      serverDrops: stop.drops,
      serverStoredAfter: stop.storedMessages,
    },
  };
}

export async function sioChaos(seed: number): Promise<ChaosResult> {
  const random = seededRandom(seed);
  const started = now();
  const { peer, info } = await startPeer<{ port: number }>('sio-chaos');
  const proxy = new ChaosProxy(target(info.port));
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
  }>('end');
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

/** What the SDK client of a chaos run tells: resume outcomes, gap events, errors by code. */
export interface ClientTally {
  recoveredTrue: number;
  recoveredFalse: number;
  reasons: Record<string, number>;
  gapEvents: number;
  errors: Record<string, number>;
}

/**
 * The real SDK client of a chaos run, connecting through the proxy on `port`: each message's
 * `n` and each resume go to a StreamObserver, and the client's events are tallied.
 */
export function observedClient(
  port: number,
  random: () => number,
): { client: ResilientClient; stream: StreamObserver; tally: ClientTally } {
  const stream = new StreamObserver();
  const tally: ClientTally = {
    recoveredTrue: 0,
    recoveredFalse: 0,
    reasons: {},
    gapEvents: 0,
    errors: {},
  };
  const client = new ResilientClient(`ws://127.0.0.1:${port}/ws`, {
    WebSocket: trackedWebSocket({ attempt: () => stream.onAttempt(now()) }),
    backoff: RWS_BACKOFF,
    random,
  });
  client.on('message', (m) => stream.onMessage((m.data as { n: number }).n, now()));
  client.on('resumed', (e: ClientResumedEvent) => {
    stream.onResumed(e.recovered);
    if (e.recovered) tally.recoveredTrue++;
    else {
      tally.recoveredFalse++;
      const k = e.reason ?? 'none';
      tally.reasons[k] = (tally.reasons[k] ?? 0) + 1;
    }
  });
  client.on('gap', () => tally.gapEvents++);
  client.on('error', (e) => (tally.errors[e.code] = (tally.errors[e.code] ?? 0) + 1));
  return { client, stream, tally };
}
