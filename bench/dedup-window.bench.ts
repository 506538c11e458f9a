/**
 * Dedup window (docs/performance.md "Bars", row "dedup window"): the full duplicate check, expiry
 * included, on a window tracking 1k, 10k, 100k and 1M ids, through the product's `DedupWindow`
 * (what `MemoryStore.append` does with an outbound idempotency id and `claimClientMessage` with an
 * inbound client message id: `get(id, now)`, and on a miss `set(id, value, now)`).
 *
 * Steady state: the window lasts N ms and `now` advances 1 ms per new id, so every new id
 * expires exactly one old one and the window stays at exactly N ids (asserted after every
 * round); `maxIds` is 2N, so the expiry, not the cap, does the evicting.
 *
 * Ids are the SDK's (client/options.ts): 12 random hex digits, `-`, a counter (14–20 chars).
 * Every id a check looks up is a fresh string made by `JSON.parse` of a batch, as a frame's
 * id would be: not internalized, its hash not yet computed, a different object from the one
 * stored. The batch is parsed before the timed part of each round.
 *
 * Three cases per size, each its own monomorphic loop, in the same paired, rotated rounds:
 * (a) a new id: miss + insert + expiry of one old id (the per-message cost),
 * (b) a retry of a recent id (one of the last 64): a hit,
 * (c) a hit on an id drawn uniformly among the N (worst case for caches at 1M).
 * Checks per round adapt to a time budget (see `measure`) so that a slow window cannot make
 * the run unbounded; the report says how many checks were recorded and, for (a), how many
 * times the window turned over (a figure from less than one turnover is not steady state).
 * For context, the original's O(n) approach: a list filtered for expiry and scanned on every
 * check, at 1k, 20k and 100k ids (a reconstruction; the original measured 62 µs → 397 µs).
 *
 * Two implementations run in the same rounds, each case of each its own variant: the
 * product's `DedupWindow` (a Map and a FIFO queue: a Map delete per expired id) and
 * `GenerationalDedupWindow` (lib/generational-dedup-window.ts: generations of Maps dropped
 * whole, no delete per id; issue 16, part 6). The bars and the quick gate apply to the
 * product's; the other is reported beside it, with its cost per round over the product's,
 * and the heap each retains per id at 1M.
 */
import { randomBytes } from 'node:crypto';
import { GenerationalDedupWindow } from './lib/generational-dedup-window.js';
import { DedupWindow } from '../src/store/dedup-window.js';
import {
  QUICK,
  atLeast,
  atMost,
  heapAfterGc,
  keep,
  pairedRatio,
  report,
  spread,
  type Check,
} from './lib/harness.js';

const ROUNDS = QUICK ? 15 : 31;
/** Unrecorded rounds; enough for a fast variant's checks per round to ramp up to MAX_CHECKS. */
const WARMUP = QUICK ? 5 : 7;
/** Most checks per variant per round (a fast variant always runs this many). */
const MAX_CHECKS = QUICK ? 20_000 : 100_000;
/** Work per variant per round that a slow variant's checks are cut down to, ms. */
const BUDGET_MS = QUICK ? 25 : 100;
const SIZES = [
  { label: '1k', n: 1_000 },
  { label: '10k', n: 10_000 },
  { label: '100k', n: 100_000 },
  { label: '1M', n: 1_000_000 },
];
/**
 * Quick gate: most cost at 100k ids over the cost at 1k (see the checks). About the geometric
 * mean of a cache-missing O(1) (≤ ~5x) and O(n) (~100x): each fails the other's side widely.
 */
const QUICK_RATIO_BAR = 20;
/** A "recent" retry: one of the last RECENT ids recorded. */
const RECENT = 64;
/** The SDK's default id prefix: 12 random hex digits and `-`. */
const PREFIX = `${randomBytes(6).toString('hex')}-`;

/** Fresh, non-internalized id strings for the given counters, as `JSON.parse` yields them. */
function freshIds(counters: ArrayLike<number>): string[] {
  const parts = new Array<string>(counters.length);
  for (let i = 0; i < counters.length; i++) parts[i] = `"${PREFIX}${counters[i]}"`;
  return JSON.parse(`[${parts.join(',')}]`) as string[];
}

function range(from: number, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = from + i;
  return out;
}

