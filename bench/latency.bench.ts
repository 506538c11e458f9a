/**
 * Latency (docs/performance.md "Bars", row "latency"): one-way server → client latency at a fixed
 * offered load of 10 000 msg/s over 100 connections, p50 / p99 / p99.9, for resilient-ws (full
 * reliability layer, metrics on), raw `ws` and Socket.IO with connection-state recovery.
 *
 * The processes and the clients are those of the push benchmark (bench/lib/e2e.ts): per
 * system one server and one client process, servers pinned to CPU 0 and clients to CPU 1.
 * Two shapes of the same 10 000 msg/s: every 10 ms one ~100 B message to each of the 100
 * connections, and every 1 ms one message to each of the next 10 connections in turn. Each
 * message carries the tick's process.hrtime.bigint() (the instant the application produced
 * it), and the client reads the same clock (CLOCK_MONOTONIC, system-wide on Linux) after
 * decoding it. resilient-ws's client is the real SDK (counted at its `message` callback).
 */
import {
  WINDOW,
  startPairs,
  stopPairs,
  type ClientResult,
  type PaceResult,
  type Pair,
  type E2eBaseSystem,
} from './lib/e2e.js';
import { canPin } from './lib/child.js';
import { QUICK, atLeast, atMost, report, spread, type Check } from './lib/harness.js';

const CONNS = 100;
const RATE = 10_000; // msg/s
const BYTES = 100;
/** The two shapes of the offered load: messages per tick and the tick. */
interface Shape {
  tickMs: number;
  perTick: number;
  /** Ticks per round: 0.5 s of load per system per round. Many short rounds rather than a few
   *  long ones: on a shared machine the interference comes in bursts of seconds, and short
   *  rotated rounds spread it over all three systems (1.5 s rounds gave per-round p99 ratios
   *  with an IQR of 0.7–4.7 under load). */
  ticks: number;
  label: string;
}
const SHAPES: readonly Shape[] = [
  { tickMs: 10, perTick: 100, ticks: 50, label: '100 every 10 ms' },
  { tickMs: 1, perTick: 10, ticks: 500, label: '10 every 1 ms' },
];
const ROUNDS = QUICK ? 10 : 45;
const WARMUP = QUICK ? 2 : 3;
/** A round whose achieved offered rate is further than this from RATE is void. */
const RATE_TOLERANCE = 0.03;
/** Void rounds are run again, at most this many times in all. A void round means the server's
 *  ticks ran late (10 000 msg/s is a small fraction of what each system can send), which is the
 *  machine's load, not a regression; quick mode (the CI gate) allows more of them (3 tripped
 *  on a shared CI machine). */
const MAX_VOID = QUICK ? 12 : 8;

/**
 * The systems: full mode adds resilient-ws with a hand-written protocol client (context:
 * the SDK's share of the latency, never checked).
 */
type System = Exclude<E2eBaseSystem, 'ws-batched'>;
const SYSTEMS: readonly System[] = process.env.BENCH_E2E_SYSTEMS
  ? (process.env.BENCH_E2E_SYSTEMS.split(',') as System[]) // diagnostics: no checks then
  : ['resilient-ws', 'ws', 'socket.io', ...(QUICK ? [] : (['resilient-ws-lite'] as const))];
type PerSystem<T> = Record<System, T[]>;
const perSystem = <T>(): PerSystem<T> => ({
  'resilient-ws': [],
  ws: [],
  'socket.io': [],
  'resilient-ws-lite': [],
});

