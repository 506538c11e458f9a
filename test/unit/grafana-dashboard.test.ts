/**
 * The Grafana dashboard (docs/grafana/resilient-ws.json) is built on the exported metrics:
 * every metric name in every panel's PromQL (and in the template variables) is one the server
 * registers, read from the metric catalogue (src/metrics/reference.ts), histograms through
 * their `_bucket`, `_sum` and `_count` series. A renamed or misspelt metric fails here rather
 * than as an empty panel. The alert rules in docs/operations.md are checked the same way, by
 * src/metrics/reference.test.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { metricsReference } from '../../src/metrics/reference.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DASHBOARD = 'docs/grafana/resilient-ws.json';

interface Datasource {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  datasource?: Datasource;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: Datasource;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  datasource?: Datasource;
  query?: string | { query?: string };
}
interface Dashboard {
  __inputs?: { name: string; type: string; pluginId: string }[];
  panels: Panel[];
  templating?: { list: Variable[] };
}

/** PromQL words that are not metric names. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers,
 * ranges, grouping label lists, Grafana variables, numbers and function names are removed.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] !== undefined || KEYWORDS.has(m[1]!.toLowerCase())) continue; // a function, a keyword
    names.push(m[1]!);
  }
  return names;
}

/** Every series name the server exposes, and which of them are counters (or histogram parts). */
function exported(): { all: Set<string>; monotonic: Set<string> } {
  const all = new Set<string>();
  const monotonic = new Set<string>();
  for (const m of metricsReference()) {
    const series =
      m.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name];
    for (const s of series) {
      all.add(s);
      if (m.type !== 'gauge') monotonic.add(s);
    }
  }
  return { all, monotonic };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const dashboard = JSON.parse(readFileSync(resolve(ROOT, DASHBOARD), 'utf8')) as Dashboard;
const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
const DS = '${DS_PROMETHEUS}';

describe('metricNames (PromQL)', () => {
  it('finds the selected metrics and skips functions, labels, ranges, variables and numbers', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(rws_ack_latency_seconds_bucket{instance=~"$instance", le!="x_y"}[$__rate_interval])))',
      ),
    ).toEqual(['rws_ack_latency_seconds_bucket']);
    expect(
      metricNames(
        'sum without (instance) (rate(a_total[5m] offset 1h)) / on(job) group_left(x) clamp_min(b, 1e-9) > bool 0.5 unless c',
      ),
    ).toEqual(['a_total', 'b', 'c']);
    expect(metricNames('process_open_fds{job="x"} / process_max_fds')).toEqual([
      'process_open_fds',
      'process_max_fds',
    ]);
  });
});

describe(DASHBOARD, () => {
  const { all, monotonic } = exported();

  it('has panels, each with a title, a Prometheus datasource and at least one query', () => {
    expect(panels.length).toBeGreaterThanOrEqual(12);
    expect(dashboard.__inputs).toContainEqual(
      expect.objectContaining({
        name: 'DS_PROMETHEUS',
        type: 'datasource',
        pluginId: 'prometheus',
      }),
    );
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.title?.trim(), `panel ${p.id} has no title`).toBeTruthy();
      expect(p.datasource, `panel "${p.title}" has no datasource`).toMatchObject({
        type: 'prometheus',
        uid: DS,
      });
      expect(p.targets?.length, `panel "${p.title}" has no query`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr?.trim(), `panel "${p.title}" ${t.refId}: no expr`).toBeTruthy();
        if (t.datasource !== undefined) expect(t.datasource.uid).toBe(DS);
      }
    }
  });

  it('names only metrics the server exports, in every panel expression', () => {
    const unknown: string[] = [];
    const notCounters: string[] = [];
    for (const p of panels)
      for (const t of p.targets ?? []) {
        const expr = t.expr ?? '';
        const names = metricNames(expr);
        if (names.length === 0) unknown.push(`"${p.title}" ${t.refId}: no metric in ${expr}`);
        for (const n of names) if (!all.has(n)) unknown.push(`"${p.title}" ${t.refId}: ${n}`);
        // rate() and increase() of a gauge is a silent mistake: only counters and histograms.
        for (const m of expr.matchAll(/\b(?:rate|irate|increase)\(\s*([a-zA-Z_:][\w:]*)/g))
          if (all.has(m[1]!) && !monotonic.has(m[1]!))
            notCounters.push(`"${p.title}" ${t.refId}: ${m[1]}`);
      }
    expect(unknown).toEqual([]);
    expect(notCounters).toEqual([]);
  });

  it('shows the process figures under their standard names', () => {
    const used = new Set(
      panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr ?? ''))),
    );
    expect(used).toContain('process_cpu_seconds_total');
    expect(used).toContain('process_resident_memory_bytes');
    expect(used).toContain('rws_ack_latency_seconds_bucket');
  });

  it('names only exported metrics in its template variables', () => {
    const vars = dashboard.templating?.list ?? [];
    for (const v of vars.filter((x) => x.type === 'query')) {
      expect(v.datasource?.uid).toBe(DS);
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\(\s*([^,]+),\s*\w+\s*\)$/.exec(q.trim());
      expect(m, `variable ${v.name}: ${q}`).not.toBeNull();
      for (const n of metricNames(m![1]!)) expect(all, `variable ${v.name}`).toContain(n);
    }
  });
});