/** Uniform random counters in [from, from + span). */
function randomCounters(from: number, span: number, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = from + Math.floor(Math.random() * span);
  return out;
}

interface Case {
  name: string;
  /** Checks in the next round; adapted round by round (see `measure`). */
  iterations: number;
  /** Untimed: builds this round's input. */
  prepare(n: number): void;
  /** Timed: its own loop of n checks; returns how many came out as expected. */
  run(n: number): number;
  /** Untimed: throws unless the round did what it should. */
  verify(result: number, n: number): void;
}

/**
 * The harness's paired, interleaved, rotated rounds, with an untimed prepare and verify
 * around each variant's timed loop (fresh ids must be parsed outside the timing). Each
 * variant's checks per round start at its `iterations` and adapt after every round to about
 * `budgetMs` of work, at most doubling and never above `max`: a fast variant runs `max`
 * checks a round, a slow one fewer, so the whole run stays bounded whatever the product's
 * cost. Figures are per check, so rounds of different lengths compare.
 */
function measure(
  cases: readonly Case[],
  o: { rounds: number; warmup: number; budgetMs: number; max: number; min: number },
): { ns: Record<string, number[]>; checks: Record<string, number> } {
  const ns: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
  const counted: Record<string, number> = Object.fromEntries(cases.map((c) => [c.name, 0]));
  for (let round = 0; round < o.warmup + o.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length]!;
      const n = c.iterations;
      c.prepare(n);
      const start = process.hrtime.bigint();
      const result = c.run(n);
      const perCheck = Number(process.hrtime.bigint() - start) / n;
      keep(result);
      c.verify(result, n);
      if (round >= o.warmup) {
        ns[c.name]!.push(perCheck);
        counted[c.name]! += n;
      }
      const fit = Math.floor((o.budgetMs * 1e6) / perCheck);
      c.iterations = Math.max(o.min, Math.min(o.max, 2 * n, fit));
    }
  }
  return { ns, checks: counted };
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`dedup-window bench: ${what}`);
}

// ------------------------------------------------------------------ the two windows
/** What a check uses of a window; both implementations have it. */
interface Window {
  get(id: string, now: number): number | undefined;
  set(id: string, value: number, now: number): void;
  readonly size: number;
}

/**
 * The two implementations, side by side in the same rounds: the product's `DedupWindow` (a
 * Map and a FIFO queue, a Map delete per expired id) and `GenerationalDedupWindow`
 * (generations of Maps dropped whole, a cursor over their slots instead of a delete per id).
 */
const IMPLS = [
  {
    impl: 'queue',
    title: 'Map + FIFO queue (DedupWindow)',
    make: (n: number): Window => new DedupWindow<number>(n, 2 * n),
  },
  {
    impl: 'generations',
    title: 'generations (GenerationalDedupWindow)',
    make: (n: number): Window => new GenerationalDedupWindow<number>(n, 2 * n),
  },
] as const;
type Impl = (typeof IMPLS)[number]['impl'];
/** The implementation the bars and the quick gate apply to: the product's `DedupWindow`. */
const PRODUCT: Impl = 'queue';

interface Tracked {
  impl: Impl;
  label: string;
  n: number;
  window: Window;
  /** Counter of the next new id; ids next-n … next-1 are in the window. */
  next: number;
  /** The clock: the time of the last id recorded (1 ms per id). */
  now: number;
}

const tracked: Tracked[] = IMPLS.flatMap(({ impl, make }) =>
  SIZES.map(({ label, n }) => {
    const window = make(n);
    const ids = freshIds(range(1, n));
    for (let c = 1; c <= n; c++) {
      if (window.get(ids[c - 1]!, c) === undefined) window.set(ids[c - 1]!, c, c);
    }
    expect(window.size === n, `${impl} ${label}: filled to ${window.size}, not ${n}`);
    return { impl, label, n, window, next: n + 1, now: n };
  }),
);

const START_CHECKS = 1_000;

/**
 * The timed loops, written once per implementation: a loop shared by both would see two
 * classes at its call sites (polymorphic inline caches), and every variant must keep its own
 * monomorphic loop (bench/lib/harness.ts). The two copies are the same code.
 */