function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface RoundFigures {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

const started = Date.now();
const pin = canPin();
const base = String(process.hrtime.bigint());

interface ShapeRun {
  shape: Shape;
  /** Every sample of the recorded rounds, µs, per system. */
  pooled: PerSystem<Float64Array>;
  rounds: PerSystem<RoundFigures>;
  paces: PerSystem<PaceResult>;
  clientCpu: PerSystem<number>;
  voids: string[];
}
const runs: ShapeRun[] = [];
const failures: string[] = [];

let pairs: Pair<System>[] = [];
try {
  pairs = await startPairs(CONNS, SYSTEMS);
  for (const shape of SHAPES) {
    const run: ShapeRun = {
      shape,
      pooled: perSystem(),
      rounds: perSystem(),
      paces: perSystem(),
      clientCpu: perSystem(),
      voids: [],
    };
    runs.push(run);
    const perConn = (shape.ticks * shape.perTick) / CONNS;
    let recorded = 0;
    for (let r = 0; recorded < ROUNDS; r++) {
      const round: {
        system: System;
        pace: PaceResult;
        figures: RoundFigures;
        samples: Float64Array;
        cpu: number;
      }[] = [];
      for (let k = 0; k < pairs.length; k++) {
        const p = pairs[(r + k) % pairs.length]!;
        await p.client.call('arm', { perConn, latency: true, base });
        const pace = await p.server.call<PaceResult>('pace', {
          ticks: shape.ticks,
          tickMs: shape.tickMs,
          perTick: shape.perTick,
          bytes: BYTES,
          base,
        });
        // The server answers once every message it sent was acked, so the client has them
        // all; the short wait is only for a client that is missing some.
        const cli = await p.client.call<ClientResult>('wait', { timeoutMs: 5000 });
        const wrong = [
          ...(cli.received !== pace.sent ? [`sent ${pace.sent}, delivered ${cli.received}`] : []),
          ...(p.system === 'socket.io' && pace.stored !== pace.sent
            ? [`Socket.IO stored ${pace.stored} packets for recovery, sent ${pace.sent}`]
            : []),
          ...pace.problems,
          ...cli.problems,
        ];
        if (wrong.length > 0)
          throw new Error(`${shape.label}, ${p.system}, round ${r}: ${wrong.join('; ')}`);
        const samples = Float64Array.from(cli.samples!).sort();
        round.push({
          system: p.system,
          pace,
          samples,
          cpu: cli.cpuUs,
          figures: {
            p50: quantile(samples, 0.5),
            p99: quantile(samples, 0.99),
            p999: quantile(samples, 0.999),
            max: samples[samples.length - 1]!,
          },
        });
      }
      if (r < WARMUP) continue;
      // The offered load must be what was asked, for every system of the round.
      const off = round.filter(
        (x) => x.pace.stalled > 0 || Math.abs(x.pace.rate / RATE - 1) > RATE_TOLERANCE,
      );
      if (off.length > 0) {
        run.voids.push(
          `round ${r}: ${off.map((x) => `${x.system} ${x.pace.rate.toFixed(0)} msg/s, ${x.pace.stalled} stalled`).join('; ')}`,
        );
        console.error(`void (${shape.label}) ${run.voids.at(-1)}`);
        if (run.voids.length > MAX_VOID)
          throw new Error(`${shape.label}: too many void rounds (${run.voids.length})`);
        continue;
      }
      recorded++;
      for (const x of round) {
        run.rounds[x.system].push(x.figures);
        run.paces[x.system].push(x.pace);
        run.pooled[x.system].push(x.samples);
        run.clientCpu[x.system].push(x.cpu / x.pace.sent);
      }
    }
  }
} catch (error) {
  failures.push(String(error));
  console.error(`FAILED: ${String(error)}`);
} finally {
  await stopPairs(pairs);
}
const seconds = (Date.now() - started) / 1000;

// ---- report ----
const NAMES: Record<System, string> = {
  'resilient-ws': 'resilient-ws (metrics on, SDK client)',
  ws: 'raw ws',
  'socket.io': 'Socket.IO + recovery',
  'resilient-ws-lite': 'resilient-ws (metrics on, hand-written client)',
};
const ms = (us: number) => us / 1000;
const rows: (string | number)[][] = [];
const checks: Check[] = [];
const summary: Record<string, Record<string, unknown>> = {};
const complete = (run: ShapeRun) => SYSTEMS.every((s) => run.rounds[s].length === ROUNDS);
for (const run of runs) {
  if (!complete(run)) continue;
  const { shape } = run;
  const sum: Record<string, unknown> = {};
  summary[shape.label] = sum;
  for (const s of SYSTEMS) {
    const all = new Float64Array(run.pooled[s].reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of run.pooled[s]) {
      all.set(x, o);
      o += x.length;
    }
    all.sort();
    const fig = {
      samples: all.length,
      p50: ms(quantile(all, 0.5)),
      p99: ms(quantile(all, 0.99)),
      p999: ms(quantile(all, 0.999)),
      max: ms(all[all.length - 1]!),
      rate: spread(run.paces[s].map((x) => x.rate)).median,
      lagP99: spread(run.paces[s].map((x) => x.lagP99)).median,
      workP50: spread(run.paces[s].map((x) => x.workP50)).median,
      workP99: spread(run.paces[s].map((x) => x.workP99)).median,
      serverCpuPer1M: spread(run.paces[s].map((x) => x.cpuUs / x.sent)).median,
      clientCpuPer1M: spread(run.clientCpu[s]).median,
      roundP99: spread(run.rounds[s].map((x) => ms(x.p99))),
    };
    sum[s] = fig;
    rows.push([
      shape.label,
      NAMES[s],
      fig.samples,
      fig.p50,
      fig.p99,
      fig.p999,
      fig.max,
      `${fig.roundP99.q1.toFixed(2)}–${fig.roundP99.q3.toFixed(2)}`,
      fig.rate,
      fig.lagP99,
      `${fig.workP50.toFixed(2)} / ${fig.workP99.toFixed(2)}`,
      fig.serverCpuPer1M,
    ]);
  }
  const rounds = run.rounds;
  // A diagnostic run of some systems only (BENCH_E2E_SYSTEMS): their rows, no ratio.
  if (!(['resilient-ws', 'ws', 'socket.io'] as const).every((x) => SYSTEMS.includes(x))) continue;
  const ratio = (a: System, b: System) =>
    spread(rounds[a].map((x, i) => x.p99 / rounds[b][i]!.p99));
  // The least-disturbed rounds: interference (other processes on the two cores) only adds
  // latency, so the lower quartile of each system's per-round p99 is the most robust figure.
  const calm = (a: System, b: System) =>
    spread(rounds[a].map((x) => x.p99)).q1 / spread(rounds[b].map((x) => x.p99)).q1;
  const vsWs = ratio('resilient-ws', 'ws');
  const vsSio = ratio('resilient-ws', 'socket.io');
  const calmWs = calm('resilient-ws', 'ws');
  const calmSio = calm('resilient-ws', 'socket.io');
  const p50Ws = spread(rounds['resilient-ws'].map((x, i) => x.p50 / rounds.ws[i]!.p50));
  sum.ratios = { vsWs, vsSio, calmWs, calmSio, p50Ws };
  const iqr = (x: { q1: number; q3: number }) => `IQR ${x.q1.toFixed(2)}–${x.q3.toFixed(2)}`;
  const ratioRow = (name: string, value: number, spreadText: string) => [
    shape.label,
    name,
    '—',
    '—',
    value,
    spreadText,
    '—',
    '—',
    '—',
    '—',
    '—',
    '—',
  ];
  rows.push(
    ratioRow('p99 ratio resilient-ws / raw ws (per round, median)', vsWs.median, iqr(vsWs)),
    ratioRow('p99 ratio resilient-ws / Socket.IO (per round, median)', vsSio.median, iqr(vsSio)),
    ratioRow('p99 ratio resilient-ws / raw ws, calmest quarter of rounds (q1 / q1)', calmWs, '—'),
    ratioRow(
      'p99 ratio resilient-ws / Socket.IO, calmest quarter of rounds (q1 / q1)',
      calmSio,
      '—',
    ),
    ratioRow(
      'p50 ratio resilient-ws / raw ws (per round, median), for context',
      p50Ws.median,
      iqr(p50Ws),
    ),
  );
  if (SYSTEMS.includes('resilient-ws-lite')) {
    const sdk = ratio('resilient-ws', 'resilient-ws-lite');
    sum.ratios = { ...(sum.ratios as object), sdkVsLite: sdk };
    rows.push(
      ratioRow(
        'p99 ratio SDK client / hand-written client, both on resilient-ws (per round, median), for context',
        sdk.median,
        iqr(sdk),
      ),
    );
  }
  if (QUICK) {
    // Quick mode (the CI gate): 10 rounds of 0.5 s. With other jobs on the two cores,
    // preemption stalls of 5–50 ms set the p99 of most rounds (per-round ratio IQRs of
    // 0.49–2.94 vs raw ws and 0.26–1.14 vs Socket.IO observed, while the p50s held steady),
    // so the gate compares the calmest quarter of rounds (lower quartile of per-round p99).
    // That figure read 1.05–1.94 vs raw ws over the runs observed, hence a margin of 3: a gate
    // against a gross regression (a flush put off by a timer, a per-send cost growing with the
    // connections), not the bar, which full mode checks. The ratio to Socket.IO is reported
    // and not gated here: it read 0.74–1.06 on calm machines and tripped a 1.25 gate on a
    // shared CI machine, it measures the peer's tail as much as ours, and a regression of our
    // own shows against raw ws first.
    checks.push(
      atMost(
        `p99 resilient-ws / raw ws, ${shape.label} (calmest quarter of rounds)`,
        calmWs,
        3,
        `quick mode: ${ROUNDS} rounds of ${(shape.ticks * shape.tickMs) / 1000} s on a shared 2-core VM, lower quartile of per-round p99 (observed 1.05–1.94); a gross-regression gate, full mode checks the bar`,
      ),
    );
  } else {
    checks.push(
      atMost(
        `p99 resilient-ws / raw ws, ${shape.label} (median of per-round ratios)`,
        vsWs.median,
        1.5,
      ),
      atMost(
        `p99 resilient-ws / Socket.IO + recovery, ${shape.label} (median of per-round ratios)`,
        vsSio.median,
        0.5,
      ),
    );
  }
  checks.push(
    atLeast(
      `samples per system, ${shape.label} (enough for p99.9)`,
      Math.min(...SYSTEMS.map((s) => (sum[s] as { samples: number }).samples)),
      QUICK ? 45_000 : 50_000,
    ),
  );
}
checks.push(
  atMost(
    'rounds that lost, repeated or reordered a message, or did not complete',
    failures.length + SHAPES.length - runs.filter(complete).length,
    0,
  ),
);

const voids = runs.flatMap((r) => r.voids.map((v) => `${r.shape.label}: ${v}`));
report({
  name: 'latency',
  title: 'Latency: one-way p50 / p99 / p99.9 at 10 000 msg/s over 100 connections',
  row: 'latency',
  method:
    `Per system one server process and one client process (the processes, clients and flow control of the end-to-end push benchmark: bench/lib/e2e.ts), ` +
    `${pin ? 'servers pinned to CPU 0 and clients to CPU 1 with taskset' : 'not pinned (no taskset here)'}; ${CONNS} connections per system. ` +
    `Offered load, ${RATE} msg/s in two shapes, each on a fixed schedule (tick k due at start + k × the tick, so late ticks do not drift the rate; a tick that is already due still yields to the event loop first, as a separate event would): ` +
    `every 10 ms one ≤ ${BYTES} B JSON message to each of the ${CONNS} connections, and every 1 ms one to each of the next 10 connections in turn. ` +
    `resilient-ws with server.send(sid, data) (createServer({ metrics: true })), its client the real SDK (one ResilientClient per connection, the sample taken in its 'message' callback); ` +
    `raw ws with ws.send(JSON.stringify(msg)), Socket.IO 4.8 with connection-state recovery (maxDisconnectionDuration 120 s, websocket transport) with socket.emit('m', msg). ` +
    `Each message carries process.hrtime.bigint() read when its tick fired (all messages of a tick are produced at that instant, then handed to the library one connection after another); ` +
    `the client reads the same clock (CLOCK_MONOTONIC is system-wide on Linux) after JSON-decoding it: one-way latency, including each library's work for the messages handed to it before, ` +
    `its batching and the client's decode; the tick's own lateness is not counted (reported as tick lag). Clients ack with the SDK's policy (64 messages or 25 ms), window ${WINDOW} (never reached at this load). ` +
    `${ROUNDS} paired rounds (+${WARMUP} warm-up) of 0.5 s per system and shape, every system once per round, order rotated; ` +
    `a round whose achieved offered rate (messages sent / elapsed ticks) is off by more than ${RATE_TOLERANCE * 100} % for any system, or that had to skip a send, is void and run again (${voids.length} void). ` +
    `Percentiles of all samples pooled per system; full mode checks the median of the per-round p99 ratios, quick mode the ratio of the lower quartiles of per-round p99 (the calmest rounds). ` +
    `"tick lag p99" is how late the server's ticks fired (its own event-loop delay); "server tick work" is the time from a tick to the check phase after its last send completed ` +
    `(every message of the tick handed to the socket, resilient-ws's end-of-turn flush included), both for context. Run time ${seconds.toFixed(0)} s.`,
  table: {
    columns: [
      'shape',
      'system',
      'samples',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'per-round p99 IQR, ms',
      'achieved msg/s',
      'tick lag p99 ms',
      'server tick work p50 / p99 ms',
      'server CPU s per 1M msgs',
    ],
    rows,
  },
  checks,
  data: {
    summary,
    runs: runs.map((r) => ({
      shape: r.shape,
      rounds: r.rounds,
      paces: r.paces,
      clientCpuPer1M: r.clientCpu,
      voids: r.voids,
    })),
    failures,
    seconds,
    pinned: pin,
  },
});
