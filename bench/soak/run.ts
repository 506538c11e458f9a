/**
 * `npm run soak`: a bounded soak test on loopback (docs/performance.md "Soak test").
 *
 *   node dist/bench/soak/run.js [--duration 10m] [--clients 2000] [--procs 2] [--seed N] [--out F]
 *
 * One resilient-ws server process (pinned to CPU 0, `--expose-gc`) and `--procs` client
 * processes (CPU 1) holding `--clients` SDK clients between them, under a steady load for
 * `--duration` (default 10 min; `SOAK_DURATION`): HTTP publishes, client messages, dropped
 * sockets, reloads (a new SDK instance resuming the session) and ended sessions replaced by
 * new ones. The server samples itself every interval (heap after GC, RSS, file descriptors,
 * event-loop delay, CPU). Then the load stops, every session drains, and the run checks:
 *
 * - delivery: every message the server accepted for a session reached that session's client
 *   exactly once and in order (0 lost, 0 duplicated, 0 reordered, 0 misdelivered), every
 *   resume was complete, every client message was answered once, by one handler call;
 * - resources: after the warm-up, heap, RSS, descriptors beyond the connections and
 *   event-loop delay are flat (bounds below, reasons in the docs);
 * - that the load really ran (at least half of each planned rate).
 *
 * It prints a summary table, writes a JSON and a markdown report (bench/results/soak/ for a
 * run of the default length or longer, else bench/results/quick/soak/, which git ignores),
 * and exits 1 when a check fails. It stops by itself: every wait has a deadline, and it stops
 * only the processes it started (by their handles).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canPin, startChild, type Peer } from '../lib/child.js';
import {
  afterWarmup,
  atLeast,
  exactly,
  flatChecks,
  fmt,
  ratioCheck,
  table,
  trend,
  type Check,
  type FlatBound,
  type ServerSample,
  type Trend,
} from './analysis.js';
import {
  SOAK_DEDUP_WINDOW_MS,
  addTotals,
  emptyTotals,
  sleep,
  type ClientReport,
  type ClientTotals,
  type LoadSettings,
  type ServerCounters,
} from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..', '..');
const MB = 1024 * 1024;

/** The default run: 10 minutes. Shorter runs (CI's 60 s) write under bench/results/quick. */
const DEFAULT_DURATION_S = 600;

/**
 * "Flat", per resource, for the samples after the warm-up (docs/performance.md "Soak test"
 * says why these values). A bound holds when both the least-squares slope and the growth
 * from the first third's median to the last third's are within it.
 */
export const BOUNDS = {
  /** V8 heap used after two full GCs: what the JavaScript side retains. */
  heapMb: { slopePerMin: 2, growth: 2 },
  /** RSS less V8's committed heap: native memory (socket buffers, zlib, malloc). */
  nativeMb: { slopePerMin: 6, growth: 8 },
  /** RSS, V8's young generation included (it grows to the load over minutes). */
  rssMb: { slopePerMin: 24, growth: 48 },
  /** Descriptors beyond the WebSocket connections (HTTP keep-alive sockets come and go). */
  extraFds: { slopePerMin: 20, growth: 20 },
  /** Event-loop delay p99 per interval, ms: only the growth, beyond what neighbours cause. */
  eldP99Ms: { slopePerMin: Infinity, growth: 250 },
} satisfies Record<string, FlatBound>;

/** Server CPU per operation: the last third's median at most this many times the first's. */
export const CPU_PER_OP_RATIO = 1.5;

// ---------------------------------------------------------------------------------------
// Options

