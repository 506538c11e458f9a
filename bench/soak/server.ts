/**
 * The soak test's server process: resilient-ws as the benchmarks build it
 * (bench/lib/systems.ts `startResilientWs`: the product defaults, metrics on, the per-IP
 * connection limit lifted because every client is on 127.0.0.1), with a handler for client
 * messages (an echo for those that ask for a result), and a sampler that reads this process
 * every interval.
 *
 * One setting differs from the defaults: the inbound dedup window is 10 s
 * (`SOAK_DEDUP_WINDOW_MS`; default 300 s). Its state grows by design for one window after
 * the load starts, so with the default a run would have to last well over 5 minutes before
 * its memory could be flat; the SDK's retries here land within seconds.
 *
 * A sample: event-loop delay over the interval (`monitorEventLoopDelay`, 10 ms resolution;
 * reset 50 ms after the sample's forced GC, so the GC's own pause is not counted), CPU over
 * the interval, then two full GCs (`--expose-gc`) and heapUsed, RSS, external and array
 * buffers, open file descriptors (/proc/self/fd), connections and the store's figures.
 *
 * Run as a child of bench/soak/run.ts (bench/lib/child.ts), pinned to CPU 0.
 */
import { readdirSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveRpc } from '../lib/child.js';
import { startResilientWs } from '../lib/systems.js';
import type { ServerSample } from './analysis.js';
import { SOAK_DEDUP_WINDOW_MS, type ServerCounters } from './common.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('the soak server needs node --expose-gc');

const c: ServerCounters = {
  newSessions: 0,
  resumed: 0,
  notRecovered: 0,
  replayed: 0,
  disconnects: 0,
  ends: 0,
  takeovers: 0,
  heartbeatTimeouts: 0,
  frameErrors: 0,
  errors: 0,
  drops: {},
  handled: 0,
  dupAnswers: 0,
  http: {},
};
const firstErrors: string[] = [];

const { server, port } = await startResilientWs({
  dedupWindow: SOAK_DEDUP_WINDOW_MS,
  // The echo, for the messages that ask for a result (`r: 1`); the others get none.
  onMessage: ({ data }) => {
    c.handled++;
    return (data as { r?: unknown } | null)?.r === 1 ? data : undefined;
  },
});

server.on('resume', (e) => {
  if (!e.resumed) c.newSessions++;
  else if (e.recovered) c.resumed++;
  else c.notRecovered++;
  c.replayed += e.replayed;
});
server.on('disconnect', () => c.disconnects++);
server.on('end', () => c.ends++);
server.on('takeover', () => c.takeovers++);
server.on('heartbeatTimeout', () => c.heartbeatTimeouts++);
server.on('frameError', () => c.frameErrors++);
server.on('clientMessage', (e) => {
  if (e.dup) c.dupAnswers++;
});
server.on('drop', (e) => {
  c.drops[e.reason] = (c.drops[e.reason] ?? 0) + e.count;
});
server.on('error', (e) => {
  c.errors++;
  if (firstErrors.length < 10) firstErrors.push(`${e.where}: ${String(e.error)}`);
});
server.observeRequests((_req, res) => {
  res.once('finish', () => {
    const k = String(res.statusCode);
    c.http[k] = (c.http[k] ?? 0) + 1;
  });
});

/** The histogram records the time between its timer's runs: the delay is what exceeds this. */
const ELD_RESOLUTION_MS = 10;
const delay = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
eld.enable();

const samples: ServerSample[] = [];
let t0 = performance.now();
let last = { at: performance.now(), cpu: process.cpuUsage(), ops: 0 };
let timer: NodeJS.Timeout | undefined;

/** Operations so far: publishes, client messages and hellos the server answered. */
const ops = (): number => (c.http['202'] ?? 0) + c.handled + c.newSessions + c.resumed;

async function sample(): Promise<ServerSample> {
  const now = performance.now();
  const cpu = process.cpuUsage(last.cpu);
  const o = ops();
  const eldP50 = delay(eld.percentile(50));
  const eldP99 = delay(eld.percentile(99));
  const eldMax = delay(eld.max);
  const g0 = performance.now();
  gc!();
  gc!();
  const gcMs = performance.now() - g0;
  // The interval's CPU ends before the forced GCs and the next one starts after them.
  const cpuAfterGc = process.cpuUsage();
  const m = process.memoryUsage();
  const fds = readdirSync('/proc/self/fd').length;
  const st = await server.store.stats();
  const s: ServerSample = {
    t: (now - t0) / 1000,
    heap: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    fds,
    connections: server.connectionCount,
    attached: server.attachedCount,
    sessions: st.sessions,
    storedMessages: st.messages,
    eldP50,
    eldP99,
    eldMax,
    cpuMs: (cpu.user + cpu.system) / 1000,
    intervalMs: now - last.at,
    gcMs,
    ops: o - last.ops,
  };
  last = { at: now, cpu: cpuAfterGc, ops: o };
  setTimeout(() => eld.reset(), 50);
  return s;
}

serveRpc(
  {
    /** The load starts now: samples are timed from here, one every `intervalMs`. */
    startSampling: (a: { intervalMs: number; maxSamples: number }) => {
      t0 = performance.now();
      samples.length = 0;
      last = { at: performance.now(), cpu: process.cpuUsage(), ops: ops() };
      eld.reset();
      if (timer !== undefined) clearInterval(timer);
      timer = setInterval(() => {
        if (samples.length >= a.maxSamples) return;
        void sample().then((s) => samples.push(s));
      }, a.intervalMs);
      return {};
    },
    stopSampling: () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      return {};
    },
    /** Samples from index `from` on (the parent prints them as they come). */
    samples: (a: { from: number }) => samples.slice(a.from),
    /** Diagnosis (`--snapshots`): a heap snapshot of this process, written to `file`. */
    snapshot: (a: { file: string }) => {
      gc();
      return writeHeapSnapshot(a.file);
    },
    /** The counters and the server's state now (store, dead letters, connections). */
    state: async () => {
      const st = await server.store.stats();
      const dlq = await server.dlq.stats();
      return {
        counters: c,
        firstErrors,
        store: st,
        dlq: { size: dlq.size, evicted: dlq.evicted },
        connections: server.connectionCount,
        attached: server.attachedCount,
        sent: server.sentTotals,
      };
    },
  },
  { url: `ws://127.0.0.1:${port}/ws`, httpUrl: `http://127.0.0.1:${port}`, pid: process.pid },
  { onExit: () => server.close({ timeoutMs: 1000 }) },
);
