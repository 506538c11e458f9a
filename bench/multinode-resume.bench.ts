/**
 * Resume across nodes (docs/performance.md "Bars", row "multi-node (Redis)"): the resume
 * benchmark's chaos run (bench/resume/chaos.ts: a steady numbered stream, the real SDK through
 * a TCP proxy cut CUTS times) with three resilient-ws nodes on one Redis, each in its own
 * child process; before each cut the proxy is moved to another node, so every reconnect
 * resumes on a node other than the one the client left. Node 0 streams (`server.send(sid)`)
 * wherever the session is attached. The same for Socket.IO 4.8 with recovery on
 * `@socket.io/redis-streams-adapter` (three nodes; node 0 emits to a room the client's socket
 * joined), side by side (figures only, no bar).
 *
 * Not here yet (the row's full bar): SIGKILLed nodes and a Redis restart.
 *
 * Redis: BENCH_REDIS_URL, else RWS_TEST_REDIS, else redis://127.0.0.1:6379; each system under
 * a fresh key prefix, deleted afterwards. Seed: BENCH_SEED, else printed.
 */
import { randomUUID } from 'node:crypto';
import { deletePrefix } from '../src/store/redis/redis-test-support.js';
import { pinSelf } from './lib/child.js';
import { QUICK, atMost, report } from './lib/harness.js';
import {
  CUTS,
  LATE_EVERY,
  MAX_AFTER,
  RATE,
  RWS_BACKOFF,
  SIO_RECONNECT,
  ms3,
  now,
} from './resume/common.js';
import { rwsMultiNode, sioMultiNode, type MultiNodeResult } from './resume/multinode.js';

const REDIS_URL =
  process.env.BENCH_REDIS_URL ?? process.env.RWS_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const NODES = 3;
const TIME_LIMIT_MS = QUICK ? 90_000 : 600_000;

const wall = now();
const watchdog = setTimeout(() => {
  console.error(`[multinode-resume] time limit ${TIME_LIMIT_MS} ms reached`);
  process.exit(1);
}, TIME_LIMIT_MS);
watchdog.unref();
const seed =
  process.env.BENCH_SEED !== undefined ? Number(process.env.BENCH_SEED) : Date.now() % 1_000_000;
console.log(`[multinode-resume] seed ${seed}${QUICK ? ' (quick)' : ''}`);
const pin = pinSelf(1);
const run = `rwsbench:${randomUUID().slice(0, 8)}`;

