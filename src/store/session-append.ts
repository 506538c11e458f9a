/**
 * One append to a session of the memory store (`Store.append`, the send path's fast path):
 * the outbound id window, the bounds, the keyed supersede, drop-oldest eviction, the new seq.
 * Decides before it changes anything, so a refused message leaves no trace.
 */
import { DedupWindow } from './dedup-window.js';
import type { OutboxLimits } from './limits.js';
import type { OutboxTotals } from './session-outbox.js';
import { outboxFor, recordLoss, type SessionState } from './session-state.js';
import type { AppendResult, NewMessage, StoredMessage } from './store.js';

const FULL: AppendResult = { status: 'full' };
/** `dropped` of an append that evicted nothing (almost all): shared, never written to. */
const NO_DROPS: readonly StoredMessage[] = Object.freeze([]);

export function appendMessage(
  s: SessionState,
  message: NewMessage,
  now: number,
  limits: OutboxLimits,
  totals: OutboxTotals,
): AppendResult {
  if (message.id !== undefined) {
    const seq = s.sentIds?.get(message.id, now);
    if (seq !== undefined) return { status: 'duplicate', seq };
  }
  const { maxMessages, maxBytes, overflow } = limits;
  if (message.bytes > maxBytes || maxMessages < 1) return FULL;
  const outbox = outboxFor(s, totals);
  const superseded = message.key === undefined ? undefined : outbox.keyed(message.key);
  const fits =
    outbox.count - (superseded === undefined ? 0 : 1) < maxMessages &&
    outbox.bytes - (superseded?.bytes ?? 0) + message.bytes <= maxBytes;
  if (!fits && overflow !== 'drop-oldest') return FULL;

  if (superseded !== undefined) outbox.remove(superseded);
  let dropped: StoredMessage[] | undefined;
  while (outbox.count >= maxMessages || outbox.bytes + message.bytes > maxBytes) {
    const evicted = outbox.shift();
    if (evicted === undefined) break;
    (dropped ??= []).push(evicted);
    recordLoss(s, evicted);
  }
  const stored: StoredMessage = {
    seq: ++s.last,
    data: message.data,
    bytes: message.bytes,
    enqueuedAt: now,
    expiresAt: now + limits.messageTtlMs,
  };
  if (message.id !== undefined) {
    stored.id = message.id;
    (s.sentIds ??= new DedupWindow(limits.dedupWindowMs, limits.dedupMaxIds)).set(
      message.id,
      stored.seq,
      now,
    );
  }
  if (message.key !== undefined) stored.key = message.key;
  outbox.push(stored);
  const lost = dropped ?? NO_DROPS;
  return superseded === undefined
    ? { status: 'stored', seq: stored.seq, dropped: lost }
    : { status: 'stored', seq: stored.seq, dropped: lost, superseded };
}
