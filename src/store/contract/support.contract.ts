/**
 * What every file of the Store contract suite shares: the limits and times it runs at, the
 * message helpers, and the context `runStoreContract` (src/store/store.contract.ts) gives
 * each topic: a fresh store per call to `open`, released after the test, and a `describe`
 * whose tests honour the suite's skip list.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { OutboxLimits } from '../limits.js';
import type { AppendResult, NewMessage, ResumeResult, Store, StoredMessage } from '../store.js';

export const T0 = 1_700_000_000_000;
export const TTL = 10_000;
export const WINDOW = 60_000;
/** Key hashes as `src/session/keys.ts` makes them: 22 base64url characters. */
export const KEY = 'a'.repeat(22);
export const OTHER_KEY = 'b'.repeat(22);
/** Owner tokens: which connection (on which node) holds an attached session. */
export const OWNER = 'node-a:1';
export const NEXT_OWNER = 'node-b:7';

export const BASE: OutboxLimits = {
  maxMessages: 5,
  maxBytes: 1000,
  overflow: 'drop-oldest',
  messageTtlMs: TTL,
  dedupWindowMs: WINDOW,
  dedupMaxIds: 100,
  dedupResultBudget: 1000,
};

export const msg = (data: string, extra: { id?: string; key?: string } = {}): NewMessage => ({
  data,
  bytes: Buffer.byteLength(data),
  ...extra,
});
export const sized = (bytes: number): NewMessage => msg('x'.repeat(bytes));
export const seqs = (messages: readonly StoredMessage[]): number[] => messages.map((m) => m.seq);

/** Asserts the status of a result and narrows it. */
export function is<T extends { status: string }, S extends T['status']>(
  result: T,
  status: S,
): Extract<T, { status: S }> {
  expect(result).toMatchObject({ status });
  return result as Extract<T, { status: S }>;
}

export const storedSeq = (r: AppendResult): number => is(r, 'stored').seq;

/**
 * Every id `sessionIdPages` lists, in pages of `pageSize`; asserts that each page is within
 * the bound and that no id is listed twice.
 */
export async function allIds(store: Store, pageSize = 2): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of store.sessionIdPages(pageSize)) {
    expect(page.length).toBeLessThanOrEqual(pageSize);
    ids.push(...page);
  }
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
}

/** A unique sid, so that a store shared between tests (a Redis prefix) never mixes them. */
export const newSid = (): string => `contract-${randomUUID()}`;

/** Registers one contract test (an `it`, or an `it.skip` when the skip list names it). */
export type ContractTest = (title: string, fn: () => Promise<void>) => void;
/** Registers a test as skipped, with its reason in its name. */
export type ContractSkip = (title: string, reason: string, fn: () => Promise<void>) => void;

export interface ContractContext {
  /** A new store holding no sessions, at `BASE` limits with `limits` over them. */
  open(limits?: Partial<OutboxLimits>): Promise<Store>;
  /** Create, release and forget a store outside any test (a capability probe). */
  probe<T>(use: (store: Store) => T): Promise<T>;
  /** A new attached session owned by `OWNER`, with key hash `KEY`; returns its sid. */
  session(store: Store, now?: number): Promise<string>;
  /** Append each of `data` (all must be stored). */
  appendAll(store: Store, sid: string, data: string[], now?: number): Promise<void>;
  /** Resume as `OWNER` with key `KEY`; asserts `ok`. */
  resume(
    store: Store,
    sid: string,
    ack: number,
    now?: number,
  ): Promise<Extract<ResumeResult, { status: 'ok' }>>;
  /** A vitest `describe` named `topic`; its tests are named `topic > title` in skip lists. */
  describe(
    topic: string,
    body: (test: ContractTest, skip: ContractSkip) => void | Promise<void>,
  ): void;
}
