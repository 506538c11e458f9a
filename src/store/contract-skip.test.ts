/**
 * The Store contract's skip list (`options.skip`): a listed test is skipped locally with its
 * reason, and fails under CI=true. Both outcomes are checked through `skipOutcome`, the
 * decision `runStoreContract` registers, so that this file itself skips nothing in CI; the
 * contract suites (memory, async-only, Redis) check that a skip list names only real tests.
 */
import { describe, expect, it } from 'vitest';
import { skipOutcome } from './store.contract.js';

describe('Store contract skip list', () => {
  const title = 'never returns an expired message from read';
  const reason = 'TTL not implemented yet';

  it('locally: skipped, with the reason in the test name', () => {
    expect(skipOutcome(title, reason, false)).toEqual({
      skip: true,
      name: 'never returns an expired message from read (skipped: TTL not implemented yet)',
    });
  });

  it('under CI=true: not skipped but a failing test that says why', () => {
    const outcome = skipOutcome(title, reason, true);
    expect(outcome.skip).toBe(false);
    expect(outcome.name).toBe(
      'never returns an expired message from read (skip refused under CI=true: TTL not implemented yet)',
    );
    if (outcome.skip) return;
    expect(outcome.error.message).toBe(
      'contract test skipped under CI=true (TTL not implemented yet): run it, or fix the store',
    );
  });
});
