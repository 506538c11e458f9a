// The fuzzer's command line (test/fuzz/fuzz.ts; run after `npm run build`, `npm run fuzz`
// does both): random and mutated inputs for the frame decoders and the HTTP body handling.
//   node scripts/fuzz.js [--iterations N] [--seed S]
// Exits 1 when an input got an answer that is not a documented one (an exception that is not
// a typed error of the catalog, an undocumented code): the report shows the seed to replay.
import { parseArgs } from 'node:util';
import { formatReport, fuzz } from '../dist/test/fuzz/fuzz.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '200000' },
    seed: { type: 'string' },
  },
});
const iterations = Number(values.iterations);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!Number.isSafeInteger(iterations) || iterations < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: node scripts/fuzz.js [--iterations N] [--seed S] (integers)');
  process.exit(2);
}
const report = await fuzz({ iterations, seed });
console.log(formatReport(report));
process.exitCode = report.failures.length === 0 ? 0 : 1;
