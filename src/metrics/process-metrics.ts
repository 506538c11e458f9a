/**
 * Process metrics: CPU, memory, event-loop delay and utilization, GC, open file
 * descriptors. Everything is read at scrape time except what Node only reports as it
 * happens: the event-loop delay histogram (libuv samples it) and GC entries (a
 * PerformanceObserver). Both run only between `start()` and `stop()`.
 */
import { readdirSync } from 'node:fs';
import {
  constants,
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type EventLoopUtilization,
  type PerformanceEntry,
  type IntervalHistogram,
} from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { CounterChild } from './counter.js';
import type { Registry } from './registry.js';

/**
 * Event-loop figures cover the time since the previous collection, but at least this long:
 * a dashboard polling every second and Prometheus every 15 s then share windows instead of
 * one of them seeing an empty one.
 */
const MIN_WINDOW_MS = 1000;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface LoopFigures {
  p50: number;
  p99: number;
  max: number;
  utilization: number;
}

export interface ProcessMetrics {
  /** The latest event-loop window (seconds; utilization 0..1). */
  loop(): LoopFigures;
  stop(): void;
}

function hasProcFd(): boolean {
  try {
    readdirSync('/proc/self/fd');
    return true;
  } catch {
    return false;
  }
}

export function registerProcessMetrics(registry: Registry, clock: Clock): ProcessMetrics {
  const startSeconds = (clock.now() - performance.now()) / 1000;
  registry.counter({
    name: 'rws_process_cpu_user_seconds_total',
    help: 'User CPU time spent by the process, in seconds.',
    unit: 'seconds',
    collect: () => process.cpuUsage().user / 1e6,
    created: startSeconds, // the total counts from the process start
  });
  registry.counter({
    name: 'rws_process_cpu_system_seconds_total',
    help: 'System CPU time spent by the process, in seconds.',
    unit: 'seconds',
    collect: () => process.cpuUsage().system / 1e6,
    created: startSeconds, // the total counts from the process start
  });
  let mem = process.memoryUsage();
  registry.beforeCollect(() => {
    mem = process.memoryUsage();
  });
  registry.gauge({
    name: 'rws_process_resident_memory_bytes',
    help: 'Resident set size of the process, in bytes.',
    unit: 'bytes',
    collect: () => mem.rss,
  });
  registry.gauge({
    name: 'rws_process_heap_used_bytes',
    help: 'V8 heap in use, in bytes.',
    unit: 'bytes',
    collect: () => mem.heapUsed,
  });
  registry.gauge({
    name: 'rws_process_heap_total_bytes',
    help: 'V8 heap reserved, in bytes.',
    unit: 'bytes',
    collect: () => mem.heapTotal,
  });
  registry.gauge({
    name: 'rws_process_start_time_seconds',
    help: 'When the process started, in seconds since the epoch.',
    unit: 'seconds',
    collect: () => startSeconds,
  });
  if (hasProcFd())
    registry.gauge({
      name: 'rws_process_open_fds',
      help: 'Open file descriptors (from /proc/self/fd).',
      collect: () => {
        try {
          return readdirSync('/proc/self/fd').length - 1; // minus the one readdir opened
        } catch {
          return undefined;
        }
      },
    });

  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let windowStart = clock.now();
  let figures: LoopFigures = { p50: 0, p99: 0, max: 0, utilization: 0 };
  let measured = false;
  const refresh = (): LoopFigures => {
    const now = clock.now();
    if (measured && now - windowStart < MIN_WINDOW_MS) return figures;
    measured = true;
    const next = performance.eventLoopUtilization();
    const empty = delay.count === 0;
    figures = {
      p50: empty ? 0 : delay.percentile(50) / 1e9,
      p99: empty ? 0 : delay.percentile(99) / 1e9,
      max: empty ? 0 : delay.max / 1e9,
      utilization: performance.eventLoopUtilization(next, elu).utilization,
    };
    delay.reset();
    elu = next;
    windowStart = now;
    return figures;
  };
  registry.beforeCollect(refresh);
  for (const [q, pick] of [
    ['p50', (f: LoopFigures) => f.p50],
    ['p99', (f: LoopFigures) => f.p99],
    ['max', (f: LoopFigures) => f.max],
  ] as const)
    registry.gauge({
      name: `rws_eventloop_delay_${q}_seconds`,
      help: `Event-loop delay ${q === 'max' ? 'maximum' : q} over the last window (>= 1 s), in seconds.`,
      unit: 'seconds',
      collect: () => pick(figures),
    });
  registry.gauge({
    name: 'rws_eventloop_utilization',
    help: 'Share of time the event loop was busy over the last window (>= 1 s), 0..1.',
    collect: () => figures.utilization,
  });

  const gcRuns = registry.counter({
    name: 'rws_gc_runs_total',
    help: 'Garbage collections, by kind.',
    labelNames: ['kind'],
  });
  const gcTime = registry.counter({
    name: 'rws_gc_duration_seconds_total',
    help: 'Time spent in garbage collection, by kind, in seconds.',
    unit: 'seconds',
    labelNames: ['kind'],
  });
  const byKind = new Map<number, [CounterChild, CounterChild]>();
  for (const [k, name] of Object.entries(GC_KINDS))
    byKind.set(Number(k), [gcRuns.labels(name), gcTime.labels(name)]);
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1;
      const pair = byKind.get(kind);
      if (pair === undefined) continue;
      pair[0].inc();
      pair[1].inc(e.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  let stopped = false;
  return {
    loop: () => figures,
    stop() {
      if (stopped) return;
      stopped = true;
      delay.disable();
      observer.disconnect();
    },
  };
}
