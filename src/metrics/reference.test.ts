import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PRODUCT_METRICS } from './product-metrics.js';
import { metricsReference } from './reference.js';

describe('metricsReference', () => {
  it('lists every registered metric once, with the rws_ prefix (or a standard process_ name), help and base-unit names', () => {
    const ref = metricsReference();
    const names = ref.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of Object.values(PRODUCT_METRICS)) expect(names).toContain(m.name);
    for (const m of ref) {
      // The process_* names are the Prometheus client guidelines' (dashboards expect them).
      if (m.name.startsWith('process_')) expect(m.source).toBe('process');
      else expect(m.name).toMatch(/^rws_[a-z0-9_]+$/);
      expect(m.help.length).toBeGreaterThan(10);
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      expect(m.name).not.toMatch(/_(ms|milliseconds|kb|mb)(_|$)/);
    }
    expect(names).toContain('rws_process_cpu_user_seconds_total');
    for (const standard of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
    ])
      expect(names).toContain(standard);
    expect(names).toContain('rws_metrics_label_sets_dropped_total');
  });
});

describe('docs/operations.md', () => {
  const doc = readFileSync(
    fileURLToPath(new URL('../../docs/operations.md', import.meta.url)),
    'utf8',
  );

  it('documents every metric the server registers', () => {
    const missing = metricsReference()
      .map((m) => m.name)
      .filter((name) => !doc.includes('`' + name + '`'));
    expect(missing).toEqual([]);
  });

  it('cites no metric that does not exist (alerts and queries included)', () => {
    const names = new Set(metricsReference().map((m) => m.name));
    const suffix = /_(bucket|count|sum|created)$/;
    const unknown = [...new Set(doc.match(/\b(rws|process)_[a-z0-9_]+/g) ?? [])].filter(
      (n) => !names.has(n) && !names.has(n.replace(suffix, '')) && !n.endsWith('_'),
    );
    expect(unknown).toEqual([]);
  });
});
