/**
 * Resume under forced disconnects (docs/performance.md "Bars", row "resume"): a client
 * receives a steady stream of numbered messages through a TCP proxy that is cut (both sockets
 * destroyed, no close handshake) 1000 times (100 in quick mode), each cut after the stream has
 * resumed and delivered a few messages again. The client counts, from the payload numbers,
 * what was lost, duplicated or reordered, and how long each cut took to resumed delivery. The
 * same for Socket.IO 4.8 with connection-state recovery, side by side (figures only, no bar).
 *
 * Outside the window: (a) a disconnect longer than the session TTL, the sweep having reaped
 * the session, must resume with `recovered: false`, reason `unknown_session`; (b) messages
 * evicted from a small outbox while the client is away must resume with reason `gap` and
 * `missing` equal to the evictions above the client's ack, which the client then confirms by
 * what it receives. Socket.IO's outside-window behaviour is shown as a figure.
 *
 * Process layout: each server in its own child process (bench/resume/peers.ts), pinned to
 * CPU 0 with taskset where available; this process (clients, proxies, cut schedule, counting)
 * pinned to CPU 1. Seed: BENCH_SEED, else printed.
 *
 * Parts: bench/resume/stream-observer.ts (the counting), chaos.ts (the cut runs),
 * outside-window.ts (the trials), report.ts (table, checks, method), peers.ts (the servers).
 */
import { pinSelf } from './lib/child.js';
import { QUICK } from './lib/harness.js';
import { rwsChaos, sioChaos } from './resume/chaos.js';
import { TIME_LIMIT_MS, now } from './resume/common.js';
import { outsideWindow } from './resume/outside-window.js';
import { resumeReport } from './resume/report.js';

const wall = now();
const watchdog = setTimeout(() => {
  console.error(`[resume] time limit ${TIME_LIMIT_MS} ms reached`);
  process.exit(1);
}, TIME_LIMIT_MS);
watchdog.unref();
const seed =
  process.env.BENCH_SEED !== undefined ? Number(process.env.BENCH_SEED) : Date.now() % 1_000_000;
console.log(`[resume] seed ${seed}${QUICK ? ' (quick)' : ''}`);
// Servers on CPU 0 (each peer), clients and proxies here on CPU 1 (all threads).
const pin = pinSelf(1);

const rws = await rwsChaos(seed);
console.log(
  `[resume] resilient-ws: ${rws.cuts} cuts, lost ${rws.lost} dup ${rws.duplicates} reordered ${rws.reordered}, ${(rws.durationMs / 1000).toFixed(1)} s`,
);
const sio = await sioChaos(seed + 1);
console.log(
  `[resume] Socket.IO: ${sio.cuts} cuts, lost ${sio.lost} dup ${sio.duplicates} reordered ${sio.reordered}, ${(sio.durationMs / 1000).toFixed(1)} s`,
);
const outside = await outsideWindow(seed);
resumeReport({ seed, pin, rws, sio, outside, totalMs: now() - wall });
clearTimeout(watchdog);
// Sockets of closed clients may linger a moment; the run is over.
setTimeout(() => process.exit(), 200).unref();