interface Loops {
  /** n new ids from `now`: get, and on a miss set; returns the misses and the new clock. */
  news(w: Window, ids: readonly string[], n: number, now: number): [number, number];
  /** n retries of recent ids at `now`; returns the hits. */
  recent(w: Window, ids: readonly string[], n: number, now: number): number;
  /** n lookups of random ids among the window's at `now`; returns the hits. */
  random(w: Window, ids: readonly string[], n: number, now: number): number;
}
const LOOPS: Record<Impl, Loops> = {
  queue: {
    news(w, ids, n, now) {
      let misses = 0;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        now++;
        if (w.get(id, now) === undefined) {
          w.set(id, now, now);
          misses++;
        }
      }
      return [misses, now];
    },
    recent(w, ids, n, now) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (w.get(ids[i]!, now) !== undefined) hits++;
      return hits;
    },
    random(w, ids, n, now) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (w.get(ids[i]!, now) !== undefined) hits++;
      return hits;
    },
  },
  generations: {
    news(w, ids, n, now) {
      let misses = 0;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        now++;
        if (w.get(id, now) === undefined) {
          w.set(id, now, now);
          misses++;
        }
      }
      return [misses, now];
    },
    recent(w, ids, n, now) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (w.get(ids[i]!, now) !== undefined) hits++;
      return hits;
    },
    random(w, ids, n, now) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (w.get(ids[i]!, now) !== undefined) hits++;
      return hits;
    },
  },
};

const caseName = (impl: Impl, kind: string, label: string): string => `${impl}: ${kind} @${label}`;

function newIdCase(t: Tracked): Case {
  let ids: string[] = [];
  const loop = LOOPS[t.impl].news;
  return {
    name: caseName(t.impl, 'new id', t.label),
    iterations: START_CHECKS,
    prepare(n) {
      ids = freshIds(range(t.next, n));
    },
    run(n) {
      const [misses, now] = loop(t.window, ids, n, t.now);
      t.now = now;
      return misses;
    },
    verify(misses, n) {
      t.next += n;
      expect(misses === n, `${this.name}: ${n - misses} of ${n} new ids reported as duplicates`);
      expect(t.window.size === t.n, `${this.name}: window holds ${t.window.size}, not ${t.n}`);
    },
  };
}

function recentHitCase(t: Tracked): Case {
  let ids: string[] = [];
  const loop = LOOPS[t.impl].recent;
  return {
    name: caseName(t.impl, 'recent hit', t.label),
    iterations: START_CHECKS,
    prepare(n) {
      ids = freshIds(randomCounters(t.next - RECENT, RECENT, n));
    },
    run(n) {
      return loop(t.window, ids, n, t.now);
    },
    verify(hits, n) {
      expect(hits === n, `${this.name}: ${n - hits} of ${n} recent ids missed`);
      expect(t.window.size === t.n, `${this.name}: window holds ${t.window.size}, not ${t.n}`);
    },
  };
}

function randomHitCase(t: Tracked): Case {
  let ids: string[] = [];
  const loop = LOOPS[t.impl].random;
  return {
    name: caseName(t.impl, 'random hit', t.label),
    iterations: START_CHECKS,
    prepare(n) {
      ids = freshIds(randomCounters(t.next - t.n, t.n, n));
    },
    run(n) {
      return loop(t.window, ids, n, t.now);
    },
    verify(hits, n) {
      expect(hits === n, `${this.name}: ${n - hits} of ${n} tracked ids missed`);
      expect(t.window.size === t.n, `${this.name}: window holds ${t.window.size}, not ${t.n}`);
    },
  };
}

const KINDS = [
  { kind: 'new id', title: '(a) new id: miss + insert + expire one', make: newIdCase },
  { kind: 'recent hit', title: '(b) retry of a recent id: hit', make: recentHitCase },
  { kind: 'random hit', title: '(c) hit on a uniformly random id', make: randomHitCase },
];
const started = Date.now();
const product = measure(
  KINDS.flatMap(({ make }) => tracked.map(make)),
  { rounds: ROUNDS, warmup: WARMUP, budgetMs: BUDGET_MS, max: MAX_CHECKS, min: 100 },
);
const productSecs = (Date.now() - started) / 1000;

/**
 * Heap retained by each implementation's window at 1M ids, after the rounds (steady state,
 * the ids' strings included): the heap after a full GC with the window, less the heap
 * after a full GC without it.
 */
