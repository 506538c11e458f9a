/**
 * The Store contract as a test suite (src/store/store.ts is its normative text). Every store
 * runs it unchanged:
 *
 *   runStoreContract('memory', (limits) => new MemoryStore({ limits }));
 *
 * or, for a store outside this repository, from the package's testing entry:
 *
 *   import { runStoreContract } from 'resilient-ws/testing';
 *
 * It talks to the store only through the `Store` interface (and `SyncAppend` when the store
 * has it) and passes every time as an explicit `now`, so a networked store runs it as is.
 * `createStore` must return a store that holds no sessions (a Redis store: a fresh key prefix
 * or a flushed database). The tests live in src/store/contract/, one file per topic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ackReadContract } from './contract/ack-read.contract.js';
import { appendContract } from './contract/append.contract.js';
import { boundsContract } from './contract/bounds.contract.js';
import { usersContract } from './contract/users.contract.js';
import { closeContract } from './contract/close.contract.js';
import { dedupContract } from './contract/dedup.contract.js';
import { resumeContract } from './contract/resume.contract.js';
import { sessionIdsContract } from './contract/session-ids.contract.js';
import { sessionsContract } from './contract/sessions.contract.js';
import { statsContract } from './contract/stats.contract.js';
import {
  BASE,
  is,
  KEY,
  msg,
  newSid,
  OWNER,
  T0,
  type ContractContext,
  type ContractSkip,
  type ContractTest,
} from './contract/support.contract.js';
import { sweepContract } from './contract/sweep.contract.js';
import { syncAppendContract } from './contract/sync-append.contract.js';
import type { OutboxLimits } from './limits.js';
import type { Store } from './store.js';

/** Tests a store does not pass (yet), and why: they are reported as skipped, never absent;
 *  under CI=true they fail (a skip is for local work, never for CI). */
export interface StoreContractSkip {
  /** Shown in each skipped test's name: `<title> (skipped: <reason>)`. */
  reason: string;
  /** Test names as `<topic> > <title>`, e.g. `'sweep > never returns an expired message from read'`. */
  tests: string[];
}

export interface StoreContractOptions {
  /** Releases a store after each test (default: `store.close()`). */
  teardown?: (store: Store) => Promise<void> | void;
  /** Tests to report as skipped, with the reason. Naming a test that does not exist fails. */
  skip?: StoreContractSkip[];
}

/**
 * What a skip-listed contract test becomes: skipped locally, with the reason in its name; a
 * failing test under CI=true (`ci`), so that CI never passes a store with part of its contract
 * unchecked. A pure function, so both outcomes are tested without a skip in the CI run
 * (src/store/contract-skip.test.ts).
 */
export function skipOutcome(
  title: string,
  reason: string,
  ci: boolean,
): { skip: true; name: string } | { skip: false; name: string; error: Error } {
  if (!ci) return { skip: true, name: `${title} (skipped: ${reason})` };
  return {
    skip: false,
    name: `${title} (skip refused under CI=true: ${reason})`,
    error: new Error(`contract test skipped under CI=true (${reason}): run it, or fix the store`),
  };
}

/** Every topic of the suite, in the order it runs. */
const TOPICS: ((c: ContractContext) => void)[] = [
  sessionsContract,
  sessionIdsContract,
  appendContract,
  ackReadContract,
  resumeContract,
  boundsContract,
  dedupContract,
  sweepContract,
  statsContract,
  syncAppendContract,
  usersContract,
  closeContract,
];

export function runStoreContract(
  name: string,
  createStore: (limits: OutboxLimits) => Promise<Store> | Store,
  options: StoreContractOptions = {},
): void {
  const teardown = options.teardown ?? ((s: Store) => s.close());
  const skips = new Map<string, string>();
  for (const { reason, tests } of options.skip ?? [])
    for (const test of tests) skips.set(test, reason);

  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    /** Every test name registered (`topic > title`), to check the skip list against. */
    const names = new Set<string>();

    afterEach(async () => {
      for (const store of opened.splice(0)) await teardown(store);
    });

    // Skipped locally, with the reason in the name; under CI=true it fails (skipOutcome).
    const skipTest: ContractSkip = (title, reason, fn) => {
      const outcome = skipOutcome(title, reason, process.env.CI === 'true');
      if (outcome.skip) it.skip(outcome.name, fn);
      else
        it(outcome.name, () => {
          throw outcome.error;
        });
    };

    const c: ContractContext = {
      async open(limits = {}) {
        const store = await createStore({ ...BASE, ...limits });
        opened.push(store);
        return store;
      },
      async probe(use) {
        const store = await createStore(BASE);
        try {
          return use(store);
        } finally {
          await teardown(store);
        }
      },
      async session(store, now = T0) {
        const sid = newSid();
        await store.createSession({ sid, keyHash: KEY, now, owner: OWNER });
        return sid;
      },
      async appendAll(store, sid, data, now = T0) {
        for (const d of data) is(await store.append(sid, msg(d), now), 'stored');
      },
      async resume(store, sid, ack, now = T0) {
        return is(await store.resume(sid, KEY, ack, now, OWNER), 'ok');
      },
      describe(topic, body) {
        const test: ContractTest = (title, fn) => {
          const full = `${topic} > ${title}`;
          names.add(full);
          const reason = skips.get(full);
          if (reason === undefined) it(title, fn);
          else skipTest(title, reason, fn);
        };
        const skip: ContractSkip = (title, reason, fn) => {
          names.add(`${topic} > ${title}`);
          skipTest(title, skips.get(`${topic} > ${title}`) ?? reason, fn);
        };
        describe(topic, () => body(test, skip));
      },
    };

    for (const topic of TOPICS) topic(c);

    it('skips only tests that exist (options.skip)', () => {
      expect([...skips.keys()].filter((test) => !names.has(test))).toEqual([]);
    });
  });
}
