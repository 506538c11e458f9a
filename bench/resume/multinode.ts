/**
 * The multi-node chaos runs (bench/multinode-resume.bench.ts): the resume benchmark's cut
 * schedule (chaos.ts), but each cut also moves the proxy to another node, so the client's
 * next connection lands on a node other than the one it left. The nodes share one Redis;
 * node 0 streams (for resilient-ws, to the session wherever it is attached; for Socket.IO, to
 * a room the client's socket is in).
 */
import { ChaosProxy, seededRandom } from '../../test/support/chaos-proxy.js';
import { cutSchedule, observedClient, type ChaosResult } from './chaos.js';
import { RATE, now, sioClient, target } from './common.js';
import { startPeer, type Peer } from './peers.js';
import { StreamObserver, drain, streamCounts } from './stream-observer.js';

export interface MultiNodeResult extends ChaosResult {
  nodes: number;
  /** Connections that landed on each node. */
  perNode: number[];
}

/** Moves the proxy to a node other than the current one, before each cut. */
function mover(proxy: ChaosProxy, ports: number[], random: () => number) {
  let at = 0;
  const perNode = ports.map((_, i) => (i === 0 ? 1 : 0));
  return {
    perNode,
    move: () => {
      at = (at + 1 + Math.floor(random() * (ports.length - 1))) % ports.length;
      perNode[at]!++;
      proxy.moveTo(target(ports[at]!));
    },
  };
}

async function startNodes(
  kind: 'rws-node' | 'sio-node',
  nodes: number,
  redisUrl: string,
  prefix: string,
): Promise<{ peers: Peer[]; ports: number[] }> {
  const started = await Promise.all(
    Array.from({ length: nodes }, () => startPeer<{ port: number }>(kind, [redisUrl, prefix])),
  );
  return { peers: started.map((s) => s.peer), ports: started.map((s) => s.info.port) };
}

export async function rwsMultiNode(
  seed: number,
  redisUrl: string,
  prefix: string,
  nodes: number,
): Promise<MultiNodeResult> {
  const random = seededRandom(seed);
  const started = now();
  const { peers, ports } = await startNodes('rws-node', nodes, redisUrl, prefix);
  const proxy = new ChaosProxy(target(ports[0]!));
  const port = await proxy.listen();
  const { perNode, move } = mover(proxy, ports, random);
  const { client, stream, tally } = observedClient(port, random);
  try {
    const opened = new Promise<string>((resolve) => client.once('open', (e) => resolve(e.sid)));
    client.connect();
    const sid = await opened;
    stream.onResumed(true);
    await peers[0]!.call('stream', { sid, rate: RATE });
    const t0 = now();
    const stalls = await cutSchedule(proxy, stream, random, move);
    const chaosMs = now() - t0;
    const ends = await Promise.all(
      peers.map((p) =>
        p.call<{
          sent: number;
          error?: string;
          resumes: Record<string, number>;
          drops: Record<string, number>;
        }>('end'),
      ),
    );
    const stop = ends[0]!;
    if (stop.error !== undefined) throw new Error(`rws stream: ${stop.error}`);
    await drain(stream, stop.sent);
    const sum = (pick: (e: (typeof ends)[number]) => Record<string, number>) => {
      const out: Record<string, number> = {};
      for (const e of ends)
        for (const [k, v] of Object.entries(pick(e))) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    return {
      system: `resilient-ws, ${nodes} nodes on Redis`,
      nodes,
      perNode,
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
        sdkStats: client.stats,
        sdkErrors: tally.errors,
        serverResumes: sum((e) => e.resumes),
        serverDrops: sum((e) => e.drops),
      },
    };
  } finally {
    await client.close();
    await proxy.close();
    await Promise.all(peers.map((p) => p.stop()));
  }
}

export async function sioMultiNode(
  seed: number,
  redisUrl: string,
  prefix: string,
  nodes: number,
): Promise<MultiNodeResult> {
  const random = seededRandom(seed);
  const started = now();
  const { peers, ports } = await startNodes('sio-node', nodes, redisUrl, prefix);
  const proxy = new ChaosProxy(target(ports[0]!));
  const port = await proxy.listen();
  const { perNode, move } = mover(proxy, ports, random);
  const stream = new StreamObserver();
  let recoveredTrue = 0;
  let recoveredFalse = 0;
  let connects = 0;
  const socket = sioClient(port);
  try {
    socket.on('m', (m: { n: number }) => stream.onMessage(m.n, now()));
    socket.io.on('reconnect_attempt', () => stream.onAttempt(now()));
    const opened = new Promise<void>((resolve) =>
      socket.on('connect', () => {
        if (connects++ === 0) {
          stream.onResumed(true);
          resolve();
          return;
        }
        stream.onResumed(socket.recovered);
        if (socket.recovered) recoveredTrue++;
        else recoveredFalse++;
      }),
    );
    await opened;
    // The room join travels through Redis to the other nodes; let it land before streaming.
    await new Promise((r) => setTimeout(r, 200));
    await peers[0]!.call('stream', { rate: RATE });
    const t0 = now();
    const stalls = await cutSchedule(proxy, stream, random, move);
    const chaosMs = now() - t0;
    const stop = await peers[0]!.call<{ sent: number }>('end');
    await drain(stream, stop.sent);
    const conns = await Promise.all(
      peers.map((p) => p.call<{ recovered: number; fresh: number }>('stats')),
    );
    return {
      system: `Socket.IO 4.8 + recovery, ${nodes} nodes on redis-streams-adapter`,
      nodes,
      perNode,
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
      extra: { chaosMs, serverConnections: conns },
    };
  } finally {
    socket.disconnect();
    await proxy.close();
    await Promise.all(peers.map((p) => p.stop()));
  }
}
