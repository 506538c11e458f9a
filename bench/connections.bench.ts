/**
 * Connections per node (docs/performance.md "Bars", row "connections per node"): resilient-ws,
 * raw ws 8 and Socket.IO 4.8 with connection-state recovery holding 1k, 5k and 15k idle
 * connections (quick mode: 1k and 5k), every resilient-ws connection with a session (the SDK's
 * hello answered by welcome).
 *
 * Measured per system: heap and RSS per connection as the least-squares slope over the sizes
 * (readings after two full GCs in the server process), the connect-and-hello rate, the server's
 * heartbeat CPU per connection per ping interval at the largest size (every system's heartbeat
 * at HB_MS: rws `heartbeatInterval`, raw ws the ws README's protocol-ping loop, Socket.IO
 * `pingInterval`; the server's CPU over whole intervals minus its idle rate with no
 * connection), and the event-loop delay p99 over that idle window. 100k connections are
 * modelled from the slopes (this machine caps a process at 20 000 open files).
 *
 * Layout: this file runs as the parent, as a server child (`server <system> <options>`,
 * bench/lib/memory-peers.ts, pinned to CPU 0, --expose-gc) and as the client processes of a
 * fleet (`fleet`, bench/lib/fleet.ts, all pinned to CPU 1, at most 5000 connections each,
 * each group of 4000 from its own 127.x.y.z source address). Every round starts a fresh server
 * and fresh client processes per system (order rotated).
 */
import { fileURLToPath } from 'node:url';
import { canPin, startChild, type Peer } from './lib/child.js';
import {
  CONCURRENCY,
  FLEET_ROLE,
  Fleet,
  PER_ADDRESS,
  PER_PROCESS,
  fleetClientChild,
  type GrowResult,
} from './lib/fleet.js';
import { QUICK, atLeast, atMost, report, spread, type Check } from './lib/harness.js';
import {
  SYSTEMS,
  isServerKind,
  serverChild,
  sleep,
  type IdleWindow,
  type MemoryReading,
  type PeerServerOptions,
  type ServerCounts,
  type System,
} from './lib/memory-peers.js';

const SIZES = QUICK ? [1000, 5000] : [1000, 5000, 15_000];
const LARGEST = SIZES[SIZES.length - 1]!;
const ROUNDS = QUICK ? 1 : 2;
/** Every system's heartbeat interval here (the probe: 15k connections pinged every 5 s). */
const HB_MS = 5000;
/** Whole intervals in the heartbeat window. */
const HB_INTERVALS = QUICK ? 2 : 4;
/** The idle CPU baseline: the same server with no connection, over this long. */
const BASE_MS = QUICK ? 3000 : 5000;
const WARMUP_CONNECTIONS = 200;
/** The model's size. */
const MODEL_N = 100_000;
/** resilient-ws's default heartbeat interval (src/config/schema.ts, heartbeatInterval). */
const DEFAULT_HB_MS = 25_000;
const SELF = fileURLToPath(import.meta.url);
const SERVER_ARGS = ['--expose-gc', '--max-old-space-size=4096'];

type Measured = MemoryReading & { counts: ServerCounts };

interface SizeReading {
  n: number;
  grow: GrowResult;
  /** Sessions / connections the server holds at the reading. */
  established: number;
  mem: Measured;
}

