import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { formatMetrics } from './exposition.js';
import { maxOpenFiles, registerProcessMetrics, statusBytes } from './process-metrics.js';
import { Registry } from './registry.js';

const gc = (): void => {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
};

function value(r: Registry, name: string, label?: string): number | undefined {
  const f = r.collect().find((x) => x.name === name);
  return f?.series.find((s) => label === undefined || s.labelValues[0] === label)?.value;
}

describe('process metrics', () => {
  it('reports CPU, memory, start time and event-loop figures with plausible values', () => {
    const clock = new ManualClock(Date.now());
    const r = new Registry({ clock });
    const p = registerProcessMetrics(r, clock);
    try {
      expect(value(r, 'rws_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value(r, 'rws_process_cpu_system_seconds_total')).toBeGreaterThanOrEqual(0);
      expect(value(r, 'rws_process_resident_memory_bytes')).toBeGreaterThan(1e6);
      expect(value(r, 'rws_process_heap_used_bytes')).toBeGreaterThan(1e5);
      expect(value(r, 'rws_process_heap_total_bytes')).toBeGreaterThan(1e5);
      const start = value(r, 'rws_process_start_time_seconds')!;
      expect(start).toBeLessThanOrEqual(Date.now() / 1000);
      expect(start).toBeGreaterThan(Date.now() / 1000 - 3600);
      for (const q of ['p50', 'p99', 'max'])
        expect(value(r, `rws_eventloop_delay_${q}_seconds`)).toBeGreaterThanOrEqual(0);
      const u = value(r, 'rws_eventloop_utilization')!;
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(1);
    } finally {
      p.stop();
    }
  });

  it('the CPU counters are created at the process start (their totals count from it)', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const r = new Registry({ clock });
    const p = registerProcessMetrics(r, clock);
    try {
      const text = formatMetrics(r.collect(), 'openmetrics');
      const sampleOf = (series: string): number | undefined => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      const start = sampleOf('rws_process_start_time_seconds')!;
      expect(start).toBeGreaterThan(0);
      // A _created after the start would claim the CPU seconds since the start were used after
      // it: created-timestamp zero ingestion would then inject a 0 and a rate spike.
      expect(sampleOf('rws_process_cpu_user_seconds_created')).toBe(start);
      expect(sampleOf('rws_process_cpu_system_seconds_created')).toBe(start);
    } finally {
      p.stop();
    }
  });

  it('counts open file descriptors where /proc/self/fd exists (Linux), omits them elsewhere', () => {
    const clock = new ManualClock();
    const r = new Registry({ clock });
    const p = registerProcessMetrics(r, clock);
    if (existsSync('/proc/self/fd')) expect(value(r, 'rws_process_open_fds')).toBeGreaterThan(2);
    else expect(r.get('rws_process_open_fds')).toBeUndefined();
    p.stop();
  });

  it('also exposes the standard process_* names of the Prometheus client guidelines', () => {
    const clock = new ManualClock(Date.now());
    const r = new Registry({ clock });
    const p = registerProcessMetrics(r, clock);
    try {
      const cpu = value(r, 'process_cpu_seconds_total')!;
      const split =
        value(r, 'rws_process_cpu_user_seconds_total')! +
        value(r, 'rws_process_cpu_system_seconds_total')!;
      expect(cpu).toBeGreaterThan(0);
      expect(Math.abs(cpu - split)).toBeLessThan(0.5); // two scrapes, microseconds apart
      expect(value(r, 'process_resident_memory_bytes')).toBeGreaterThan(1e6);
      expect(value(r, 'process_start_time_seconds')).toBe(
        value(r, 'rws_process_start_time_seconds'),
      );
      const text = formatMetrics(r.collect(), 'prometheus');
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      expect(text).toContain('# TYPE process_start_time_seconds gauge');
      if (existsSync('/proc/self/status')) {
        const rss = value(r, 'process_resident_memory_bytes')!;
        expect(value(r, 'process_virtual_memory_bytes')).toBeGreaterThan(rss);
        expect(value(r, 'process_heap_bytes')).toBeGreaterThan(1e5);
      } else {
        expect(r.get('process_virtual_memory_bytes')).toBeUndefined();
        expect(r.get('process_heap_bytes')).toBeUndefined();
      }
      if (existsSync('/proc/self/fd')) {
        const open = value(r, 'process_open_fds')!;
        expect(open).toBeGreaterThan(2);
        expect(value(r, 'rws_process_open_fds')).toBe(open);
        expect(value(r, 'process_max_fds') ?? Infinity).toBeGreaterThanOrEqual(open);
      } else {
        expect(r.get('process_open_fds')).toBeUndefined();
        expect(r.get('process_max_fds')).toBeUndefined();
      }
    } finally {
      p.stop();
    }
  });

  it('the event-loop delay gauges show the last completed window: a 100 ms block shows after it rolls', async () => {
    const clock = new ManualClock(Date.now());
    const r = new Registry({ clock });
    const windowMs = 300;
    const p = registerProcessMetrics(r, clock, { loopWindowMs: windowMs });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await sleep(30); // the monitor samples from its first timer turn on
      // Before the first window completes: 0, the block not shown yet.
      const until = Date.now() + 100;
      while (Date.now() < until); // the loop is blocked for 100 ms
      for (const q of ['p50', 'p99', 'max'])
        expect(value(r, `rws_eventloop_delay_${q}_seconds`)).toBe(0);
      await sleep(windowMs);
      expect(value(r, 'rws_eventloop_delay_max_seconds')).toBeGreaterThanOrEqual(0.05);
      expect(value(r, 'rws_eventloop_delay_p99_seconds')).toBeGreaterThanOrEqual(0.05);
      expect(value(r, 'rws_eventloop_delay_p50_seconds')).toBeGreaterThan(0);
      // stop() ends the windows: the figures stay as they were.
      p.stop();
      const max = value(r, 'rws_eventloop_delay_max_seconds');
      await sleep(windowMs + 50);
      expect(value(r, 'rws_eventloop_delay_max_seconds')).toBe(max);
    } finally {
      p.stop();
    }
  });

  it('parses /proc/self/status and /proc/self/limits', () => {
    const status = 'Name:\tnode\nVmSize:\t 1234 kB\nVmData:\t   56 kB\nThreads:\t7\n';
    expect(statusBytes(status, 'VmSize')).toBe(1234 * 1024);
    expect(statusBytes(status, 'VmData')).toBe(56 * 1024);
    expect(statusBytes(status, 'VmSwap')).toBeUndefined();
    const limits = (soft: string): string =>
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      `Max open files            ${soft.padEnd(20)} 1048576              files     \n`;
    expect(maxOpenFiles(limits('1024'))).toBe(1024);
    expect(maxOpenFiles(limits('unlimited'))).toBeUndefined();
    expect(maxOpenFiles('')).toBeUndefined();
  });

  it('counts garbage collections by kind while started, and stop() is idempotent', async () => {
    const clock = new ManualClock();
    const r = new Registry({ clock });
    const p = registerProcessMetrics(r, clock);
    gc();
    // GC entries are delivered asynchronously by the PerformanceObserver.
    for (let i = 0; i < 50 && (value(r, 'rws_gc_runs_total', 'major') ?? 0) === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(value(r, 'rws_gc_runs_total', 'major')).toBeGreaterThan(0);
    expect(value(r, 'rws_gc_duration_seconds_total', 'major')).toBeGreaterThan(0);
    p.stop();
    p.stop();
    const after = value(r, 'rws_gc_runs_total', 'major');
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(value(r, 'rws_gc_runs_total', 'major')).toBe(after);
  });
});
