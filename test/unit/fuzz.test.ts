/**
 * A short, bounded run of the fuzzer (test/fuzz/fuzz.ts) so CI exercises it; `npm run fuzz`
 * runs 200 000 iterations. Fixed seeds: a failure here is reproducible as it stands.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, fuzz } from '../fuzz/fuzz.js';

describe('fuzzer', () => {
  it('3000 iterations: every answer of the decoders and the HTTP body handling is a documented one', async () => {
    const report = await fuzz({ iterations: 3000, seed: 20_240_613 });
    expect(report.failures, formatReport(report)).toEqual([]);
    // The generators reach both valid and refused inputs on every target.
    for (const target of [
      'decodeClientMessage',
      'decodeServerMessage',
      'readJson',
      'sendOptions(publish)',
      'sendOptions(broadcast)',
      'decodeSegment',
    ]) {
      const outcomes = report.outcomes[target] ?? {};
      expect(outcomes.ok ?? 0, target).toBeGreaterThan(0);
      expect(Object.keys(outcomes).length, target).toBeGreaterThan(1);
    }
    // too_deep: msg data past the server's default maxJsonDepth.
    expect(Object.keys(report.outcomes.decodeClientMessage!).sort()).toEqual([
      'bad_frame',
      'ok',
      'too_deep',
      'unknown_type',
    ]);
  }, 30_000);
});