interface SystemRound {
  system: System;
  round: number;
  base: Measured;
  baseIdle: IdleWindow;
  sizes: SizeReading[];
  /** The heartbeat window at the largest size (undefined when that size was not reached). */
  hb?: IdleWindow;
  heapSlope: number;
  rssSlope: number;
  /** Server CPU per connection per heartbeat interval, µs (idle rate subtracted). */
  hbUsPerConnInterval: number;
  error?: string;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

/** Whether the server holds what the system counts as done, and nothing left over. */
const isEmpty = (c: ServerCounts): boolean =>
  c.established === 0 &&
  c.connections === 0 &&
  (c.extra.storeSessions ?? 0) === 0 &&
  (c.extra.recoverySessions ?? 0) === 0;

async function waitFor(
  server: Peer,
  what: string,
  pred: (c: ServerCounts) => boolean,
  timeoutMs = 60_000,
): Promise<ServerCounts> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await server.call<ServerCounts>('counts');
    if (pred(c)) return c;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(c)}`);
    await sleep(200);
  }
}

async function measureSystem(system: System, round: number): Promise<SystemRound> {
  const server = startChild<{ url: string }>(
    SELF,
    ['server', system, JSON.stringify({ heartbeatMs: HB_MS, maxConnections: 20_000 })],
    { cpu: 0, execArgv: SERVER_ARGS, name: `server ${system}` },
  );
  let fleet: Fleet | undefined;
  const sizes: SizeReading[] = [];
  try {
    const { url } = await server.ready;
    fleet = await Fleet.start({ script: SELF, args: [FLEET_ROLE], system, max: LARGEST, cpu: 1 });
    // Warm-up: code and lazy structures loaded; closed gracefully, so nothing is left.
    await fleet.grow(url, WARMUP_CONNECTIONS);
    await waitFor(server, 'warm-up', (c) => c.established === WARMUP_CONNECTIONS);
    await fleet.closeAll(true);
    await waitFor(server, 'warm-up to close', isEmpty);
    await sleep(200);
    const base = await server.call<Measured>('measure');
    const baseIdle = await server.call<IdleWindow>('idle', { ms: BASE_MS });
    let error: string | undefined;
    for (const n of SIZES) {
      const grow = await fleet.grow(url, n);
      if (grow.failed > 0) {
        error = `${system}: ${grow.failed} of ${n - (fleet.total - grow.opened)} connections failed at ${n}: ${grow.errors.join('; ')}`;
        const c = await server.call<ServerCounts>('counts');
        sizes.push({ n, grow, established: c.established, mem: { ...base, counts: c } });
        break;
      }
      const c = await waitFor(server, `${n} established`, (x) => x.established === n, 30_000);
      await sleep(1000);
      const mem = await server.call<Measured>('measure');
      sizes.push({ n, grow, established: c.established, mem });
      console.error(
        `round ${round} ${system} ${n}: heap ${((mem.heap - base.heap) / n / 1024).toFixed(2)} KB/conn, ` +
          `RSS ${((mem.rss - base.rss) / n / 1024).toFixed(2)} KB/conn, ` +
          `${grow.rate.toFixed(0)} conn/s (${grow.retries} retries)`,
      );
    }
    let hb: IdleWindow | undefined;
    let hbUs = NaN;
    if (error === undefined) {
      // One whole interval first, so the pings after the connect burst have spread out.
      await sleep(HB_MS);
      hb = await server.call<IdleWindow>('idle', { ms: HB_INTERVALS * HB_MS });
      const idleUs = (baseIdle.cpuUs / baseIdle.wallMs) * hb.wallMs;
      const intervals = hb.wallMs / HB_MS;
      hbUs = (hb.cpuUs - idleUs) / (LARGEST * intervals);
      if (hb.counts.established !== LARGEST)
        error = `${system}: ${hb.counts.established} of ${LARGEST} still established after the heartbeat window`;
      console.error(
        `round ${round} ${system}: heartbeat ${hbUs.toFixed(1)} µs/conn/interval, ` +
          `event-loop delay p99 ${hb.eldP99Ms.toFixed(1)} ms`,
      );
    }
    const xs = sizes.map((s) => s.n);
    return {
      system,
      round,
      base,
      baseIdle,
      sizes,
      ...(hb === undefined ? {} : { hb }),
      heapSlope:
        xs.length >= 2
          ? slope(
              xs,
              sizes.map((s) => s.mem.heap),
            )
          : NaN,
      rssSlope:
        xs.length >= 2
          ? slope(
              xs,
              sizes.map((s) => s.mem.rss),
            )
          : NaN,
      hbUsPerConnInterval: hbUs,
      ...(error === undefined ? {} : { error }),
    };
  } finally {
    // Clients first (their processes end, and their connections with them), then the server.
    await fleet?.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  // A hard bound: a wedged child must not hang the suite (children exit with their parent).
  const guard = setTimeout(
    () => {
      console.error('connections: timed out');
      process.exit(2);
    },
    QUICK ? 300_000 : 900_000,
  );
  guard.unref();
  const results: SystemRound[] = [];
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < SYSTEMS.length; k++)
      results.push(await measureSystem(SYSTEMS[(r + k) % SYSTEMS.length]!, r));
  const seconds = (Date.now() - t0) / 1000;

  const of = (s: System): SystemRound[] => results.filter((x) => x.system === s);
  const rounds = (s: System, f: (x: SystemRound) => number): number[] => of(s).map(f);
  const med = (v: number[]): number => spread(v).median;
  const kb = (b: number): number => b / 1024;
  // Ratios round by round: the systems of one round ran back to back.
  const ratios = (f: (x: SystemRound) => number, other: System): number[] =>
    of('resilient-ws').map((x, i) => f(x) / f(of(other)[i]!));
  const heapVsWs = ratios((x) => x.heapSlope, 'ws');
  const heapVsSio = ratios((x) => x.heapSlope, 'socket.io');
  const rssVsWs = ratios((x) => x.rssSlope, 'ws');
  const hbVsWs = ratios((x) => x.hbUsPerConnInterval, 'ws');
  const hbVsSio = ratios((x) => x.hbUsPerConnInterval, 'socket.io');
  const rateAt = (x: SystemRound, n: number): number =>
    x.sizes.find((s) => s.n === n)?.grow.rate ?? NaN;
  const welcomed = (x: SystemRound): number =>
    x.sizes.find((s) => s.n === LARGEST)?.established ?? x.sizes.at(-1)?.established ?? 0;
  const range = (v: number[], f: (x: number) => string): string => {
    const s = spread(v);
    return s.n > 1 ? `${f(s.min)}–${f(s.max)}` : f(s.median);
  };
  const f2 = (x: number): string => x.toFixed(2);
  const f1 = (x: number): string => x.toFixed(1);

  // The 100k model, from the medians of the measured slopes (a model, not a measurement).
  const model = Object.fromEntries(
    SYSTEMS.map((s) => {
      const heapSlope = med(rounds(s, (x) => x.heapSlope));
      const rssSlope = med(rounds(s, (x) => x.rssSlope));
      const baseHeap = med(rounds(s, (x) => x.base.heap));
      const baseRss = med(rounds(s, (x) => x.base.rss));
      const hbUs = med(rounds(s, (x) => x.hbUsPerConnInterval));
      return [
        s,
        {
          heapMB: (baseHeap + heapSlope * MODEL_N) / 2 ** 20,
          rssMB: (baseRss + rssSlope * MODEL_N) / 2 ** 20,
          /** Share of one core spent on heartbeats at the default 25 s interval. */
          hbCoreShareAtDefault: (hbUs * MODEL_N) / (DEFAULT_HB_MS * 1000),
          hbCoreShareAtProbe: (hbUs * MODEL_N) / (HB_MS * 1000),
          connectSeconds: MODEL_N / med(rounds(s, (x) => rateAt(x, LARGEST))),
        },
      ];
    }),
  ) as unknown as Record<System, Record<string, number>>;

  const sizeNote = `sizes ${SIZES.join(', ')}, ${ROUNDS} round(s)`;
  const quickNote = `quick mode: ${sizeNote}, heartbeat window ${HB_INTERVALS} × ${HB_MS / 1000} s; full mode: 1k, 5k, 15k, 2 rounds, 4 intervals`;
  const rwsRounds = of('resilient-ws');
  const checks: Check[] = [
    atLeast(
      `resilient-ws sessions welcomed at ${LARGEST} (fewest over rounds, share)`,
      Math.min(...rwsRounds.map((x) => welcomed(x) / LARGEST)),
      1,
      QUICK ? quickNote : undefined,
    ),
    // Quick: the slope over 1k → 5k from one round. memory-per-connection's quick gate saw
    // 1.25–1.31 at 1000 connections with its full run at 1.28: the bar (1.3) would trip on noise.
    // 1.4 still catches a gross regression (a closure keeping the upgrade request: +45 %).
    atMost(
      'heap per connection (slope): resilient-ws / raw ws (median of rounds)',
      med(heapVsWs),
      QUICK ? 1.4 : 1.3,
      QUICK
        ? `${quickNote}; gate 1.4 as memory-per-connection's quick gate (one short round reads ±5 % around the full figure); bar 1.3 checked in full mode`
        : undefined,
    ),
    // The bar holds in every run: the worst round is checked (full mode: bar 1.0). Quick: one
    // round at 5k over two intervals on a shared 2-core VM. The full bar is missed today
    // (docs/performance.md, Known gaps): the quick gate guards the heartbeat's design instead,
    // the server pinging at the last tick before the interval so the SDK only answers (one
    // exchange per interval: 1.24–1.85 in three quick runs). With the server pinging after
    // the interval the SDK's own pings raced it: 3.0 in a quick run (1.7–2.0 at 15k in a
    // full run). The gate is 2.2.
    atMost(
      'heartbeat CPU per connection per interval: resilient-ws / raw ws protocol pings (worst round)',
      Math.max(...hbVsWs),
      QUICK ? 2.2 : 1.0,
      QUICK
        ? `${quickNote}; gate 2.2 guards one exchange per interval (1.24–1.85 in quick runs; 3.0 when the SDK's pings raced the server's); bar 1.0 checked in full mode`
        : undefined,
    ),
  ];
  const errors = results.flatMap((x) => (x.error === undefined ? [] : [x.error]));
  for (const e of errors) console.error(e);

  const rows: (string | number)[][] = SYSTEMS.map((s) => [
    s,
    kb(med(rounds(s, (x) => x.heapSlope))),
    range(
      rounds(s, (x) => kb(x.heapSlope)),
      f2,
    ),
    kb(med(rounds(s, (x) => x.rssSlope))),
    range(
      rounds(s, (x) => kb(x.rssSlope)),
      f2,
    ),
    ...SIZES.map((n) => med(rounds(s, (x) => rateAt(x, n)))),
    `${Math.min(...rounds(s, welcomed))} / ${LARGEST}`,
    med(rounds(s, (x) => x.hbUsPerConnInterval)),
    range(
      rounds(s, (x) => x.hbUsPerConnInterval),
      f1,
    ),
    med(rounds(s, (x) => x.hb?.eldP99Ms ?? NaN)),
    med(rounds(s, (x) => x.baseIdle.eldP99Ms)),
  ]);
  const dash = (n: number): string[] => Array.from({ length: n }, () => '—');
  const ratioCell = (v: number[]): string => `${f2(med(v))} (${range(v, f2)})`;
  const width = 10 + SIZES.length;
  rows.push(
    [
      'ratio resilient-ws / ws: heap, RSS',
      ratioCell(heapVsWs),
      '',
      ratioCell(rssVsWs),
      '',
      ...dash(width - 5),
    ],
    ['ratio resilient-ws / Socket.IO: heap', ratioCell(heapVsSio), ...dash(width - 2)],
    [
      'ratio resilient-ws / ws: heartbeat CPU',
      ...dash(4 + SIZES.length + 1),
      ratioCell(hbVsWs),
      '',
      ...dash(2),
    ],
    [
      'ratio resilient-ws / Socket.IO: heartbeat CPU',
      ...dash(4 + SIZES.length + 1),
      ratioCell(hbVsSio),
      '',
      ...dash(2),
    ],
    ...SYSTEMS.map((s) => [
      `model at ${MODEL_N / 1000}k (${s}): heap MB, RSS MB, connect s, heartbeat core share at 25 s`,
      model[s].heapMB!,
      '',
      model[s].rssMB!,
      '',
      model[s].connectSeconds!,
      ...dash(SIZES.length - 1),
      '',
      `${(model[s].hbCoreShareAtDefault! * 100).toFixed(1)} % of a core`,
      '',
      ...dash(2),
    ]),
  );

  report({
    row: 'connections per node',
    name: 'connections',
    title: 'Connections per node',
    method:
      `Each server in its own process pinned to CPU 0 (--expose-gc), as users run it, every system's heartbeat at ${HB_MS / 1000} s: ` +
      `resilient-ws createServer({ metrics: true, heartbeatInterval: ${HB_MS}, maxConnections: 20000 }) with the product defaults otherwise (a connection counts once ` +
      `the SDK's hello was answered by welcome: a session), raw ws 8 on node:http with the ws README's heartbeat (one timer; a WebSocket ` +
      `protocol ping to every client each interval, a client that missed its pong terminated), Socket.IO 4.8 with connectionStateRecovery ` +
      `(120 s), websocket transport, pingInterval ${HB_MS} (counts at 'connect'). Clients (bench/lib/fleet.ts): the resilient-ws SDK ` +
      `(ResilientClient, defaults), ws clients, socket.io-client (forceNew); ${CONCURRENCY} handshakes in flight per client process, ` +
      `at most ${PER_PROCESS} connections per process and ${PER_ADDRESS} per 127.x.y.z source address, every client process pinned to CPU 1 ` +
      `(${canPin() ? 'taskset' : 'not pinned: no taskset'}). This machine caps a process at 20 000 open files (hard), so ${LARGEST} is the largest ` +
      `size measured and 100k is a model. ${ROUNDS} round(s), systems in rotated order, a fresh server and fresh client processes per system ` +
      `and round: ${WARMUP_CONNECTIONS} connections opened and closed gracefully (warm-up), a baseline reading (heapUsed after global.gc() ` +
      `twice, RSS at the same moment) and ${BASE_MS / 1000} s of server CPU with no connection (the idle rate), then the fleet grows to ` +
      `${SIZES.join(', ')} connections; at each size, once the server holds them all and 1 s later, a reading. Heap and RSS per connection: ` +
      `the least-squares slope of the readings over the sizes. Connect rate: connections established (rws: welcomed) per second of the ` +
      `parent's wall time for each step (the column names the size reached; the step from the previous size). Heartbeat CPU: at ${LARGEST}, ` +
      `after one more interval, the server's user+system CPU over ${HB_INTERVALS} × ${HB_MS / 1000} s, minus the idle rate times the window, ` +
      `per connection per interval (rws: the SDK pings after an interval of its own silence and the server after an interval of its own, ` +
      `each answered; raw ws: one protocol ping/pong; Socket.IO: engine.io's ping/pong). Event-loop delay: perf_hooks monitorEventLoopDelay ` +
      `(10 ms resolution) over that window, and over the idle window with no connection. Ratios are taken round by round. Model at ` +
      `${MODEL_N / 1000}k: baseline + slope × ${MODEL_N} (heap, RSS), ${MODEL_N} / the connect rate of the largest step, heartbeat CPU × ${MODEL_N} ` +
      `per 25 s (resilient-ws's default heartbeatInterval) as a share of one core: a linear extrapolation from ≤ ${LARGEST} connections, not ` +
      `a measurement. The VM has 2 cores, shared with other work: CPU and rate figures are noisy. Wall time of the run: ${seconds.toFixed(0)} s.`,
    table: {
      columns: [
        'system',
        'heap KB/conn (slope, median)',
        'heap min–max',
        'RSS KB/conn (slope, median)',
        'RSS min–max',
        ...SIZES.map((n) => `connect conn/s to ${n}`),
        `established at ${LARGEST} (fewest)`,
        `heartbeat µs CPU/conn/interval at ${LARGEST}`,
        'heartbeat min–max',
        `event-loop delay p99 ms, idle at ${LARGEST}`,
        'event-loop delay p99 ms, no connection',
      ],
      rows,
    },
    checks,
    data: {
      sizes: SIZES,
      rounds: ROUNDS,
      heartbeatMs: HB_MS,
      heartbeatIntervals: HB_INTERVALS,
      seconds,
      ratios: { heapVsWs, heapVsSio, rssVsWs, hbVsWs, hbVsSio },
      model: { n: MODEL_N, defaultHeartbeatMs: DEFAULT_HB_MS, bySystem: model, isModel: true },
      errors,
      results,
    },
  });
}

const role = process.argv[2];
if (role === 'server') {
  const kind = process.argv[3];
  if (!isServerKind(kind)) throw new Error(`unknown server ${kind}`);
  await serverChild(kind, JSON.parse(process.argv[4] ?? '{}') as PeerServerOptions);
} else if (role === FLEET_ROLE) {
  fleetClientChild();
} else {
  await main();
}