const heapPerId: Partial<Record<Impl, number>> = {};
for (const t of tracked.filter((x) => x.label === '1M')) {
  const withIt = heapAfterGc();
  t.window = { get: () => undefined, set: () => undefined, size: 0 };
  heapPerId[t.impl] = (withIt - heapAfterGc()) / t.n;
}

// ------------------------------------------------------------------ the original's O(n) list
/** The original's approach, reconstructed: drop the expired entries and scan, every check. */
class ListWindow {
  private list: { id: string; at: number }[] = [];
  constructor(private readonly windowMs: number) {}
  get size(): number {
    return this.list.length;
  }
  /** Fills with distinct ids recorded at 1, 2, …: the state n checks would leave, in O(n). */
  fill(ids: readonly string[]): void {
    for (let i = 0; i < ids.length; i++) this.list.push({ id: ids[i]!, at: i + 1 });
  }
  isDuplicate(id: string, now: number): boolean {
    const windowMs = this.windowMs;
    this.list = this.list.filter((e) => e.at + windowMs > now);
    if (this.list.some((e) => e.id === id)) return true;
    this.list.push({ id, at: now });
    return false;
  }
}

/** 100k also in quick mode: the positive control of the quick gate (1k → 100k, see below). */
const LIST_SIZES = [
  { label: '1k', n: 1_000 },
  { label: '20k', n: 20_000 },
  { label: '100k', n: 100_000 },
];
const LIST_ROUNDS = QUICK ? 5 : 15;
const listCases: Case[] = LIST_SIZES.map(({ label, n }) => {
  const list = new ListWindow(n);
  list.fill(freshIds(range(1, n)));
  let now = n;
  let next = n + 1;
  let ids: string[] = [];
  return {
    name: `original O(n) list, new id @${label}`,
    iterations: 10,
    prepare(count) {
      ids = freshIds(range(next, count));
    },
    run(count) {
      let misses = 0;
      let t = now;
      for (let i = 0; i < count; i++) if (!list.isDuplicate(ids[i]!, ++t)) misses++;
      now = t;
      return misses;
    },
    verify(misses, count) {
      next += count;
      expect(misses === count, `${this.name}: ${count - misses} new ids reported as duplicates`);
      expect(list.size === n, `${this.name}: list holds ${list.size}, not ${n}`);
    },
  };
});
const original = measure(listCases, {
  rounds: LIST_ROUNDS,
  warmup: 3,
  budgetMs: QUICK ? 10 : 30,
  max: 2_000,
  min: 10,
});

// ------------------------------------------------------------------ context: Map iterators
/**
 * Why an eviction through a Map iterator is not O(1) in V8: a Map keeps deleted entries in
 * its table until it is rehashed, and a fresh iterator steps over every one of them. This
 * times `map.keys().next()` (what `for (… of map)` and `map.keys().next()` start with) on a
 * Map whose first `holes` entries were deleted, as dropping the oldest ids leaves them.
 */
const HOLES = QUICK ? [0, 10_000, 100_000] : [0, 10_000, 100_000, 1_000_000];
const iteratorNs: Record<string, number> = {};
for (const holes of HOLES) {
  const live = Math.max(holes, 1_000); // at least a quarter full: V8 would shrink it otherwise
  const map = new Map<string, number>();
  const ids = freshIds(range(0, holes + live));
  for (let i = 0; i < ids.length; i++) map.set(ids[i]!, i);
  for (let i = 0; i < holes; i++) map.delete(ids[i]!);
  expect(map.size === live, `iterator context: ${map.size} live, not ${live}`);
  const calls = Math.max(20, Math.min(100_000, Math.floor(2e7 / (holes + 10))));
  const per: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = process.hrtime.bigint();
    let len = 0;
    for (let i = 0; i < calls; i++) len += map.keys().next().value!.length;
    per.push(Number(process.hrtime.bigint() - start) / calls);
    keep(len);
  }
  iteratorNs[holes] = spread(per).median;
}

// ------------------------------------------------------------------ report
const fmtRange = (x: { median: number; q1: number; q3: number }, digits: number): string =>
  `${x.median.toFixed(digits)} (${x.q1.toFixed(digits)}–${x.q3.toFixed(digits)})`;
