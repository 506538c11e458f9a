/** What a store enforces per session. Resolved once from configuration. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'reject' | 'disconnect';

export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = [
  'drop-oldest',
  'drop-newest',
  'reject',
  'disconnect',
];

export interface OutboxLimits {
  /** Most messages retained per session (default 1000). */
  maxMessages: number;
  /** Most bytes of message data retained per session (default 1 MiB). */
  maxBytes: number;
  /** What to do when a message does not fit. Only drop-oldest evicts; the others refuse. */
  overflow: OverflowPolicy;
  /** Message TTL from first enqueue, ms (default 300 000). */
  messageTtlMs: number;
  /** How long an id is remembered for dedup, ms (default 300 000). */
  dedupWindowMs: number;
  /** Most ids remembered per session and direction (default 10 000); the oldest go first. */
  dedupMaxIds: number;
  /**
   * Bytes (UTF-8) of handler results kept per session for answering duplicates with the
   * original `ok.data` (default 64 KiB); the oldest results go first, their ids stay seen.
   */
  dedupResultBudget: number;
}

export const DEFAULT_LIMITS: OutboxLimits = {
  maxMessages: 1000,
  maxBytes: 1024 * 1024,
  overflow: 'drop-oldest',
  messageTtlMs: 300_000,
  dedupWindowMs: 300_000,
  dedupMaxIds: 10_000,
  dedupResultBudget: 64 * 1024,
};
