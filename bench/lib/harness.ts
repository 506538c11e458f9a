/**
 * The benchmark harness (docs/performance.md "Why these methods"): paired, interleaved rounds where
 * every variant runs once per round in a rotated order, reported as the median and spread of
 * per-round figures, and ratios taken round by round against an in-run baseline.
 *
 * Micro benchmarks give each variant its own loop (`run(n)` loops n times itself) so that
 * every variant keeps one monomorphic call site; a shared loop calling closures through one
 * site goes megamorphic and adds ~10 ns to everything.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `BENCH_QUICK=1` (set by `npm run bench:check`): fewer rounds and iterations. */
export const QUICK = process.env.BENCH_QUICK === '1';

export interface Variant {
  name: string;
  /** Runs the operation `n` times; the result is kept so the work cannot be eliminated. */
  run(n: number): unknown;
}

export interface AsyncVariant {
  name: string;
  run(n: number): Promise<unknown>;
}

export interface RoundsOptions {
  rounds: number;
  /** Operations per variant per round. */
  iterations: number;
  /** Unrecorded rounds first (JIT warm-up). Default 2. */
  warmup?: number;
}

/** Per-round nanoseconds per operation, by variant name. */
export type Samples = Record<string, number[]>;

let sink: unknown;
/** Keeps a value alive so the JIT cannot drop the work that produced it. */
export function keep(value: unknown): void {
  if (value === sink) return;
  sink = value;
}

export function measureRounds(variants: readonly Variant[], options: RoundsOptions): Samples {
  const out: Samples = Object.fromEntries(variants.map((v) => [v.name, [] as number[]]));
  const warmup = options.warmup ?? 2;
  for (let round = 0; round < warmup + options.rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const start = process.hrtime.bigint();
      keep(v.run(options.iterations));
      const ns = Number(process.hrtime.bigint() - start) / options.iterations;
      if (round >= warmup) out[v.name]!.push(ns);
    }
  }
  return out;
}

export async function measureRoundsAsync(
  variants: readonly AsyncVariant[],
  options: RoundsOptions,
): Promise<Samples> {
  const out: Samples = Object.fromEntries(variants.map((v) => [v.name, [] as number[]]));
  const warmup = options.warmup ?? 2;
  for (let round = 0; round < warmup + options.rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const start = process.hrtime.bigint();
      keep(await v.run(options.iterations));
      const ns = Number(process.hrtime.bigint() - start) / options.iterations;
      if (round >= warmup) out[v.name]!.push(ns);
    }
  }
  return out;
}

export interface Spread {
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
  n: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    n: s.length,
  };
}

/** Round-by-round ratio a/b (the rounds are paired, so noise in one round hits both). */
export function pairedRatio(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((x, i) => x / b[i]!));
}

/** Round-by-round difference a−b (marginal cost of a feature, in a's unit). */
export function pairedDelta(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((x, i) => x - b[i]!));
}

/** The rows of the bar table (docs/performance.md "Bars"); REPORT.md's scorecard groups by them. */
export const BAR_ROWS = [
  'hash',
  'dedup window',
  'cleanup',
  'metrics overhead',
  'circuit breaker',
  'end-to-end push',
  'cost of reliability',
  'latency',
  'memory per connection',
  'sustained memory',
  'resume',
  'multi-node (Redis)',
  'connections per node',
  'broadcast fan-out',
  'end-to-end push with Redis',
  'dashboard snapshot',
  'mcp tool calls',
] as const;
export type BarRow = (typeof BAR_ROWS)[number];

/** A bar from docs/performance.md ("Bars"), checked against a measured figure. */
export interface Check {
  name: string;
  /** The docs/performance.md ("Bars") row; defaults to the result's `row`. */
  row?: BarRow;
  value: number;
  /** Human-readable bar, e.g. "<= 1.01". */
  bar: string;
  pass: boolean;
  /** In quick mode a looser bar may be used (noise); said here. */
  note?: string;
}

export function atMost(name: string, value: number, limit: number, note?: string): Check {
  return { name, value, bar: `<= ${limit}`, pass: value <= limit, ...(note ? { note } : {}) };
}

export function atLeast(name: string, value: number, limit: number, note?: string): Check {
  return { name, value, bar: `>= ${limit}`, pass: value >= limit, ...(note ? { note } : {}) };
}

export interface BenchResult {
  /** File stem: bench/results/<name>.json */
  name: string;
  title: string;
  /** The docs/performance.md ("Bars") row its checks belong to (a check may name another). */
  row: BarRow;
  /** What was measured and how (method, process layout), for the report. */
  method: string;
  /** Table rows for the markdown summary. */
  table: { columns: string[]; rows: (string | number)[][] };
  checks: Check[];
  /** Any raw figures worth keeping. */
  data?: unknown;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where results go: bench/results (full runs, kept) or bench/results/quick (gate runs). */
export function resultsDir(): string {
  return join(ROOT, 'bench', 'results', ...(QUICK ? ['quick'] : []));
}

function fmt(v: string | number): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function toMarkdown(r: BenchResult): string {
  const { columns, rows } = r.table;
  const lines = [
    `## ${r.title}`,
    '',
    r.method,
    '',
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(fmt).join(' | ')} |`),
    '',
    '| check | value | bar | pass |',
    '| --- | --- | --- | --- |',
    ...r.checks.map(
      (c) =>
        `| ${c.name} | ${fmt(c.value)} | ${c.bar}${c.note ? ` (${c.note})` : ''} | ${c.pass ? 'yes' : '**NO**'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** Writes bench/results/<name>.json and .md and prints the markdown. */
export function report(r: BenchResult): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const env = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    quick: QUICK,
    date: new Date().toISOString(),
    ...(process.env.BENCH_RUN_ID ? { runId: process.env.BENCH_RUN_ID } : {}),
  };
  writeFileSync(join(dir, `${r.name}.json`), JSON.stringify({ ...r, env }, null, 2) + '\n');
  const md = toMarkdown(r);
  writeFileSync(join(dir, `${r.name}.md`), md);
  console.log(md);
  if (r.checks.some((c) => !c.pass)) process.exitCode = 1;
}

/** Forces a full GC (needs --expose-gc) and returns heapUsed in bytes. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