const rows: (string | number)[][] = [];
const checks: Check[] = [];
const figures: Record<string, unknown> = {};
for (const { kind, title } of KINDS) {
  const productBase = product.ns[caseName(PRODUCT, kind, '1k')]!;
  let worst = { label: '', ns: 0 };
  for (const { label, n } of SIZES) {
    const queue = product.ns[caseName('queue', kind, label)]!;
    for (const { impl, title: implTitle } of IMPLS) {
      const name = caseName(impl, kind, label);
      const s = product.ns[name]!;
      const ns = spread(s);
      const ratio = pairedRatio(s, product.ns[caseName(impl, kind, '1k')]!);
      const toQueue = pairedRatio(s, queue);
      const counted = product.checks[name]!;
      figures[name] = { ns, ratioTo1k: ratio, ratioToQueue: toQueue, checks: counted };
      rows.push([
        title,
        implTitle,
        label,
        fmtRange(ns, 1),
        label === '1k' ? '—' : `${fmtRange(ratio, 2)}×`,
        impl === 'queue' ? '—' : `${fmtRange(toQueue, 2)}×`,
        kind === 'new id' ? `${counted} (${(counted / n).toFixed(2)} × N)` : counted,
      ]);
      if (impl === PRODUCT && ns.median > worst.ns) worst = { label, ns: ns.median };
    }
  }
  if (QUICK)
    // What the design guarantees is no O(n): the original's list scan read 92x from 1k to 20k
    // ids, and its reconstruction reads ~100x and more from 1k to 100k (the control below).
    // Cache sizes are not guaranteed: an O(1) check that misses the caches at 100k costs a
    // few dependent memory loads more, machine-dependent (random hit 4.6x here, and 3x at
    // only 10k on another EPYC), so the bar sits between the two, on a log scale.
    checks.push(
      atMost(
        `${kind}: cost at 100k / cost at 1k (paired ratio median)`,
        pairedRatio(product.ns[caseName(PRODUCT, kind, '100k')]!, productBase).median,
        QUICK_RATIO_BAR,
        `quick mode: a gate for no O(n), not for cache sizes: O(n) reads ~100x over 100x the ids, an O(1) that misses the caches a few x; the original O(n) list is the positive control; full mode checks the bars at 1M`,
      ),
    );
  else
    checks.push(
      atMost(
        `${kind}: cost at 1M / cost at 1k (paired ratio median)`,
        pairedRatio(product.ns[caseName(PRODUCT, kind, '1M')]!, productBase).median,
        1.5,
      ),
      atMost(`${kind}: ns per check at the slowest size (${worst.label})`, worst.ns, 200),
    );
}
for (const { impl, title } of IMPLS) {
  rows.push([
    'context: heap retained per id at 1M, after the rounds (bytes, the id strings included)',
    title,
    '1M',
    heapPerId[impl]!.toFixed(1),
    '—',
    impl === 'queue' ? '—' : `${(heapPerId[impl]! / heapPerId.queue!).toFixed(2)}×`,
    '—',
  ]);
}
figures.heapBytesPerIdAt1M = heapPerId;
const listBase = original.ns[listCases[0]!.name]!;
if (QUICK)
  // The positive control: the same gate applied to the original O(n) list must trip.
  checks.push(
    atLeast(
      'positive control: the original O(n) list, new id, cost at 100k / cost at 1k (paired ratio median)',
      pairedRatio(original.ns['original O(n) list, new id @100k']!, listBase).median,
      2 * QUICK_RATIO_BAR,
      `quick mode: proves the ${QUICK_RATIO_BAR}x gate above would fail an O(n) window, with room (2x over it; read 98-518x over several runs)`,
    ),
  );
for (const { label } of LIST_SIZES) {
  const name = `original O(n) list, new id @${label}`;
  const s = original.ns[name]!;
  const ns = spread(s);
  figures[name] = { ns, checks: original.checks[name] };
  rows.push([
    'context: the original O(n) list (filter + scan), new id',
    '—',
    label,
    `${fmtRange({ median: ns.median / 1000, q1: ns.q1 / 1000, q3: ns.q3 / 1000 }, 1)} µs`,
    label === '1k' ? '—' : `${fmtRange(pairedRatio(s, listBase), 1)}×`,
    '—',
    original.checks[name]!,
  ]);
}
for (const holes of HOLES) {
  rows.push([
    `context (V8): a fresh Map iterator's first step behind ${holes} deleted entries`,
    '—',
    '—',
    iteratorNs[holes]!,
    '—',
    '—',
    '—',
  ]);
}
figures.iteratorNsByDeletedEntries = iteratorNs;

