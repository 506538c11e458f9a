import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { isRwsError } from '../errors.js';
import { Registry } from './registry.js';
import type { FamilySnapshot } from './types.js';

const family = (r: Registry, name: string): FamilySnapshot => {
  const f = r.collect().find((x) => x.name === name);
  if (f === undefined) throw new Error(`no ${name}`);
  return f;
};

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isRwsError(e) ? e.code : 'not-rws';
  }
  return undefined;
};

describe('Registry', () => {
  it('counts with pre-bound children and reports each label set with its creation time', () => {
    const clock = new ManualClock(1_000_000);
    const r = new Registry({ clock });
    const c = r.counter({ name: 'x_total', help: 'h', labelNames: ['reason'] });
    const a = c.labels('a');
    clock.advance(500);
    const b = c.labels('b');
    a.inc();
    a.inc(2);
    b.inc();
    expect(c.labels('a')).toBe(a);
    expect(family(r, 'x_total').series).toEqual([
      { labelValues: ['a'], value: 3, created: 1000 },
      { labelValues: ['b'], value: 1, created: 1000.5 },
    ]);
  });

  it('an unlabelled counter increments directly; a negative or NaN increment throws', () => {
    const r = new Registry({ clock: new ManualClock() });
    const c = r.counter({ name: 'y_total', help: 'h' });
    c.inc();
    c.inc(0.5);
    expect(family(r, 'y_total').series[0]!.value).toBe(1.5);
    expect(code(() => c.inc(-1))).toBe('metric_bad_value');
    expect(code(() => c.inc(NaN))).toBe('metric_bad_value');
    expect(family(r, 'y_total').series[0]!.value).toBe(1.5);
  });

  it('a counter computed at scrape time reads its callback and cannot be incremented', () => {
    const r = new Registry({ clock: new ManualClock() });
    let v = 1;
    const c = r.counter({
      name: 'cpu_seconds_total',
      help: 'h',
      unit: 'seconds',
      collect: () => v,
    });
    v = 7;
    expect(family(r, 'cpu_seconds_total').series).toEqual([
      { labelValues: [], value: 7, created: 1_700_000_000 },
    ]);
    expect(code(() => c.labels())).toBe('metric_read_only');
  });

  it('gauges are computed by their callback at each collection, never in between', () => {
    const r = new Registry({ clock: new ManualClock() });
    let calls = 0;
    r.gauge({ name: 'g', help: 'h', collect: () => ++calls });
    expect(calls).toBe(0);
    expect(family(r, 'g').series[0]!.value).toBe(1);
    expect(family(r, 'g').series[0]!.value).toBe(2);
    r.gauge({ name: 'none', help: 'h', collect: () => undefined });
    expect(family(r, 'none').series).toEqual([]);
  });

  it('a labelled gauge over the cap sums the rest into the overflow series and counts the drops', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 2 });
    r.gauge({
      name: 'lg',
      help: 'h',
      labelNames: ['k'],
      collect: () => [
        [['a'], 1],
        [['b'], 2],
        [['c'], 3],
        [['d'], 4],
      ],
    });
    expect(family(r, 'lg').series).toEqual([
      { labelValues: ['a'], value: 1 },
      { labelValues: ['b'], value: 2 },
      { labelValues: ['_overflow'], value: 7 },
    ]);
    expect(family(r, 'rws_metrics_label_sets_dropped_total').series).toMatchObject([
      { labelValues: ['lg'], value: 2 },
    ]);
  });

  it('a labelled counter computed at scrape time sums repeated label sets and caps them like a gauge', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 2 });
    r.counter({
      name: 'rws_things_total',
      help: 'Things.',
      labelNames: ['kind'],
      collect: () => [
        [['a'], 1],
        [['b'], 2],
        [['c'], 3],
        [['d'], 4],
        [['d'], 5],
        [['a'], 10],
      ],
    });
    expect(family(r, 'rws_things_total').series).toEqual([
      { labelValues: ['a'], value: 11 },
      { labelValues: ['b'], value: 2 },
      { labelValues: ['_overflow'], value: 12 },
    ]);
    expect(family(r, 'rws_metrics_label_sets_dropped_total').series).toMatchObject([
      { labelValues: ['rws_things_total'], value: 2 },
    ]);
  });

  it('a metric computed at scrape time counts each refused label set once, not once per scrape', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 3 });
    let sets = ['a', 'b', 'c', 'd'];
    r.gauge({
      name: 'lg',
      help: 'h',
      labelNames: ['k'],
      collect: () => sets.map((k) => [[k], 1] as const),
    });
    const dropped = (): number | undefined =>
      family(r, 'rws_metrics_label_sets_dropped_total').series[0]?.value;
    expect(dropped()).toBe(1); // counted in the scrape that refused it
    expect(dropped()).toBe(1);
    expect(dropped()).toBe(1);
    sets = ['a', 'b', 'c', 'e', 'd']; // one more refused label set
    expect(dropped()).toBe(2);
    expect(family(r, 'lg').series.at(-1)).toEqual({ labelValues: ['_overflow'], value: 2 });
    sets = ['a', 'b', 'c', 'f'];
    expect(dropped()).toBe(3);
    // At most `maxLabelSets` refused sets are remembered: past that, new ones go uncounted
    // (the count may fall short, but never grows with the number of scrapes).
    sets = ['a', 'b', 'c', 'g'];
    expect(dropped()).toBe(3);
    expect(dropped()).toBe(3);
  });

  it('a scrape-time counter with an explicit created reports it as the _created of its series', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 1 });
    r.counter({
      name: 'a_seconds_total',
      help: 'h',
      unit: 'seconds',
      created: 5,
      collect: () => 1,
    });
    r.counter({
      name: 'b_total',
      help: 'h',
      labelNames: ['k'],
      created: 7,
      collect: () => [
        [['x'], 1],
        [['y'], 2],
      ],
    });
    expect(family(r, 'a_seconds_total').series).toEqual([
      { labelValues: [], value: 1, created: 5 },
    ]);
    expect(family(r, 'b_total').series).toEqual([
      { labelValues: ['x'], value: 1, created: 7 },
      { labelValues: ['_overflow'], value: 2, created: 7 },
    ]);
  });

  it('caps label sets per metric: the excess goes to one overflow series and is counted', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 3 });
    const c = r.counter({ name: 'codes_total', help: 'h', labelNames: ['code', 'kind'] });
    for (let i = 0; i < 10; i++) c.labels(`c${i}`, 'k').inc();
    const f = family(r, 'codes_total');
    expect(f.series.map((s) => s.labelValues)).toEqual([
      ['c0', 'k'],
      ['c1', 'k'],
      ['c2', 'k'],
      ['_overflow', '_overflow'],
    ]);
    expect(f.series[3]!.value).toBe(7);
    expect(family(r, 'rws_metrics_label_sets_dropped_total').series).toMatchObject([
      { labelValues: ['codes_total'], value: 7 },
    ]);
  });

  it('label sets are keyed injectively (values that would join alike stay apart)', () => {
    const r = new Registry({ clock: new ManualClock() });
    const c = r.counter({ name: 'pairs_total', help: 'h', labelNames: ['a', 'b'] });
    c.labels('1:x', '').inc();
    c.labels('', '1:x').inc();
    expect(family(r, 'pairs_total').series).toHaveLength(2);
  });

  it('histograms count per bucket (le is inclusive), sum and count; NaN is ignored', () => {
    const r = new Registry({ clock: new ManualClock() });
    const h = r.histogram({ name: 'lat_seconds', help: 'h', unit: 'seconds', buckets: [0.1, 1] });
    for (const v of [0.05, 0.1, 0.5, 1, 2, NaN]) h.observe(v);
    const s = family(r, 'lat_seconds').series[0]!;
    expect(s.buckets).toEqual([2, 2, 1]);
    expect(s.value).toBe(5);
    expect(s.sum).toBeCloseTo(3.65);
  });

  it('estimates quantiles by interpolating inside buckets', () => {
    const r = new Registry({ clock: new ManualClock() });
    const h = r.histogram({ name: 'q', help: 'h', buckets: [1, 2, 4] });
    expect(h.child!.quantile(0.5)).toBeUndefined();
    for (let i = 0; i < 50; i++) h.observe(0.5);
    for (let i = 0; i < 50; i++) h.observe(3);
    expect(h.child!.quantile(0.5)).toBe(1);
    expect(h.child!.quantile(0.75)).toBe(3);
    h.observe(100);
    expect(h.child!.quantile(1)).toBe(4);
  });

  it('refuses bad names, units, buckets, labels and duplicates with stable codes', () => {
    const r = new Registry({ clock: new ManualClock() });
    expect(code(() => r.counter({ name: 'no_suffix', help: 'h' }))).toBe('metric_bad_name');
    expect(code(() => r.gauge({ name: '1bad', help: 'h', collect: () => 0 }))).toBe(
      'metric_bad_name',
    );
    expect(code(() => r.gauge({ name: 'x_count', help: 'h', collect: () => 0 }))).toBe(
      'metric_bad_name',
    );
    expect(code(() => r.gauge({ name: 'mem', help: 'h', unit: 'bytes', collect: () => 0 }))).toBe(
      'metric_bad_name',
    );
    expect(code(() => r.histogram({ name: 'h1', help: 'h', buckets: [2, 1] }))).toBe(
      'metric_bad_buckets',
    );
    expect(code(() => r.histogram({ name: 'h2', help: 'h', buckets: [1, Infinity] }))).toBe(
      'metric_bad_buckets',
    );
    expect(
      code(() => r.histogram({ name: 'h3', help: 'h', buckets: [1], labelNames: ['le'] })),
    ).toBe('metric_bad_label');
    expect(code(() => r.counter({ name: 'l_total', help: 'h', labelNames: ['__x'] }))).toBe(
      'metric_bad_label',
    );
    // Only counters may end with _total (promtool rejects any other type named so).
    expect(code(() => r.gauge({ name: 'open_total', help: 'h', collect: () => 1 }))).toBe(
      'metric_bad_name',
    );
    expect(
      code(() =>
        r.histogram({ name: 'lat_seconds_total', help: 'h', unit: 'seconds', buckets: [1] }),
      ),
    ).toBe('metric_bad_name');
    r.counter({ name: 'dup_total', help: 'h' });
    expect(code(() => r.counter({ name: 'dup_total', help: 'h' }))).toBe('metric_exists');
    // OpenMetrics names the counter's family `dup`: a gauge `dup` would clash with it.
    expect(code(() => r.gauge({ name: 'dup', help: 'h', collect: () => 0 }))).toBe('metric_exists');
    const c = r.counter({ name: 'two_total', help: 'h', labelNames: ['a', 'b'] });
    expect(code(() => c.labels('only-one'))).toBe('metric_bad_label');
    expect(code(() => c.inc())).toBe('metric_bad_label');
    expect(code(() => new Registry({ maxLabelSets: 0 }))).toBe('metric_bad_cap');
  });

  it('two registries share nothing (no process-global state)', () => {
    const a = new Registry({ clock: new ManualClock() });
    const b = new Registry({ clock: new ManualClock() });
    a.counter({ name: 'same_total', help: 'h' }).inc(5);
    b.counter({ name: 'same_total', help: 'h' });
    expect(family(b, 'same_total').series[0]!.value).toBe(0);
  });
});
