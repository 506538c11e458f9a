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