// The floor under any hash table at 1M ids: one dependent load that misses the caches. A
// random cyclic permutation over 16M slots (64 MB, far above the L2/L3 here) is chased so
// every load depends on the previous one; ns per load, median of 5.
function memoryLatencyNs(): number {
  const n = QUICK ? 1 << 22 : 1 << 24;
  const next = new Uint32Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let i = 0; i < n; i++) next[order[i]!] = order[(i + 1) % n]!;
  const steps = 2_000_000;
  const runs: number[] = [];
  let p = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) p = next[p]!;
    runs.push(Number(process.hrtime.bigint() - t0) / steps);
  }
  keep(p);
  return spread(runs).median;
}
const missNs = memoryLatencyNs();
rows.push([
  `context (machine): one dependent memory load that misses the caches (pointer chase over ${QUICK ? 16 : 64} MB)`,
  '—',
  '—',
  missNs,
  '—',
  '—',
  '—',
]);
figures.cacheMissNs = missNs;

report({
  row: 'dedup window',
  name: 'dedup-window',
  title: 'Dedup window: the full duplicate check, expiry included',
  method:
    `One process. Two implementations of the window, each tracking N = 1k, 10k, 100k, 1M ids in steady state: the product's DedupWindow (src/store/dedup-window.ts: a Map and a FIFO queue, a Map delete per expired id; the bars apply to it) and GenerationalDedupWindow (bench/lib/generational-dedup-window.ts: generations of Maps dropped whole, a cursor over their slots instead of a delete per id). ` +
    `the window lasts N ms and the clock advances 1 ms per new id, so each new id expires exactly one old one and the window holds exactly N ids (asserted after every round; maxIds = 2N so expiry, not the cap, evicts). ` +
    `A check is what the store does per message (append's outbound id, claimClientMessage's inbound id): get(id, now), and on a miss set(id, value, now). ` +
    `Ids in the SDK's format (12 random hex digits, "-", a counter; 14–20 chars), each a fresh string from JSON.parse of a batch parsed before the timed part of the round (not internalized, hash not yet computed, a different object from the stored key), read from an array in the timed loop. ` +
    `(a) new ids (every one a miss, asserted); (b) retries of one of the last ${RECENT} ids (every one a hit, asserted); (c) ids drawn uniformly among the N (every one a hit, asserted). ` +
    `All 24 implementation × size × case variants in the same paired, interleaved, rotated rounds (${ROUNDS} recorded after ${WARMUP} warm-up${QUICK ? ', quick mode' : ''}), each variant its own loop (the loops written once per implementation, so that no call site sees both classes). Both live in one heap, so a GC one of them causes can land in the other's timing. ` +
    `Checks per variant per round: up to ${MAX_CHECKS}, cut to about ${BUDGET_MS} ms of work for a slow variant (adapted after every round, at most doubling), so the run stays bounded; the last column gives the checks recorded, and for (a) how many times the window turned over. ` +
    `A figure from less than one turnover (×N < 1) has not seen the window's steady state. ` +
    `ns per check as median (IQR); ratios are per-round paired against the same case at 1k of the same implementation, and ("/ queue") against the product's window in the same round. ` +
    `Context: the heap each retains per id at 1M after the rounds (heap after a full GC with the window less without it; the id strings included); ` +
    `the original's approach reconstructed (an array filtered for expiry and scanned with some() on every check), new ids at 1k, 20k and 100k in steady state, ${LIST_ROUNDS} rounds (in quick mode the positive control of the gate); ` +
    `and the cost (ns, median of 7) of a fresh Map iterator's first step when deleted entries lie before the first live one, which is what an eviction through a Map iterator pays; ` +
    `and this machine's memory latency (a dependent load that misses every cache), the floor under each lookup of a random key among 1M: a new id costs at least a lookup miss, an insert and the expired id's delete.`,
  table: {
    columns: [
      'case',
      'implementation',
      'ids tracked',
      'ns per check, median (IQR)',
      '/ same case at 1k',
      '/ queue, same rounds',
      'checks recorded (turnovers)',
    ],
    rows,
  },
  checks,
  data: { samples: product.ns, original: original.ns, figures, productSecs },
});
