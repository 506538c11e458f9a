/**
 * The `resilient-ws/testing` entry as a store written outside this repository consumes it:
 * the contract suite imported from the built package by its name (Node's package
 * self-reference through package.json `exports`; `npm run build` runs before this project),
 * run against the memory store of the built main entry, through the `Store` interface only.
 * The specifiers are not literals so that typechecking does not need dist/: the types come
 * from the sources the package is built from.
 */
import { expect, it } from 'vitest';
import type * as Main from '../../src/index.js';
import type * as Testing from '../../src/testing.js';

const TESTING = 'resilient-ws/testing';
const MAIN = 'resilient-ws';
const testing = (await import(TESTING)) as typeof Testing;
const main = (await import(MAIN)) as typeof Main;

testing.runStoreContract('memory, through resilient-ws/testing', (limits) => {
  const store: Testing.Store = new main.MemoryStore({ limits });
  return store;
});

it('resolves both entries from the built package by name', () => {
  expect(import.meta.resolve(TESTING)).toMatch(/\/dist\/src\/testing\.js$/);
  expect(import.meta.resolve(MAIN)).toMatch(/\/dist\/src\/index\.js$/);
  expect(typeof testing.ManualClock).toBe('function');
  expect(typeof testing.FakeTransport).toBe('function');
  expect(testing.hasSyncAppend(new main.MemoryStore({ limits: { ...LIMITS } }))).toBe(true);
});

const LIMITS: Testing.OutboxLimits = {
  maxMessages: 10,
  maxBytes: 1000,
  overflow: 'drop-oldest',
  messageTtlMs: 1000,
  dedupWindowMs: 1000,
  dedupMaxIds: 10,
  dedupResultBudget: 100,
};
