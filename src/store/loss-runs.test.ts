import { describe, expect, it } from 'vitest';
import { LossRuns } from './loss-runs.js';

describe('LossRuns', () => {
  it('counts lost seqs, in runs and apart', () => {
    const runs = new LossRuns();
    for (const seq of [1, 2, 3, 5, 8, 9]) runs.add(seq);
    expect(runs.count).toBe(6);
  });

  it('forgets losses at or below an ack, cutting a run in two if needed', () => {
    const runs = new LossRuns();
    for (const seq of [1, 2, 3, 5, 6, 7, 10]) runs.add(seq);
    runs.trim(2);
    expect(runs.count).toBe(5);
    runs.trim(6);
    expect(runs.count).toBe(2);
    runs.trim(4);
    expect(runs.count).toBe(2);
    runs.trim(10);
    expect(runs.count).toBe(0);
    runs.add(11);
    expect(runs.count).toBe(1);
  });

  it('stays bounded, over-counting only the holes between merged oldest runs', () => {
    const runs = new LossRuns(4);
    for (const seq of [1, 3, 5, 7]) runs.add(seq);
    expect(runs.count).toBe(4);
    runs.add(9); // merges [1] and [3] into [1, 3]: seq 2 is now counted too
    expect(runs.count).toBe(6);
    runs.trim(2);
    expect(runs.count).toBe(4);
    runs.trim(9);
    expect(runs.count).toBe(0);
  });
});
