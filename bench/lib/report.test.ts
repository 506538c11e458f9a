import { describe, expect, it } from 'vitest';
import { BAR_ROWS, atLeast, atMost, measureRounds, pairedRatio, spread } from './harness.js';
import { BARS, NOT_MEASURED, buildReport, checksByRow, type StoredResult } from './report.js';

function result(
  name: string,
  row: StoredResult['row'],
  checks: StoredResult['checks'],
  runId = 'r1',
): StoredResult {
  return {
    name,
    title: `${name} title`,
    row,
    method: 'how',
    table: { columns: ['a', 'b'], rows: [['x', 1.5]] },
    checks,
    env: { node: 'v20', quick: false, date: '2026-11-27T00:00:00Z', runId },
  };
}

describe('harness statistics', () => {
  it('spread gives the median, quartiles and extremes of unsorted values', () => {
    const s = spread([5, 1, 4, 2, 3]);
    expect(s).toEqual({ median: 3, q1: 2, q3: 4, min: 1, max: 5, n: 5 });
    expect(spread([1, 2, 3, 4]).median).toBe(2.5);
  });

  it('pairedRatio divides round by round, so a slow round hits both sides', () => {
    // Round 2 is 10x slower for both variants: the per-round ratio stays 2.
    const r = pairedRatio([2, 20, 2], [1, 10, 1]);
    expect(r.median).toBe(2);
    expect(r.min).toBe(2);
    expect(r.max).toBe(2);
  });

  it('checks compare against their bar in the stated direction', () => {
    expect(atMost('x', 1.0, 1.0).pass).toBe(true);
    expect(atMost('x', 1.01, 1.0).pass).toBe(false);
    expect(atLeast('x', 0.99, 1.0).pass).toBe(false);
    expect(atLeast('x', 2, 1.0, 'why').note).toBe('why');
  });

  it('measureRounds runs every variant once per round in a rotated order', () => {
    const order: string[] = [];
    const variant = (name: string) => ({
      name,
      run: (n: number) => {
        order.push(name);
        return n;
      },
    });
    const samples = measureRounds([variant('a'), variant('b'), variant('c')], {
      rounds: 3,
      iterations: 10,
      warmup: 0,
    });
    expect(order).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    expect(samples.a).toHaveLength(3);
    expect(samples.b).toHaveLength(3);
  });
});

describe('REPORT.md', () => {
  const hash = result('hash', 'hash', [atLeast('speed-up at 10 KB', 5.4, 5)]);
  const breaker = result('breaker', 'circuit breaker', [
    atMost('state check', 0.01, 1),
    atMost('execute overhead', 72, 60),
  ]);
  const e2e = result('e2e-push', 'end-to-end push', [
    atLeast('vs ws', 1.7, 1),
    { ...atMost('p99 vs ws', 1.2, 1.5), row: 'latency' },
  ]);

  it('groups checks by their docs/performance.md ("Bars") row; a check may name another row', () => {
    const byRow = checksByRow([hash, breaker, e2e]);
    expect(byRow.get('circuit breaker')).toHaveLength(2);
    expect(byRow.get('end-to-end push')?.map((c) => c.check.name)).toEqual(['vs ws']);
    expect(byRow.get('latency')?.map((c) => c.check.name)).toEqual(['p99 vs ws']);
  });

  it('has a scorecard line for every row, with met, missed and no-figure rows told apart', () => {
    const md = buildReport({ results: [hash, breaker, e2e], machine: '- CPU: test', quick: false });
    for (const row of BAR_ROWS) expect(md).toContain(`| ${row} | ${BARS[row]} |`);
    expect(md).toMatch(/\| hash \| .* \| 1 \/ 1 \| met \|/);
    expect(md).toMatch(/\| circuit breaker \| .* \| 1 \/ 2 \| \*\*missed 1\*\* \|/);
    expect(md).toMatch(/\| cleanup \| .* \| 0 \/ 0 \| \*\*no figure\*\* \|/);
    expect(md).toContain('| breaker | execute overhead | 72.0 | <= 60 | **NO** |');
    // A row that cannot be measured yet says why instead of being silently absent.
    expect(md).toContain('multinode-resume (it needs a Redis) did not run');
    expect(md).toContain('- CPU: test');
    expect(md).toContain('one run, started r1');
  });

  it('reports a row whose bar names parts no benchmark measures as partly met, naming them', () => {
    const multinode = result('multinode-resume', 'multi-node (Redis)', [
      atMost('messages lost', 0, 0),
      atMost('messages duplicated', 0, 0),
    ]);
    const unmeasured = NOT_MEASURED['multi-node (Redis)'];
    expect(unmeasured).toContain('test/integration/redis-cluster-chaos.test.ts');
    const md = buildReport({ results: [multinode], machine: '', quick: false });
    const line = md.split('\n').find((l) => l.startsWith('| multi-node (Redis) |'));
    expect(line).toContain('| 2 / 2 | **partly met**; SIGKILLed nodes and a Redis restart');
    expect(line).not.toMatch(/\| met \|/);
    expect(md).toContain(`\n${unmeasured}.\n`);
    // A missed check stays a miss, with the unmeasured part still named.
    const missed = buildReport({
      results: [result('multinode-resume', 'multi-node (Redis)', [atMost('lost', 3, 0)])],
      machine: '',
      quick: false,
    });
    expect(missed).toMatch(
      /\| multi-node \(Redis\) \| .* \| 0 \/ 1 \| \*\*missed 1\*\*; SIGKILLed/,
    );
    // Without a figure the row says why, as before.
    expect(buildReport({ results: [hash], machine: '', quick: false })).toMatch(
      /\| multi-node \(Redis\) \| .* \| 0 \/ 0 \| \*\*no figure\*\* \|/,
    );
  });

  it('says when it was rebuilt from stored results without running a benchmark', () => {
    const one = buildReport({ results: [hash], machine: '', quick: false, reportOnly: true });
    expect(one).toContain(
      'one run, started r1 (rebuilt from the stored results without running a benchmark)',
    );
    const two = buildReport({
      results: [hash, { ...breaker, env: { ...breaker.env, runId: 'r2' } }],
      machine: '',
      quick: false,
      reportOnly: true,
    });
    expect(two).toContain(
      '**results from 2 different runs** (rebuilt from the stored results without running a benchmark)',
    );
  });

  it('says when the results come from different runs', () => {
    const md = buildReport({
      results: [hash, { ...breaker, env: { ...breaker.env, runId: 'r2' } }],
      machine: '',
      quick: true,
    });
    expect(md).toContain('**results from 2 different runs**');
    expect(md).toContain('# Benchmark report (quick mode)');
  });

  it('lists durations and the suite total when every benchmark ran', () => {
    const md = buildReport({
      results: [hash],
      machine: '',
      quick: false,
      durations: { perBenchmark: { hash: 41.2 }, suite: 600 },
    });
    expect(md).toContain('| hash | 41 |');
    expect(md).toContain('| **suite** | 600 |');
    expect(md).toContain('the suite took 10.0 min');
  });
});
