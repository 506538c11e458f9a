/**
 * `resilient-ws/testing`: what a test of code built on resilient-ws needs, and what a store
 * written outside this repository needs to prove itself against the `Store` contract:
 *
 *   import { runStoreContract } from 'resilient-ws/testing';
 *   runStoreContract('redis', (limits) => new RedisStore({ limits, prefix: freshPrefix() }));
 *
 * The contract suite registers vitest tests, so this entry imports `vitest` (an optional peer
 * dependency: only this entry needs it; the main entry never loads it).
 */
export {
  runStoreContract,
  type StoreContractOptions,
  type StoreContractSkip,
} from './store/store.contract.js';
export { ManualClock } from './clock.js';
export { FakeTransport, type FrameOf } from './session/test-support/fake-transport.js';
export { hasSyncAppend } from './store/store.js';
export type {
  AckResult,
  AppendResult,
  ClaimResult,
  NewMessage,
  OutboxLimits,
  OverflowPolicy,
  ReadResult,
  ResumeResult,
  SessionRecord,
  SessionSort,
  Store,
  StoredMessage,
  StoreStats,
  SweepResult,
  SyncAppend,
} from './store/store.js';
export {
  runDeadLetterStoreContract,
  type DeadLetterStoreContractOptions,
} from './outbox/dead-letter-store.contract.js';
