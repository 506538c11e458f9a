/**
 * One session as the memory store holds it, and the operations on it that need nothing from
 * the rest of the store.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ResultBudget } from './result-budget.js';
import type { DedupWindow } from './dedup-window.js';
import type { WheelEntry } from './expiry-wheel.js';
import { LossRuns } from './loss-runs.js';
import { SessionOutbox, type OutboxTotals } from './session-outbox.js';
import type { SessionRecord, StoredMessage } from './store.js';

export interface SessionState extends WheelEntry {
  readonly sid: string;
  readonly keyHash: string;
  readonly createdAt: number;
  /** The owner token of the last attach (`Store.detach` is fenced by it). */
  owner: string;
  last: number;
  acked: number;
  attached: boolean;
  expiresAt: number | undefined;
  /** EMPTY_OUTBOX (shared, never written) until the first message: most sessions idle. */
  outbox: SessionOutbox;
  // Created on first use: most sessions never lose a message or send an id.
  losses: LossRuns | undefined;
  sentIds: DedupWindow<number> | undefined;
  /** Inbound claims: the owner's token while pending, `CLAIM_DONE` once completed. */
  clientIds: DedupWindow<string | typeof CLAIM_DONE> | undefined;
  clientResults: ResultBudget | undefined;
  /** Who the session belongs to (`Store` "Users"); one field, absent for most sessions. */
  readonly identity: Identity | undefined;
}

/** A session's user and the principal's claims (JSON text), fixed at creation. */
export interface Identity {
  readonly user: string;
  readonly claims: string | undefined;
}

/**
 * The outbox of every session that never had a message: reads see it empty, and the store
 * gives the session its own (`outboxFor`) before the first append. An outbox and its array
 * cost ~100 bytes per idle session (docs/performance.md, "memory per connection").
 */
export const EMPTY_OUTBOX = new SessionOutbox({ messages: 0, bytes: 0 });

/** A completed client message claim (a pending one holds its owner's token). */
export const CLAIM_DONE = true;

/** The session's own outbox, created on first use. */
export function outboxFor(s: SessionState, totals: OutboxTotals): SessionOutbox {
  if (s.outbox === EMPTY_OUTBOX) s.outbox = new SessionOutbox(totals);
  return s.outbox;
}

export function newSessionState(
  sid: string,
  keyHash: string,
  now: number,
  owner: string,
  identity?: Identity,
): SessionState {
  return {
    sid,
    keyHash,
    createdAt: now,
    owner,
    last: 0,
    acked: 0,
    attached: true,
    expiresAt: undefined,
    outbox: EMPTY_OUTBOX,
    losses: undefined,
    sentIds: undefined,
    clientIds: undefined,
    clientResults: undefined,
    identity,
    wheelBucket: undefined,
  };
}

/** `epoch`: the store's (MemoryStore.epoch), the same for all its sessions. */
export function toRecord(s: SessionState, epoch: string): SessionRecord {
  const r: SessionRecord = {
    sid: s.sid,
    keyHash: s.keyHash,
    epoch,
    createdAt: s.createdAt,
    last: s.last,
    acked: s.acked,
    attached: s.attached,
    depth: s.outbox.count,
    bytes: s.outbox.bytes,
  };
  if (s.attached) r.owner = s.owner;
  if (s.expiresAt !== undefined) r.expiresAt = s.expiresAt;
  const oldest = s.outbox.first();
  if (oldest !== undefined) r.oldestAt = oldest.enqueuedAt;
  if (s.identity !== undefined) {
    r.user = s.identity.user;
    if (s.identity.claims !== undefined) r.claims = s.identity.claims;
  }
  return r;
}

/** Constant-time; hashes of one algorithm have one length, so the length check leaks nothing. */
export function keyMatches(s: SessionState, keyHash: string): boolean {
  const a = Buffer.from(s.keyHash, 'utf8');
  const b = Buffer.from(keyHash, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Apply a cumulative ack; at or below the current one it changes nothing. Returns removals. */
export function applyAck(s: SessionState, ack: number): number {
  if (ack <= s.acked) return 0;
  s.acked = ack;
  s.losses?.trim(ack);
  return s.outbox.removeThrough(ack);
}

/** Record a message that left the outbox unacked (TTL or eviction): resume reports it. */
export function recordLoss(s: SessionState, message: StoredMessage): void {
  (s.losses ??= new LossRuns()).add(message.seq);
}

/** Remove and return the expired prefix of the outbox; each is a loss. */
export function expirePrefix(s: SessionState, now: number): StoredMessage[] {
  const gone = s.outbox.removeExpired(now);
  for (const m of gone) recordLoss(s, m);
  return gone;
}

/** When the sweeper must next look at the session: head expiry, or reaping if detached. */
export function nextDeadline(s: SessionState): number | undefined {
  const head = s.outbox.first()?.expiresAt;
  const reap = s.attached ? undefined : s.expiresAt;
  if (head === undefined) return reap;
  return reap === undefined ? head : Math.min(head, reap);
}
