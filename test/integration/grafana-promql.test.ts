/**
 * Every PromQL expression of the Grafana dashboard (docs/grafana/resilient-ws.json) parses:
 * `promtool check rules` on a throw-away recording rule per panel query, with Grafana's
 * variables replaced by plain values. The metric names are checked by the unit test
 * test/unit/grafana-dashboard.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Panel {
  id: number;
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}

const promtool = spawnSync('which', ['promtool']).status === 0;
if (!promtool && process.env.CI !== 'true')
  console.warn('SKIPPED: promtool not found (apt-get install prometheus); CI=true fails instead');

describe('the Grafana dashboard', () => {
  it.skipIf(!promtool && process.env.CI !== 'true')('has only PromQL that promtool parses', () => {
    expect(promtool, 'promtool is required under CI (Debian package prometheus)').toBe(true);
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'docs/grafana/resilient-ws.json'), 'utf8'),
    ) as { panels: Panel[] };
    const rules: { record: string; expr: string }[] = [];
    const walk = (panels: Panel[]): void => {
      for (const p of panels) {
        walk(p.panels ?? []);
        for (const t of p.targets ?? [])
          rules.push({
            record: `dashboard:panel_${p.id}:${t.refId}`,
            expr: t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*'),
          });
      }
    };
    walk(dashboard.panels);
    expect(rules.length).toBeGreaterThan(12);
    const dir = mkdtempSync(join(tmpdir(), 'rws-grafana-'));
    try {
      const file = join(dir, 'rules.yml'); // JSON is YAML
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
