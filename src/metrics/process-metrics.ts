/**
 * Process metrics: CPU, memory, event-loop delay and utilization, GC, open file
 * descriptors. Everything is read at scrape time except what Node only reports as it
 * happens: the event-loop delay histogram (libuv samples it; an unref'd timer rolls its 5 s
 * windows) and GC entries (a PerformanceObserver). These run until `stop()`.
 *
 * The process figures are exposed twice: as `rws_process_*` (this project's names, with CPU
 * split into user and system and the V8 heap in use and reserved) and under the standard
 * names of the Prometheus client guidelines (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_open_fds`, …), so off-the-shelf dashboards and
 * alerts work unchanged. Both sets read the same figures, taken once per scrape. The
 * Linux-only ones (virtual memory, heap, file descriptors) come from /proc and are not
 * registered where /proc is missing: absent rather than wrong.
 */
import { readdirSync, readFileSync } from 'node:fs';
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
 * The event-loop utilization covers the time since the previous collection, but at least this long:
 * a dashboard polling every second and Prometheus every 15 s then share windows instead of
 * one of them seeing an empty one.
 */
const MIN_WINDOW_MS = 1000;

/** The event-loop delay gauges show the last completed window of this length. */
export const LOOP_WINDOW_MS = 5000;

export interface ProcessMetricsOptions {
  /** The event-loop delay window (default `LOOP_WINDOW_MS`, 5 s). */
  loopWindowMs?: number;
}

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
  /** The latest event-loop figures: the delay's last completed window (seconds) and the
   *  utilization's latest window (0..1). */
  loop(): LoopFigures;
  stop(): void;
}

function readable(read: () => unknown): boolean {
  try {
    read();
    return true;
  } catch {
    return false;
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length - 1; // minus readdir's own
const procStatus = (): string => readFileSync('/proc/self/status', 'latin1');
const procLimits = (): string => readFileSync('/proc/self/limits', 'latin1');

/** A `/proc/self/status` field in kB (`VmSize:   123456 kB`), in bytes. */
export function statusBytes(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** The soft limit on open files from `/proc/self/limits`; `undefined` when unlimited. */
export function maxOpenFiles(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  return m === null || m[1] === 'unlimited' ? undefined : Number(m[1]);
}

/** Reads `read()`, or `undefined` if it throws (a /proc file gone or unreadable). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export function registerProcessMetrics(
  registry: Registry,
  clock: Clock,
  options: ProcessMetricsOptions = {},
): ProcessMetrics {
  const startSeconds = (clock.now() - performance.now()) / 1000;
  registry.counter({
    name: 'rws_process_cpu_user_seconds_total',
    help: 'User CPU time spent by the process, in seconds.',
    unit: 'seconds',
    collect: () => cpu.user / 1e6,
    created: startSeconds, // the total counts from the process start
  });
  registry.counter({
    name: 'rws_process_cpu_system_seconds_total',
    help: 'System CPU time spent by the process, in seconds.',
    unit: 'seconds',
    collect: () => cpu.system / 1e6,
    created: startSeconds, // the total counts from the process start
  });
  const linuxFd = readable(openFds);
  const linuxStatus = readable(procStatus);
  const linuxLimits = readable(procLimits) && maxOpenFiles(procLimits()) !== undefined;
  let mem = process.memoryUsage();
  let cpu = process.cpuUsage();
  let fds: number | undefined;
  let status: string | undefined;
  let limits: string | undefined;
  // Once per scrape, for both name sets: a few syscalls, and one directory entry per open fd.
  registry.beforeCollect(() => {
    mem = process.memoryUsage();
    cpu = process.cpuUsage();
    if (linuxFd) fds = attempt(openFds);
    if (linuxStatus) status = attempt(procStatus);
    if (linuxLimits) limits = attempt(procLimits);
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
  if (linuxFd)
    registry.gauge({
      name: 'rws_process_open_fds',
      help: 'Open file descriptors (from /proc/self/fd).',
      collect: () => fds,
    });

  // The standard names (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics).
  registry.counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    unit: 'seconds',
    collect: () => (cpu.user + cpu.system) / 1e6,
    created: startSeconds,
  });
  registry.gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    unit: 'bytes',
    collect: () => mem.rss,
  });
  if (linuxStatus) {
    registry.gauge({
      name: 'process_virtual_memory_bytes',
      help: 'Virtual memory size in bytes (VmSize from /proc/self/status).',
      unit: 'bytes',
      collect: () => (status === undefined ? undefined : statusBytes(status, 'VmSize')),
    });
    registry.gauge({
      name: 'process_heap_bytes',
      help: 'Process heap size in bytes (VmData from /proc/self/status, as prom-client reports it).',
      unit: 'bytes',
      collect: () => (status === undefined ? undefined : statusBytes(status, 'VmData')),
    });
  }
  if (linuxFd)
    registry.gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      collect: () => fds,
    });
  if (linuxLimits)
    registry.gauge({
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors (the soft limit).',
      collect: () => (limits === undefined ? undefined : maxOpenFiles(limits)),
    });
  registry.gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    unit: 'seconds',
    collect: () => startSeconds,
  });

  // The delay: libuv samples it into a histogram, read and reset every `loopWindowMs` by a
  // timer of its own, so the gauges show the last completed window whoever scrapes and how
  // often (the dashboard's 1 s snapshots and a 15 s Prometheus scrape see the same figures).
  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const loopWindowMs = options.loopWindowMs ?? LOOP_WINDOW_MS;
  let delays = { p50: 0, p99: 0, max: 0 };
  const roll = (): void => {
    const empty = delay.count === 0;
    delays = {
      p50: empty ? 0 : delay.percentile(50) / 1e9,
      p99: empty ? 0 : delay.percentile(99) / 1e9,
      max: empty ? 0 : delay.max / 1e9,
    };
    delay.reset();
  };
  // Real time on purpose: the monitor measures the real loop, whatever clock a test injects.
  const roller = setInterval(roll, loopWindowMs);
  roller.unref();

  // The utilization covers the time since the previous collection (at least MIN_WINDOW_MS).
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let windowStart = clock.now();
  let utilization = 0;
  let measured = false;
  registry.beforeCollect(() => {
    const now = clock.now();
    if (measured && now - windowStart < MIN_WINDOW_MS) return;
    measured = true;
    const next = performance.eventLoopUtilization();
    utilization = performance.eventLoopUtilization(next, elu).utilization;
    elu = next;
    windowStart = now;
  });
  for (const [q, pick] of [
    ['p50', () => delays.p50],
    ['p99', () => delays.p99],
    ['max', () => delays.max],
  ] as const)
    registry.gauge({
      name: `rws_eventloop_delay_${q}_seconds`,
      help: `Event-loop delay ${q === 'max' ? 'maximum' : q} over the last completed ${loopWindowMs / 1000} s window (0 before the first), in seconds.`,
      unit: 'seconds',
      collect: pick,
    });
  registry.gauge({
    name: 'rws_eventloop_utilization',
    help: 'Share of time the event loop was busy over the last window (>= 1 s), 0..1.',
    collect: () => utilization,
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
    loop: () => ({ ...delays, utilization }),
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(roller);
      delay.disable();
      observer.disconnect();
    },
  };
}
