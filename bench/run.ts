/**
 * `npm run bench` runs every bench/*.bench.ts (built to dist/bench) in its own
 * `node --expose-gc` process, one after another, and writes bench/results/SUMMARY.md.
 * `npm run bench:check` does the same in quick mode (BENCH_QUICK=1, results under
 * bench/results/quick) and exits non-zero if any ratio misses its bar.
 *
 *   node dist/bench/run.js [--check] [name-filter ...]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const filters = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const env = { ...process.env, ...(check ? { BENCH_QUICK: '1' } : {}) };
const failed: string[] = [];
const summaries: string[] = [];
const resultsDir = join(here, '..', '..', 'bench', 'results', ...(check ? ['quick'] : []));
for (const f of files) {
  const name = f.replace(/\.bench\.js$/, '');
  console.log(`\n### ${name}${check ? ' (quick)' : ''}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, f)], {
    stdio: 'inherit',
    env,
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) failed.push(`${name} (exit ${r.status ?? r.signal}, ${secs} s)`);
  const md = join(resultsDir, `${name}.md`);
  if (existsSync(md)) summaries.push(readFileSync(md, 'utf8'));
}
if (filters.length === 0) {
  writeFileSync(
    join(resultsDir, 'SUMMARY.md'),
    `# Benchmark results${check ? ' (quick mode)' : ''}\n\nNode ${process.version}. Every figure is a ratio or a paired difference measured in one run; absolute times are context only.\n\n${summaries.join('\n')}`,
  );
}
if (failed.length > 0) {
  console.error(`\nbench: ${failed.length} failed: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nbench: ${files.length} passed`);
