import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { formatMetrics, negotiate } from './exposition.js';
import { Registry } from './registry.js';

function sample(): Registry {
  const r = new Registry({ clock: new ManualClock(1_700_000_000_000) });
  const c = r.counter({
    name: 'rws_things_total',
    help: 'Things "counted"\\ here\nsecond line.',
    labelNames: ['reason'],
  });
  c.labels('a "quoted"\\ value\nwith newline').inc(3);
  r.gauge({ name: 'rws_open', help: 'Open things.', collect: () => 2 });
  const h = r.histogram({
    name: 'rws_lat_seconds',
    help: 'Latency.',
    unit: 'seconds',
    buckets: [0.5, 1],
  });
  h.observe(0.25);
  h.observe(0.75);
  h.observe(5);
  return r;
}

describe('exposition', () => {
  it('writes Prometheus text 0.0.4 with HELP, TYPE, escaping and cumulative buckets', () => {
    expect(formatMetrics(sample().collect(), 'prometheus')).toBe(
      [
        '# HELP rws_metrics_label_sets_dropped_total Label sets refused because their metric reached its cap (counted into the overflow series instead).',
        '# TYPE rws_metrics_label_sets_dropped_total counter',
        '# HELP rws_things_total Things "counted"\\\\ here\\nsecond line.',
        '# TYPE rws_things_total counter',
        'rws_things_total{reason="a \\"quoted\\"\\\\ value\\nwith newline"} 3',
        '# HELP rws_open Open things.',
        '# TYPE rws_open gauge',
        'rws_open 2',
        '# HELP rws_lat_seconds Latency.',
        '# TYPE rws_lat_seconds histogram',
        'rws_lat_seconds_bucket{le="0.5"} 1',
        'rws_lat_seconds_bucket{le="1"} 2',
        'rws_lat_seconds_bucket{le="+Inf"} 3',
        'rws_lat_seconds_sum 6',
        'rws_lat_seconds_count 3',
        '',
      ].join('\n'),
    );
  });

  it('writes OpenMetrics 1.0: counter families without _total, UNIT, _created, escaped HELP, # EOF', () => {
    expect(formatMetrics(sample().collect(), 'openmetrics')).toBe(
      [
        '# HELP rws_metrics_label_sets_dropped Label sets refused because their metric reached its cap (counted into the overflow series instead).',
        '# TYPE rws_metrics_label_sets_dropped counter',
        '# HELP rws_things Things \\"counted\\"\\\\ here\\nsecond line.',
        '# TYPE rws_things counter',
        'rws_things_total{reason="a \\"quoted\\"\\\\ value\\nwith newline"} 3',
        'rws_things_created{reason="a \\"quoted\\"\\\\ value\\nwith newline"} 1700000000',
        '# HELP rws_open Open things.',
        '# TYPE rws_open gauge',
        'rws_open 2',
        '# HELP rws_lat_seconds Latency.',
        '# TYPE rws_lat_seconds histogram',
        '# UNIT rws_lat_seconds seconds',
        'rws_lat_seconds_bucket{le="0.5"} 1',
        'rws_lat_seconds_bucket{le="1.0"} 2',
        'rws_lat_seconds_bucket{le="+Inf"} 3',
        'rws_lat_seconds_sum 6',
        'rws_lat_seconds_count 3',
        'rws_lat_seconds_created 1700000000',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('writes NaN and infinities the way both parsers read them', () => {
    const r = new Registry({ clock: new ManualClock() });
    r.gauge({
      name: 'v',
      help: 'h',
      labelNames: ['k'],
      collect: () => [
        [['nan'], NaN],
        [['inf'], Infinity],
        [['ninf'], -Infinity],
      ],
    });
    const text = formatMetrics(r.collect(), 'prometheus');
    expect(text).toContain('v{k="nan"} NaN\n');
    expect(text).toContain('v{k="inf"} +Inf\n');
    expect(text).toContain('v{k="ninf"} -Inf\n');
  });

  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 'prometheus'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
    // A parameter value may be a quoted string (RFC 9110).
    ['application/openmetrics-text; version="1.0.0"; charset=utf-8', 'openmetrics'],
    ['application/openmetrics-text; version="2.0.0"', 'prometheus'],
    // What Prometheus 2.x sends by default.
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['application/openmetrics-text;q=0.3,text/plain;q=0.9', 'prometheus'],
    ['application/openmetrics-text;version=2.0.0', 'prometheus'],
    ['application/openmetrics-text;q=0', 'prometheus'],
  ] as const)('negotiates %s → %s', (accept, format) => {
    expect(negotiate(accept)).toBe(format);
  });
});
