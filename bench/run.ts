/**
 * `npm run bench` runs every bench/*.bench.ts (built to dist/bench) in its own
 * `node --expose-gc` process, one after another, then writes bench/results/REPORT.md: the
 * machine, a scorecard with one section per row of docs/performance.md ("Bars") (its bar, every
 * check measured for it, pass or fail) and each benchmark's own tables. `npm run bench:check` does
 * the same in quick mode (BENCH_QUICK=1, results under bench/results/quick) and exits non-zero if
 * any gate misses.
 *
 *   node dist/bench/run.js [--check] [name-filter ...]
 *   node dist/bench/run.js [--check] --report-only
 *
 * With a filter only the named benchmarks run; the report is rebuilt from every result file
 * present and says when they come from different runs. `--report-only` runs nothing and
 * rebuilds the report from the stored results, keeping the machine lines of the report it
 * replaces (the machine the results were measured on).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin } from './lib/child.js';
import { buildReport, type StoredResult } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const reportOnly = args.includes('--report-only');
const filters = args.filter((a) => !a.startsWith('--'));
const files = (reportOnly ? [] : readdirSync(here))
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const runId = new Date().toISOString();
const env = { ...process.env, BENCH_RUN_ID: runId, ...(check ? { BENCH_QUICK: '1' } : {}) };
const failed: string[] = [];
const durations: Record<string, number> = {};
const resultsDir = join(here, '..', '..', 'bench', 'results', ...(check ? ['quick'] : []));
mkdirSync(resultsDir, { recursive: true });
const suiteStart = Date.now();
for (const f of files) {
  const name = f.replace(/\.bench\.js$/, '');
  console.log(`\n### ${name}${check ? ' (quick)' : ''}`);
  const started = Date.now();
  // A large old space: the cleanup benchmark holds 1M sessions.
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', join(here, f)],
    { stdio: 'inherit', env },
  );
  durations[name] = (Date.now() - started) / 1000;
  if (r.status !== 0)
    failed.push(`${name} (exit ${r.status ?? r.signal}, ${durations[name].toFixed(1)} s)`);
}
const suiteSeconds = (Date.now() - suiteStart) / 1000;

const results: StoredResult[] = readdirSync(resultsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as StoredResult)
  .filter((r) => Array.isArray(r.checks));
const reportPath = join(resultsDir, 'REPORT.md');
writeFileSync(
  reportPath,
  buildReport({
    results,
    machine: reportOnly ? storedMachine(reportPath) : machine(),
    quick: check,
    ...(reportOnly
      ? { reportOnly }
      : filters.length === 0
        ? { durations: { perBenchmark: durations, suite: suiteSeconds } }
        : {}),
  }),
);
if (reportOnly) {
  console.log(`bench: ${reportPath} rebuilt from ${results.length} stored results`);
  process.exit(0);
}

if (failed.length > 0) {
  console.error(`\nbench: ${failed.length} failed: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nbench: ${files.length} passed in ${suiteSeconds.toFixed(0)} s`);

function machine(): string {
  const cpu = cpus();
  const pin = canPin();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `- CPU: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Node ${process.version}; commit ${commit}; taskset ${pin ? 'available (end-to-end servers and clients pinned to separate cores)' : 'absent (processes not pinned)'}`,
  ].join('\n');
}

/** The machine lines of an earlier report: where its stored results were measured. */
function storedMachine(path: string): string {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // no earlier report
  }
  const lines = text.split('\n').filter((l) => l.startsWith('- CPU:') || l.startsWith('- Node '));
  return lines.length > 0
    ? lines.join('\n')
    : '- Machine: unknown (no earlier report to take it from)';
}