function seconds(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (m === null)
    throw new Error(`${name}: expected a duration like 60, 60s, 10m or 1h, got "${text}"`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function int(text: string, name: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`${name}: expected an integer ≥ ${min}, got "${text}"`);
  return n;
}

function num(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name}: expected a number ≥ 0, got "${text}"`);
  return n;
}

interface Options {
  durationS: number;
  warmupS: number;
  intervalS: number;
  clients: number;
  procs: number;
  /** Totals per second over all client processes. */
  publishRate: number;
  messageRate: number;
  resultRatio: number;
  dropRate: number;
  reloadRate: number;
  endRate: number;
  padBytes: number;
  seed: number;
  out: string;
  /** Heap snapshots of the server go here (diagnosis). */
  snapshots: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: process.env.SOAK_DURATION ?? `${DEFAULT_DURATION_S}` },
      warmup: { type: 'string' },
      interval: { type: 'string' },
      clients: { type: 'string', default: process.env.SOAK_CLIENTS ?? '2000' },
      procs: { type: 'string', default: '2' },
      'publish-rate': { type: 'string', default: '1000' },
      'message-rate': { type: 'string', default: '200' },
      results: { type: 'string', default: '1' },
      'drop-rate': { type: 'string', default: '10' },
      'reload-rate': { type: 'string', default: '2' },
      'end-rate': { type: 'string', default: '2' },
      pad: { type: 'string', default: '100' },
      seed: { type: 'string' },
      out: { type: 'string' },
      snapshots: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(
      [
        'usage: npm run soak -- [--duration 10m] [--clients 2000] [--procs 2] [--seed N] [--out FILE]',
        '  --duration D      load duration: 60, 60s, 3m, 1h (default 10m; env SOAK_DURATION)',
        '  --warmup D        samples before this are not judged (default 25 % of the duration, 20 s–60 s)',
        '  --interval D      sampling interval (default duration / 60, 2 s–10 s)',
        '  --clients N       SDK clients held open (default 2000; env SOAK_CLIENTS)',
        '  --procs N         client processes (default 2)',
        '  --publish-rate R  HTTP publishes per second, all clients (default 1000)',
        '  --message-rate R  client messages per second (default 200)',
        '  --results F       fraction of client messages answered with a result (default 1)',
        '  --drop-rate R     sockets terminated per second (default 10)',
        '  --reload-rate R   clients replaced by a new SDK instance resuming per second (default 2)',
        '  --end-rate R      sessions ended with bye and replaced per second (default 2)',
        '  --pad B           padding bytes per published message (default 100)',
        "  --seed N          seed of the clients' random choices (default: picked and printed)",
        '  --out FILE        JSON report path (default bench/results/soak/soak.json for runs of',
        '                    10 min or more, else bench/results/quick/soak/soak.json)',
        '  --snapshots DIR   diagnosis: server heap snapshots at the end of the warm-up and of the',
        '                    load, written to DIR (each blocks the server for a second or two)',
      ].join('\n'),
    );
    process.exit(0);
  }
  const durationS = seconds(values.duration, '--duration');
  if (durationS < 30 || durationS > 24 * 3600) throw new Error('--duration: between 30 s and 24 h');
  const warmupS =
    values.warmup === undefined
      ? Math.min(60, Math.max(20, durationS * 0.25))
      : seconds(values.warmup, '--warmup');
  if (warmupS >= durationS * 0.8) throw new Error('--warmup: must leave at least 20 % of the run');
  const intervalS =
    values.interval === undefined
      ? Math.min(10, Math.max(2, durationS / 60))
      : seconds(values.interval, '--interval');
  if (intervalS < 0.5) throw new Error('--interval: at least 0.5 s');
  const quick = durationS < DEFAULT_DURATION_S;
  return {
    durationS,
    warmupS,
    intervalS,
    clients: int(values.clients, '--clients', 1),
    procs: int(values.procs, '--procs', 1),
    publishRate: num(values['publish-rate'], '--publish-rate'),
    messageRate: num(values['message-rate'], '--message-rate'),
    resultRatio: num(values.results, '--results'),
    dropRate: num(values['drop-rate'], '--drop-rate'),
    reloadRate: num(values['reload-rate'], '--reload-rate'),
    endRate: num(values['end-rate'], '--end-rate'),
    padBytes: int(values.pad, '--pad', 0),
    seed: values.seed === undefined ? Date.now() % 2 ** 31 : int(values.seed, '--seed', 0),
    snapshots: values.snapshots === undefined ? undefined : resolve(values.snapshots),
    out: resolve(
      values.out ??
        join(ROOT, 'bench', 'results', ...(quick ? ['quick', 'soak'] : ['soak']), 'soak.json'),
    ),
  };
}

// ---------------------------------------------------------------------------------------
// The run

interface ServerState {
  counters: ServerCounters;
  firstErrors: string[];
  store: { sessions: number; attached: number; detached: number; messages: number; bytes: number };
  dlq: { size: number; evicted: number };
  connections: number;
  attached: number;
  sent: { messages: number; bytes: number };
}

const started: Peer<unknown>[] = [];

async function stopAll(): Promise<void> {
  await Promise.all(started.map((p) => p.stop()));
}

/** A promise that rejects after `ms` (a bound on every wait of the run). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

const mb = (b: number): number => b / MB;
const extraFds = (s: ServerSample): number => s.fds - s.connections;

function progressLine(s: ServerSample, t: ClientTotals, open: number): string {
  return [
    `t=${s.t.toFixed(0).padStart(4)}s`,
    `heap ${mb(s.heap).toFixed(1)} MB`,
    `rss ${mb(s.rss).toFixed(0)} MB`,
    `fds ${s.fds} (conns ${s.connections})`,
    `eld p99 ${s.eldP99.toFixed(1)} ms`,
    `cpu ${((100 * s.cpuMs) / s.intervalMs).toFixed(0)} %`,
    `published ${t.published}`,
    `received ${t.received}`,
    `msgs ${t.messagesOk}/${t.messagesSent}`,
    `drops ${t.drops} reloads ${t.reloads} ends ${t.ends}`,
    `open ${open}`,
  ].join('  ');
}

async function main(o: Options): Promise<number> {
  const runStart = performance.now();
  const pin = canPin();
  const lastCpu = Math.max(0, cpus().length - 1);
  console.log(
    `soak: ${o.durationS} s of load (warm-up ${o.warmupS} s, a sample every ${o.intervalS} s), ` +
      `${o.clients} clients in ${o.procs} process(es), seed ${o.seed}; ` +
      `per second: ${o.publishRate} publishes, ${o.messageRate} client messages, ${o.dropRate} drops, ` +
      `${o.reloadRate} reloads, ${o.endRate} ends; ${pin ? 'server on CPU 0, clients on CPU ' + lastCpu : 'not pinned (no taskset)'}`,
  );

  const server = startChild<{ url: string; httpUrl: string; pid: number }>(
    join(here, 'server.js'),
    [],
    { cpu: 0, execArgv: ['--expose-gc'], name: 'soak server' },
  );
  started.push(server);
  const { url, httpUrl } = await within(server.ready, 30_000, 'soak server start');
  const clients = Array.from({ length: o.procs }, (_, i) => {
    const p = startChild(join(here, 'clients.js'), [String(i)], {
      cpu: lastCpu,
      name: `soak clients ${i}`,
    });
    started.push(p);
    return p;
  });
  await within(Promise.all(clients.map((c) => c.ready)), 30_000, 'soak client processes start');

  // Ramp: open every client (each process at most 50 handshakes at a time).
  const share = (total: number, i: number): number =>
    Math.floor(total / o.procs) + (i < total % o.procs ? 1 : 0);
  const settings = (i: number): LoadSettings => ({
    url,
    httpUrl,
    proc: i,
    clients: share(o.clients, i),
    seed: o.seed + i,
    publishRate: o.publishRate / o.procs,
    padBytes: o.padBytes,
    messageRate: o.messageRate / o.procs,
    resultRatio: o.resultRatio,
    dropRate: o.dropRate / o.procs,
    reloadRate: o.reloadRate / o.procs,
    endRate: o.endRate / o.procs,
  });
  const rampStart = performance.now();
  const opened = await Promise.all(
    clients.map((c, i) =>
      c.call<{ open: number; ms: number }>('open', settings(i), { timeoutMs: 120_000 }),
    ),
  );
  const rampS = (performance.now() - rampStart) / 1000;
  const openCount = opened.reduce((a, r) => a + r.open, 0);
  console.log(`soak: ${openCount} of ${o.clients} clients open in ${rampS.toFixed(1)} s`);

  // Load, sampled by the server itself.
  const maxSamples = Math.ceil(o.durationS / o.intervalS) + 2;
  await server.call('startSampling', { intervalMs: o.intervalS * 1000, maxSamples });
  await Promise.all(clients.map((c) => c.call('start')));
  const loadStart = performance.now();
  const samples: ServerSample[] = [];
  const printEvery = Math.max(o.intervalS, Math.min(30, o.durationS / 12));
  let nextPrint = printEvery;
  const snapshots: string[] = [];
  const snapshot = async (dir: string, name: string): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-server-${name}.heapsnapshot`);
    snapshots.push(await server.call<string>('snapshot', { file }, { timeoutMs: 120_000 }));
    console.log(`soak: heap snapshot ${file}`);
  };
  while (true) {
    const elapsed = (performance.now() - loadStart) / 1000;
    if (o.snapshots !== undefined && snapshots.length === 0 && elapsed >= o.warmupS)
      await snapshot(o.snapshots, 'warmup');
    if (elapsed >= o.durationS) break;
    await sleep(Math.min(1000, (o.durationS - elapsed) * 1000));
    const fresh = await server.call<ServerSample[]>('samples', { from: samples.length });
    samples.push(...fresh);
    if ((performance.now() - loadStart) / 1000 >= nextPrint && samples.length > 0) {
      nextPrint += printEvery;
      const progress = await Promise.all(
        clients.map((c) => c.call<{ totals: ClientTotals; open: number }>('progress')),
      );
      const totals = progress.reduce((a, p) => addTotals(a, p.totals), emptyTotals());
      const open = progress.reduce((a, p) => a + p.open, 0);
      console.log(progressLine(samples[samples.length - 1]!, totals, open));
    }
  }
  await server.call('stopSampling');
  if (o.snapshots !== undefined) await snapshot(o.snapshots, 'end');
  const loadS = (performance.now() - loadStart) / 1000;
  samples.push(...(await server.call<ServerSample[]>('samples', { from: samples.length })));

  // Drain: no more load; every session must receive everything accepted for it.
  const reports = await Promise.all(
    clients.map((c) => c.call<ClientReport>('drain', { timeoutMs: 30_000 }, { timeoutMs: 60_000 })),
  );
  // The clients' last acks may still be on their way (a busy machine): wait for them, briefly.
  let state = await server.call<ServerState>('state');
  for (let i = 0; i < 50 && state.store.messages > 0; i++) {
    await sleep(100);
    state = await server.call<ServerState>('state');
  }
  await stopAll();
  const totalS = (performance.now() - runStart) / 1000;

  // ------------------------------------------------------------------------------------
  // Verdicts

  const T = reports.reduce((a, r) => addTotals(a, r.totals), emptyTotals());
  const sc = state.counters;
  const window = afterWarmup(samples, o.warmupS);
  const trends: Record<string, Trend> = {
    heapMb: trend(window, (s) => mb(s.heap)),
    heapTotalMb: trend(window, (s) => mb(s.heapTotal)),
    nativeMb: trend(window, (s) => mb(s.rss - s.heapTotal)),
    rssMb: trend(window, (s) => mb(s.rss)),
    extraFds: trend(window, extraFds),
    eldP99Ms: trend(window, (s) => s.eldP99),
    externalMb: trend(window, (s) => mb(s.external + s.arrayBuffers)),
    cpuUsPerOp: trend(window, (s) => (s.ops > 0 ? (1000 * s.cpuMs) / s.ops : NaN)),
  };
  const sum = (r: Record<string, number> | number[]): number =>
    Object.values(r).reduce((a, v) => a + v, 0);
  const lossDrops = (sc.drops.ttl ?? 0) + (sc.drops.overflow ?? 0) + (sc.drops.session_reaped ?? 0);
  const planned = (rate: number): number => rate * loadS;

  const checks: Check[] = [
    atLeast('samples after the warm-up', window.length, 6),
    ...flatChecks('heap after GC', 'MB', trends.heapMb!, BOUNDS.heapMb),
    ...flatChecks('native memory (RSS − V8 heap)', 'MB', trends.nativeMb!, BOUNDS.nativeMb, 1),
    ...flatChecks('RSS', 'MB', trends.rssMb!, BOUNDS.rssMb, 1),
    ...flatChecks('descriptors beyond connections', 'fds', trends.extraFds!, BOUNDS.extraFds, 1),
    ...flatChecks('event-loop delay p99', 'ms', trends.eldP99Ms!, BOUNDS.eldP99Ms, 1).filter(
      (c) => !c.name.endsWith('slope'),
    ),
    ratioCheck('server CPU per operation', 'µs', trends.cpuUsPerOp!, CPU_PER_OP_RATIO),
    exactly('lost', T.lost),
    exactly('duplicated', T.duplicated),
    exactly('reordered', T.reordered),
    exactly('misdelivered', T.misdelivered),
    exactly('SDK gap events', T.gaps),
    exactly('resumes not recovered (clients)', T.notRecovered),
    exactly('resumes not recovered (server)', sc.notRecovered),
    exactly('resumes into another session', T.sessionChanged),
    exactly('clients stopped unexpectedly', T.unexpectedStops),
    exactly('publishes refused or failed', T.publishFailures),
    exactly('messages dropped by the server (ttl, overflow, reaped)', lossDrops),
    exactly('client messages rejected', sum(T.messagesRejected)),
    exactly('client messages answered with a wrong result', T.badEchoes),
    exactly(
      'client messages unanswered after the drain',
      sum(reports.map((r) => r.messagesPending)),
    ),
    exactly('handler calls (once per client message)', sc.handled, T.messagesOk),
    exactly('client processes not drained within 30 s', reports.filter((r) => !r.drained).length),
    exactly('clients not open after the drain', sum(reports.map((r) => r.notOpen))),
    exactly('messages left in outboxes after the drain', state.store.messages),
    exactly('sessions in the store after the drain', state.store.sessions, o.clients),
    exactly('server errors', sc.errors),
    atLeast(
      'publishes accepted',
      T.published,
      planned(o.publishRate) / 2,
      `½ planned (${fmt(planned(o.publishRate) / 2)})`,
    ),
    atLeast(
      'client messages answered',
      T.messagesOk,
      planned(o.messageRate) / 2,
      `½ planned (${fmt(planned(o.messageRate) / 2)})`,
    ),
    atLeast(
      'drops',
      T.drops,
      planned(o.dropRate) / 2,
      `½ planned (${fmt(planned(o.dropRate) / 2)})`,
    ),
    atLeast(
      'reloads',
      T.reloads,
      planned(o.reloadRate) / 2,
      `½ planned (${fmt(planned(o.reloadRate) / 2)})`,
    ),
    atLeast('ends', T.ends, planned(o.endRate) / 2, `½ planned (${fmt(planned(o.endRate) / 2)})`),
  ];
  const pass = checks.every((c) => c.pass);

  // ------------------------------------------------------------------------------------
  // Report

  const summary = table(
    ['figure', 'value'],
    [
      ['clients (connections held)', o.clients],
      ['client processes', o.procs],
      [
        'load / warm-up / ramp / drain',
        `${loadS.toFixed(0)} s / ${o.warmupS} s / ${rampS.toFixed(1)} s / ${(Math.max(...reports.map((r) => r.drainMs)) / 1000).toFixed(1)} s`,
      ],
      ['sessions started', T.sessions],
      ['churn: drops / reloads / ends', `${T.drops} / ${T.reloads} / ${T.ends}`],
      ['SDK reconnects', T.reconnects],
      [
        'hellos: new / resumed / not recovered',
        `${sc.newSessions} / ${sc.resumed} / ${sc.notRecovered}`,
      ],
      [
        'replayed on resume (server) / dropped as already processed (SDK)',
        `${sc.replayed} / ${T.sdkDuplicatesDropped}`,
      ],
      ['published (accepted) / received', `${T.published} / ${T.received}`],
      ['publish rate achieved', `${fmt(T.published / loadS)}/s (planned ${o.publishRate})`],
      [
        'lost / duplicated / reordered / misdelivered',
        `${T.lost} / ${T.duplicated} / ${T.reordered} / ${T.misdelivered}`,
      ],
      [
        'client messages: sent / ok / handler calls / dup answers',
        `${T.messagesSent} / ${T.messagesOk} / ${sc.handled} / ${sc.dupAnswers}`,
      ],
      ['server drops by reason', JSON.stringify(sc.drops)],
      [
        'server disconnects / takeovers / heartbeat timeouts / ends',
        `${sc.disconnects} / ${sc.takeovers} / ${sc.heartbeatTimeouts} / ${sc.ends}`,
      ],
      ['SDK error events', JSON.stringify(T.errors)],
      ['samples (after warm-up)', `${samples.length} (${window.length})`],
    ],
  );
  const trendRows = Object.entries(trends).map(([name, t]) => [
    name,
    t.slopePerMin,
    t.firstThirdMedian,
    t.lastThirdMedian,
    t.growth,
    t.min,
    t.max,
  ]);
  const trendTable = table(
    [
      'after warm-up',
      'slope /min',
      'first third (median)',
      'last third (median)',
      'growth',
      'min',
      'max',
    ],
    trendRows,
  );
  const checkTable = table(
    ['check', 'value', 'bound', 'pass'],
    checks.map((c) => [c.name, c.value, c.bound, c.pass ? 'yes' : '**NO**']),
  );
  const problems = reports.flatMap((r) => r.problems).concat(state.firstErrors);
  const md = [
    `## Soak test: ${pass ? 'pass' : 'FAIL'}`,
    '',
    summary,
    '',
    trendTable,
    '',
    checkTable,
    '',
    ...(problems.length > 0
      ? ['Problems (first ones):', '', ...problems.map((p) => `- ${p}`), '']
      : []),
    `Total ${totalS.toFixed(0)} s end to end (seed ${o.seed}).`,
    '',
  ].join('\n');
  console.log(`\n${md}`);

  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const report = {
    pass,
    options: o,
    dedupWindowMs: SOAK_DEDUP_WINDOW_MS,
    bounds: BOUNDS,
    env: {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: totalmem() / 2 ** 30,
      kernel: release(),
      pinned: pin,
      commit,
      date: new Date().toISOString(),
    },
    seconds: { ramp: rampS, load: loadS, total: totalS },
    clients: { totals: T, reports: reports.map(({ totals: _, ...r }) => r) },
    server: state,
    trends,
    checks,
    samples,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(o.out.replace(/\.json$/, '') + '.md', md);
  console.log(`soak: report in ${o.out}`);
  if (!pass)
    console.error(
      `soak: FAIL: ${checks
        .filter((c) => !c.pass)
        .map((c) => c.name)
        .join('; ')}`,
    );
  return pass ? 0 : 1;
}

process.on('SIGINT', () => {
  console.error('soak: interrupted; stopping the processes it started');
  void stopAll().finally(() => process.exit(130));
});

// A hard bound on the whole run, whatever hangs: stop the children, exit 1.
let hardTimer: NodeJS.Timeout | undefined;
try {
  const o = options();
  hardTimer = setTimeout(
    () => {
      console.error('soak: the run overran its time limit; stopping');
      void stopAll().finally(() => process.exit(1));
    },
    (o.durationS + 300) * 1000,
  );
  hardTimer.unref();
  process.exitCode = await main(o);
} catch (error) {
  const usage = error instanceof Error && error.message.startsWith('--');
  const text =
    error instanceof Error
      ? usage
        ? error.message
        : (error.stack ?? error.message)
      : String(error);
  console.error(`soak: ${text}`);
  await stopAll();
  process.exitCode = 1;
} finally {
  clearTimeout(hardTimer);
}
