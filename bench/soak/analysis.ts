/**
 * The soak test's verdicts, as pure functions of what the processes reported (unit-tested in
 * analysis.test.ts): trends of the server's samples after the warm-up (least-squares slope per
 * minute and the growth from the first third's median to the last third's), the delivery
 * ledger, and the summary table. The tolerances and why they are what they are:
 * docs/performance.md ("Soak test").
 */

/** One reading of the server process, taken by the server itself every sampling interval. */
export interface ServerSample {
  /** Seconds since the load started (negative during the ramp). */
  t: number;
  /** heapUsed after two full GCs (bytes). */
  heap: number;
  /** V8's committed heap (heapTotal), for reading RSS. */
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** Open file descriptors (/proc/self/fd). */
  fds: number;
  /** WebSocket connections the server holds (before hello included). */
  connections: number;
  attached: number;
  /** Sessions and stored messages in the store. */
  sessions: number;
  storedMessages: number;
  /** Event-loop delay over the interval beyond the 10 ms timer (monitorEventLoopDelay; the forced GC excluded), ms. */
  eldP50: number;
  eldP99: number;
  eldMax: number;
  /** Server CPU over the interval (user + system), ms, the forced GCs of the samples excluded. */
  cpuMs: number;
  /** Length of the interval, ms. */
  intervalMs: number;
  /** How long the forced GCs of this sample took, ms. */
  gcMs: number;
  /** Operations the server did over the interval: publishes + client messages + hellos. */
  ops: number;
}

export interface Trend {
  /** Samples in the window. */
  n: number;
  /** Least-squares slope, unit per minute. */
  slopePerMin: number;
  firstThirdMedian: number;
  lastThirdMedian: number;
  /** lastThirdMedian − firstThirdMedian. */
  growth: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
}

/** Least-squares slope of y over x (per unit of x); NaN with fewer than 2 distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxy += dx * (ys[i]! - my);
    sxx += dx * dx;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** The trend of `value` over samples (t in seconds): slope per minute, thirds by time order. */
export function trend<S extends { t: number }>(
  samples: readonly S[],
  value: (s: S) => number,
): Trend {
  const xs = samples.map((s) => s.t / 60);
  const ys = samples.map(value);
  const third = Math.max(1, Math.floor(ys.length / 3));
  const first = median(ys.slice(0, third));
  const last = median(ys.slice(ys.length - third));
  return {
    n: ys.length,
    slopePerMin: slope(xs, ys),
    firstThirdMedian: first,
    lastThirdMedian: last,
    growth: last - first,
    min: ys.length === 0 ? NaN : Math.min(...ys),
    max: ys.length === 0 ? NaN : Math.max(...ys),
  };
}

export interface Check {
  name: string;
  /** The measured figure, as shown. */
  value: string;
  /** The bound, as shown. */
  bound: string;
  pass: boolean;
}

/**
 * A "flat" bound on a trend: the least-squares slope at most `slopePerMin` and the growth
 * between the thirds' medians at most `growth`. Both must hold: a leak raises both, a single
 * odd sample moves the slope but not the medians, and a step late in the window moves the
 * medians more than the slope.
 */
export interface FlatBound {
  slopePerMin: number;
  growth: number;
}

export function flatChecks(
  name: string,
  unit: string,
  t: Trend,
  bound: FlatBound,
  digits = 2,
): Check[] {
  const f = (v: number): string => `${v.toFixed(digits)} ${unit}`;
  return [
    {
      name: `${name} slope`,
      value: `${f(t.slopePerMin)}/min`,
      bound: `≤ ${f(bound.slopePerMin)}/min`,
      pass: Number.isFinite(t.slopePerMin) && t.slopePerMin <= bound.slopePerMin,
    },
    {
      name: `${name} last third − first third (medians)`,
      value: f(t.growth),
      bound: `≤ ${f(bound.growth)}`,
      pass: Number.isFinite(t.growth) && t.growth <= bound.growth,
    },
  ];
}

/** A trend whose last third's median may be at most `ratio` × its first third's. */
export function ratioCheck(name: string, unit: string, t: Trend, ratio: number): Check {
  const r = t.lastThirdMedian / t.firstThirdMedian;
  return {
    name: `${name} last third / first third (medians)`,
    value: `${r.toFixed(2)}× (${fmt(t.firstThirdMedian)} → ${fmt(t.lastThirdMedian)} ${unit})`,
    bound: `≤ ${ratio}×`,
    pass: Number.isFinite(r) && r <= ratio,
  };
}

/** A count that must be exactly `expected` (0 lost, 0 duplicated …). */
export function exactly(name: string, value: number, expected = 0): Check {
  return { name, value: String(value), bound: `= ${expected}`, pass: value === expected };
}

export function atLeast(name: string, value: number, min: number, shown = String(min)): Check {
  return { name, value: String(Math.round(value)), bound: `≥ ${shown}`, pass: value >= min };
}

/** A markdown table. */
export function table(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (v: unknown): string => (typeof v === 'number' ? fmt(v) : String(v));
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Samples at or after the warm-up (t in seconds since the load started). */
export function afterWarmup<S extends { t: number }>(samples: readonly S[], warmupS: number): S[] {
  return samples.filter((s) => s.t >= warmupS);
}
