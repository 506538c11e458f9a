/**
 * Metrics memory (docs/performance.md "Bars", row "metrics overhead"): retained heap per 10K
 * operations at a bounded session count (< 1 KB), memory after 1 million sessions come and go (back
 * to baseline), and 1 million distinct label values (bounded by the cap). The metrics see the core
 * only through its events, so the operations are the core's real event payloads, emitted on a real
 * emitter observed by `createObservability` (product + process metrics). Retained memory: heapUsed
 * after a full GC, not allocation.
 */
import type { CoreEvents } from '../src/core-events.js';
import { Emitter } from '../src/events.js';
import { createObservability } from '../src/server/observability.js';
import { QUICK, atMost, heapAfterGc, report } from './lib/harness.js';

const SESSIONS = 100;
const OPS = QUICK ? 200_000 : 1_000_000;
const CHURN = QUICK ? 200_000 : 1_000_000;
const LABELS = QUICK ? 200_000 : 1_000_000;

const events = new Emitter<CoreEvents>();
const obs = createObservability({
  enabled: true,
  maxLabelSets: 100,
  events,
  connections: () => 0,
  attachedSessions: () => 0,
  storeStats: () => Promise.resolve({ sessions: 0, messages: 0, bytes: 0, oldestAt: undefined }),
  dlqSize: () => 0,
  breakers: () => [{ name: 'upstream', state: 'closed' }],
  sent: () => ({ messages: 0, bytes: 0 }),
});

/** One "operation": a send, its ack, and every tenth a drop, on one of SESSIONS sessions. */
function operations(n: number): void {
  for (let i = 0; i < n; i++) {
    const sid = `session-${i % SESSIONS}`;
    // What the core emits per send: `send` (nobody listens) and, 1 in 128, `sendTiming`.
    events.emit('send', { sid, seq: i, bytes: 100 });
    if ((i & 127) === 0) events.emit('sendTiming', { durationMs: 0.004 });
    events.emit('ack', { sid, seq: i, removed: 1, latencyMs: 12 });
    if (i % 10 === 0) events.emit('drop', { sid, reason: 'overflow', count: 1 });
  }
}

/** A whole session life: connect, hello, traffic, disconnect, reap; a fresh sid each time. */
function sessionsComeAndGo(n: number, offset: number): void {
  for (let i = 0; i < n; i++) {
    const sid = `sid-${offset + i}-${'x'.repeat(16)}`;
    events.emit('connection', { remote: '127.0.0.1' });
    events.emit('session', { sid, resumed: false });
    events.emit('resume', {
      sid,
      resumed: false,
      recovered: false,
      reason: 'new_session',
      missing: 0,
      replayed: 0,
    });
    events.emit('send', { sid, seq: 1, bytes: 100 });
    events.emit('sendTiming', { durationMs: 0.004 });
    events.emit('ack', { sid, seq: 1, removed: 1, latencyMs: 5 });
    events.emit('disconnect', { sid, code: 1006, reason: '' });
    events.emit('reap', { sid, leftover: 0 });
    events.emit('drop', { sid, reason: 'session_reaped', count: 0 });
  }
}

// Scrape once so every lazily built structure exists before the baselines.
await obs.stats();
operations(20_000);
sessionsComeAndGo(20_000, -1e9);

// 1. Retained heap per 10K operations at a bounded session count.
const before = heapAfterGc();
operations(OPS);
const after = heapAfterGc();
const per10k = ((after - before) / OPS) * 10_000;

// 2. A million sessions come and go.
const churnBefore = heapAfterGc();
sessionsComeAndGo(CHURN, 0);
await obs.stats();
const churnAfter = heapAfterGc();
const churnDelta = churnAfter - churnBefore;

// 3. A million distinct label values (what a per-client label would be): bounded by the cap.
const labelsBefore = heapAfterGc();
for (let i = 0; i < LABELS; i++) events.emit('frameError', { sid: undefined, code: `code-${i}` });
const stats = (await obs.stats()) as { counters: Record<string, Record<string, number>> };
const labelsAfter = heapAfterGc();
const labelDelta = labelsAfter - labelsBefore;
const series = Object.keys(stats.counters.rws_frame_errors_total ?? {}).length;
obs.close();

const KB = 1024;
report({
  row: 'metrics overhead',
  name: 'metrics-memory',
  title: 'Metrics memory: retained heap',
  method:
    `createObservability on a real emitter, fed the core's event payloads. (1) ${OPS} operations (send + ack, a drop every 10th) over ${SESSIONS} sessions; ` +
    `(2) ${CHURN} sessions with fresh ids each connecting, sending, acking, disconnecting and being reaped; ` +
    `(3) ${LABELS} distinct frame-error codes (label values) with metricsMaxLabelSets = 100. heapUsed after two full GCs, before vs after.`,
  table: {
    columns: ['measure', 'value'],
    rows: [
      ['retained bytes per 10K operations', per10k],
      [`heap delta after ${CHURN} sessions come and go (bytes)`, churnDelta],
      [`heap delta after ${LABELS} distinct label values (bytes)`, labelDelta],
      ['rws_frame_errors_total series kept (cap 100 + overflow)', series],
    ],
  },
  checks: [
    atMost('retained bytes per 10K ops', per10k, 1 * KB),
    atMost(
      'heap delta after sessions come and go (bytes)',
      churnDelta,
      64 * KB,
      'baseline: within GC noise of 64 KB',
    ),
    atMost(
      'heap delta after distinct label values (bytes)',
      labelDelta,
      256 * KB,
      'bounded by the cap, not by the 1M values',
    ),
    atMost('series kept for 1M label values', series, 101),
  ],
});
