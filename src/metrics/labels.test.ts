/**
 * The cardinality cap bounds memory: a million distinct label values (what a per-client or
 * per-session label would produce) retain no more than the cap's worth of series.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { formatMetrics } from './exposition.js';
import { OVERFLOW_VALUE } from './labels.js';
import { Registry } from './registry.js';

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('cardinality cap', () => {
  it('1 million distinct label values keep memory bounded by the cap', () => {
    const gc = gcFunction();
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 100 });
    const c = r.counter({ name: 'per_client_total', help: 'h', labelNames: ['client'] });
    const h = r.histogram({
      name: 'per_client_seconds',
      help: 'h',
      buckets: [1, 2],
      labelNames: ['client'],
    });
    for (let i = 0; i < 1000; i++) c.labels(`warm-${i}`).inc(); // fill the cap first
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      const id = `client-${i}`;
      c.labels(id).inc();
      h.labels(id).observe(1);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    const families = r.collect();
    const counter = families.find((f) => f.name === 'per_client_total')!;
    expect(counter.series).toHaveLength(101); // the cap + the overflow series
    expect(counter.series[100]).toMatchObject({ labelValues: ['_overflow'], value: 1_000_900 });
    const dropped = families.find((f) => f.name === 'rws_metrics_label_sets_dropped_total')!;
    expect(Object.fromEntries(dropped.series.map((s) => [s.labelValues[0], s.value]))).toEqual({
      per_client_total: 1_000_900,
      per_client_seconds: 999_900,
    });
    // Unbounded, 1M ids would retain ≥ 100 MB (≈ 100+ B per id); the cap keeps it flat.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });

  it('a real label value equal to the overflow marker shares the overflow series (no duplicate)', () => {
    const r = new Registry({ clock: new ManualClock(), maxLabelSets: 2 });
    const c = r.counter({ name: 'rws_errs_total', help: 'Errors.', labelNames: ['code', 'kind'] });
    c.labels(OVERFLOW_VALUE, OVERFLOW_VALUE).inc(); // not a refusal: held apart from the cap
    c.labels(OVERFLOW_VALUE, 'x').inc(); // only some values equal to the marker: a set of its own
    c.labels('a', 'x').inc();
    c.labels('b', 'x').inc(); // over the cap: folded into the overflow series
    const text = formatMetrics(r.collect(), 'prometheus');
    expect(text.split('\n').filter((l) => l.startsWith('rws_errs_total{'))).toEqual([
      'rws_errs_total{code="_overflow",kind="x"} 1',
      'rws_errs_total{code="a",kind="x"} 1',
      'rws_errs_total{code="_overflow",kind="_overflow"} 2',
    ]);
    const dropped = r.collect().find((f) => f.name === 'rws_metrics_label_sets_dropped_total')!;
    expect(dropped.series).toMatchObject([{ labelValues: ['rws_errs_total'], value: 1 }]);
  });
});