const failures: string[] = [];
const results: MultiNodeResult[] = [];
for (const [i, sys] of [
  { name: 'resilient-ws', go: rwsMultiNode, prefix: `${run}:mn-rws` },
  { name: 'Socket.IO', go: sioMultiNode, prefix: `${run}:mn-sio` },
].entries()) {
  try {
    const r = await sys.go(seed + i, REDIS_URL, sys.prefix, NODES);
    results.push(r);
    console.log(
      `[multinode-resume] ${r.system}: ${r.cuts} moves, lost ${r.lost} dup ${r.duplicates} reordered ${r.reordered}, ${(r.durationMs / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    failures.push(`${sys.name}: ${String(error)}`);
    console.error(`FAILED: ${failures.at(-1)}`);
  } finally {
    await deletePrefix(REDIS_URL, sys.prefix).catch(() => undefined);
  }
}

const rws = results.find((r) => r.system.startsWith('resilient-ws'));
// The row's bar also names SIGKILLed nodes and a Redis restart, not run here: every check
// says so, so that a "met" on the scorecard cannot be read as the whole bar.
const quickNote =
  (QUICK ? `quick mode: ${CUTS} moves (full mode: 1000); ` : '') +
  'forced moves between live nodes only: SIGKILLed nodes and a Redis restart are not measured yet';
const checks = [
  atMost(
    'resilient-ws across 3 nodes: messages lost',
    rws?.lost ?? Number.POSITIVE_INFINITY,
    0,
    quickNote,
  ),
  atMost(
    'resilient-ws across 3 nodes: messages duplicated',
    rws?.duplicates ?? Number.POSITIVE_INFINITY,
    0,
    quickNote,
  ),
  atMost(
    'resilient-ws across 3 nodes: messages reordered',
    rws?.reordered ?? Number.POSITIVE_INFINITY,
    0,
    quickNote,
  ),
  atMost(
    `resilient-ws across 3 nodes: moves that stalled (no delivery for 5 s) or did not run (of ${CUTS})`,
    rws === undefined ? CUTS : rws.stalls.length + (CUTS - rws.cuts),
    0,
    quickNote,
  ),
  atMost('runs that failed to start or finish', failures.length, 0),
];

const reasonText = (r: Record<string, number>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';
const rows: string[][] = results.map((r) => [
  r.system,
  String(r.cuts),
  String(r.sent),
  String(r.lost),
  String(r.lostSilently),
  String(r.duplicates),
  String(r.reordered),
  `${r.recoveredTrue} / ${r.recoveredFalse}${r.recoveredFalse > 0 ? ` (${reasonText(r.notRecoveredReasons)})` : ''}`,
  ms3(r.toDelivery),
  r.perNode.join(' / '),
  String(r.stalls.length),
]);

report({
  name: 'multinode-resume',
  title: 'Resume across nodes: forced moves between nodes sharing one Redis',
  row: 'multi-node (Redis)',
  method:
    `${NODES} nodes per system, each in its own child process${pin ? ' pinned to CPU 0 with taskset (the client, the proxy and the counting in this process, pinned to CPU 1; Redis unpinned)' : ' (not pinned: no taskset)'}, on one Redis (${REDIS_URL.replace(/\/\/[^@]*@/, '//')}), each system under a fresh key prefix deleted afterwards. ` +
    `resilient-ws: createServer({ store: <redis url>, redisPrefix, metrics: true }), product defaults otherwise; node 0 streams server.send(sid, {n}) at ${RATE} msg/s (sends awaited in order) to the one session, wherever it is attached (the nodes' bus carries it); ` +
    `the real SDK (ResilientClient, backoff { baseMs: ${RWS_BACKOFF.baseMs}, capMs: ${RWS_BACKOFF.capMs} }) connects through a ChaosProxy. ` +
    `Socket.IO 4.8 with connectionStateRecovery (120 s) on @socket.io/redis-streams-adapter 0.3.1 (node-redis), its defaults; a socket that connects without recovery joins room "u"; node 0 emits io.to('u').emit('m', {n}) at ${RATE} msg/s; ` +
    `client io(url, { transports: ['websocket'], reconnectionDelay: ${SIO_RECONNECT.reconnectionDelay}, reconnectionDelayMax: ${SIO_RECONNECT.reconnectionDelayMax} }). ` +
    `Moves: the resume benchmark's cut schedule (${CUTS} cuts, each after 1–${MAX_AFTER} messages delivered again and a pause of 0–3 ms, or 26–40 ms for 1 in ${LATE_EVERY}; seed ${seed}); ` +
    `just before each cut the proxy's target becomes another node (uniform among the others), so the reconnect resumes elsewhere. ` +
    `Counted at the client from the payload numbers as in the resume benchmark (lost after a final drain; "silently" = lost at a reconnect that said recovered). ` +
    `Not measured here yet: nodes killed by SIGKILL and a Redis restart (the row's full bar). Run time ${((now() - wall) / 1000).toFixed(0)} s.`,
  table: {
    columns: [
      'system',
      'moves',
      'sent',
      'lost',
      'lost silently',
      'duplicated',
      'reordered',
      'recovered true / false',
      'cut → resumed delivery p50 / p99 / max (ms)',
      'connections per node',
      'stalls',
    ],
    rows,
  },
  checks,
  data: { seed, results, failures },
});
clearTimeout(watchdog);
setTimeout(() => process.exit(), 200).unref();
