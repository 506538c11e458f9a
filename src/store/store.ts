/**
 * The Store contract. A store owns, for every session: its record (key hash, epoch, seq
 * counter, cumulative ack, attached/detached and expiry, owner), its outbox (the stored
 * server→client messages not yet acked) and its two dedup windows (outbound idempotency ids
 * and inbound client-message claims). The server keeps nothing durable of its own: in Redis
 * mode any node can serve any session because all of this lives in the store.
 *
 * Every method is async and atomic per session: no caller can observe a half-applied
 * operation, and operations on one session take effect in call order (the memory store
 * resolves in call order; a networked store must pipeline one session's commands on one
 * connection). A store that can answer at once may also implement the `SyncAppend`
 * capability (below), a synchronous `append`; nothing else is synchronous.
 *
 * The executable form of this contract is `runStoreContract` (src/store/store.contract.ts,
 * one file per topic in src/store/contract/), exported as `resilient-ws/testing` so that a
 * store outside this repository runs it too. Every store runs all of it; a test a store does
 * not pass is skipped with a stated reason (its `skip` option), never left out.
 *
 * Bounds: nothing a store returns grows with the number of sessions: outbox reads and
 * results are bounded by the outbox limits, `topSessions` by its limit, and the session list
 * is a cursor of bounded pages (`sessionIdPages`).
 *
 * Ordering: `append` assigns seq = last + 1 (1, 2, 3 …) per session; seqs never repeat or go
 * backwards within an epoch. Outbox reads return messages in seq order. Holes in the seq
 * sequence come only from keyed supersede (not a loss), acks, and losses (TTL, overflow);
 * `resume` reports the losses after the client's ack as `missing`, never the others.
 *
 * Expiry: a message expires `messageTtlMs` after its first enqueue (never reset). Because the
 * TTL is one setting and time does not go backwards, expiry times are non-decreasing in seq
 * within a session, so expired messages are always a prefix of the outbox. An expired
 * message is never returned by `read` or `resume`: those operations remove it and hand it
 * back in `expired` so the caller can count it and dead-letter it.
 *
 * Owners: every attach names its owner, an opaque token for the connection (and node) that
 * holds the session: `createSession` and `resume` set it, and `detach` is fenced by it. When
 * node A's connection closes after node B resumed the session, A's late `detach` carries A's
 * token and changes nothing: the session stays attached to B, its deadline and outbox
 * untouched. The owner outlives a detach (a later detach by the same owner only moves the
 * deadline) until the next resume replaces it.
 *
 * Client message claims: `claimClientMessage` records an inbound id as pending (its handler
 * runs); `completeClientMessage` marks it done, with or without a result; a refused message is
 * released (forgotten). A repeat of a done id within the dedup window is a `duplicate`
 * (answered `ok dup`); of a pending id, `in_progress` (answered with a retryable nack, so a
 * retry whose original is still running elsewhere, or died with its node, is never told `ok`
 * without a result). Every claim, pending or done, is forgotten `dedupWindowMs` after it was
 * made (or when `dedupMaxIds` newer ones push it out): a pending claim older than the window
 * is not a duplicate any more, so a claim orphaned by a dead node is handled again at the
 * latest then. A networked store may hand a pending claim whose owner it knows to be dead to
 * a new claimant sooner.
 *
 * Sweeps on several nodes: any number of nodes may call `sweep` at once, at equal or
 * different `now`, and `read`/`resume` expire messages too. Every expired or reaped message is
 * handed back by exactly one call, the one that removed it (a networked store removes and
 * returns in one atomic step per session), so it is dead-lettered once; a second sweep at the
 * same `now` finds nothing. A sweep lease per partition may save work but is never needed
 * for correctness.
 *
 * Users: a session may belong to a user, named at `createSession` and never changed. The
 * store keeps an index of each user's live sessions (`userSessions`), updated atomically with
 * every create, delete and reap, so that a publish to a user reaches each of them and the
 * server can bound the sessions per user. `resume` refuses a resume that names another user.
 *
 * Epoch: an opaque string fixed when a session is created. If a store loses a session's
 * stream but not its record (a Redis restart without persistence, a failover), the epoch
 * changes, and `resume` reports `epochChanged` so the client is told, never silently served
 * a partial stream.
 */

export type { OverflowPolicy, OutboxLimits } from './limits.js';

export interface StoredMessage {
  seq: number;
  /** The application data, serialized once (JSON text). Never re-serialized by the store. */
  data: string;
  /** Bytes counted against the outbox byte bound (UTF-8 length of `data`). */
  bytes: number;
  /** Outbound idempotency id, when the sender gave one. */
  id?: string;
  /** Latest-value-wins key, when the sender gave one. */
  key?: string;
  enqueuedAt: number;
  expiresAt: number;
}

export interface NewMessage {
  data: string;
  bytes: number;
  id?: string;
  key?: string;
}

export interface SessionRecord {
  sid: string;
  /**
   * The resume key's hash as src/session/keys.ts makes it: the first 128 bits of its SHA-256,
   * base64url (22 characters). The key itself is never stored; the store only compares hashes
   * (in constant time) and treats them as opaque strings.
   */
  keyHash: string;
  epoch: string;
  createdAt: number;
  /** Highest seq assigned so far (0 if none). */
  last: number;
  /** Highest cumulative ack received (0 if none). */
  acked: number;
  attached: boolean;
  /** The owner token of the attach (see "Owners"), while attached; absent while detached. A
   *  node compares it with its own to learn that another node took the session over. */
  owner?: string;
  /** When a detached session will be reaped (ms since epoch); absent while attached. */
  expiresAt?: number;
  /** Messages and bytes currently retained in the outbox. */
  depth: number;
  bytes: number;
  /** First-enqueue time of the oldest retained message; absent when the outbox is empty. */
  oldestAt?: number;
  /** Who the session belongs to (see "Users"); absent for a session created without one. */
  user?: string;
  /** The principal's claims as JSON text, when it had any (opaque to the store). */
  claims?: string;
}

export type AppendResult =
  /** Stored with a new seq. `dropped`: messages evicted by drop-oldest to make room (losses).
   *  `superseded`: the unacked message with the same key that this one replaced (not a loss). */
  | { status: 'stored'; seq: number; dropped: readonly StoredMessage[]; superseded?: StoredMessage }
  /** A message with the same outbound id was stored within the dedup window. */
  | { status: 'duplicate'; seq: number }
  /** The outbox is full and the policy is not drop-oldest (or the one message is larger than
   *  the byte bound): nothing was stored and no seq was assigned. */
  | { status: 'full' }
  | { status: 'unknown_session' };

export type AckResult =
  | {
      status: 'ok';
      acked: number;
      removed: number;
      /** Enqueue time of the newest message this ack removed (absent when none): ack latency. */
      newestEnqueuedAt?: number;
    }
  /** The ack is above `last`: a protocol error. Nothing changed. */
  | { status: 'bad_ack'; last: number }
  | { status: 'unknown_session' };

export type ReadResult =
  | {
      status: 'ok';
      messages: StoredMessage[];
      expired: StoredMessage[];
      last: number;
      /**
       * The highest seq lost (TTL, overflow eviction) above the session's ack, 0 if none: a
       * reader that has not written up to it must not write past it without telling the
       * client (delivery closes 4002 instead).
       */
      lostTo: number;
    }
  | { status: 'unknown_session' };

export type ResumeResult =
  | {
      status: 'ok';
      session: SessionRecord;
      /** The effective ack: max(client ack, highest ack received before). */
      acked: number;
      /** Lost messages (TTL, overflow) with seq in (acked, last]. Superseded ones don't count. */
      missing: number;
      /** Retained messages with seq > acked, in order. */
      messages: StoredMessage[];
      /** Messages found expired during this call (removed; for the dead-letter queue). */
      expired: StoredMessage[];
      epochChanged: boolean;
    }
  | { status: 'bad_key' }
  | { status: 'bad_ack'; last: number }
  /** The session belongs to another user than the resume named (or to a user, and the
   *  resume named none, or the reverse). Nothing changed. */
  | { status: 'wrong_user' }
  | { status: 'unknown_session' };

export interface SweepResult {
  /** Messages whose TTL passed, removed from their outboxes. */
  expired: { sid: string; messages: StoredMessage[] }[];
  /** Detached sessions whose session TTL passed, deleted with what their outbox still held. */
  reaped: { sid: string; messages: StoredMessage[] }[];
}

/**
 * `new`: the id is now claimed (pending) by the caller, who runs the handler. `duplicate`: it
 * was handled (done) within the window. `in_progress`: it is claimed and its handler has not
 * completed (pending): still running, on this node or another, or its node died; the client
 * retries later.
 */
export type ClaimResult = 'new' | 'duplicate' | 'in_progress' | 'unknown_session';

export interface StoreStats {
  sessions: number;
  attached: number;
  detached: number;
  messages: number;
  bytes: number;
  /** First-enqueue time of the oldest retained message in any outbox; absent when all are empty. */
  oldestAt?: number;
}

/** How `topSessions` ranks: deepest outbox first, or oldest retained message first. */
export type SessionSort = 'depth' | 'age';

export interface Store {
  readonly kind: string;

  /**
   * Create an attached session with `last = 0`, `acked = 0` and a fresh epoch, owned by
   * `owner` (see "Owners" above).
   */
  createSession(init: {
    sid: string;
    keyHash: string;
    now: number;
    owner: string;
    /** The session's user (see "Users"); fixed for the session's life. */
    user?: string;
    /** The principal's claims, JSON text, stored and returned as given. */
    claims?: string;
  }): Promise<SessionRecord>;
  getSession(sid: string): Promise<SessionRecord | undefined>;
  /**
   * Atomically: check the key hash, apply the client's ack (cumulative; an ack below the
   * previous one counts as the previous one; above `last` is `bad_ack`), expire what is due,
   * mark the session attached, make `owner` its owner (a takeover when another owner held it)
   * and return what the client still needs. A refused resume changes nothing. `user` must
   * be the session's user (both absent for a session without one), else `wrong_user`; the key
   * is checked first, so only a holder of the key learns that the user differs.
   */
  resume(
    sid: string,
    keyHash: string,
    ack: number,
    now: number,
    owner: string,
    user?: string,
  ): Promise<ResumeResult>;
  /**
   * Mark the session detached; it is reaped at `now + sessionTtlMs` (0: at the next sweep).
   * Fenced: when `owner` is not the session's current owner (another connection took it over
   * since), it changes nothing and returns false, as for an unknown sid.
   */
  detach(sid: string, now: number, sessionTtlMs: number, owner: string): Promise<boolean>;
  /** Forget the session at once; returns what its outbox still held. */
  deleteSession(sid: string): Promise<StoredMessage[] | undefined>;
  /**
   * Ids of every live session (for broadcast), as a cursor: pages of at most `pageSize` ids
   * (an integer >= 1; else RwsError `bad_page_size`), so no caller ever holds every id at
   * once. A session live for the whole iteration is in exactly one page; one created or
   * deleted meanwhile may be in one page or in none, never in two; iterating never fails for
   * either. Each page is read when asked for (a networked store: one round trip per page, e.g.
   * a lexicographic cursor over an index of sids, which never repeats a member the way a
   * Redis SSCAN may). Iterating a closed store rejects with `store_closed`.
   */
  sessionIdPages(pageSize: number): AsyncIterable<string[]>;
  /**
   * The live sessions of `user` (see "Users"), oldest first (by `createdAt`; sessions
   * created in the same millisecond in any order), at most `limit` of them (an integer >= 1; else `bad_page_size`).
   */
  userSessions(user: string, limit: number): Promise<SessionRecord[]>;

  append(sid: string, message: NewMessage, now: number): Promise<AppendResult>;
  ack(sid: string, seq: number, now: number): Promise<AckResult>;
  /** Up to `limit` retained, unexpired messages with seq > `afterSeq`, in order. */
  read(sid: string, afterSeq: number, limit: number, now: number): Promise<ReadResult>;

  /**
   * Inbound dedup (see "Client message claims" above): claim a client message id for `owner`
   * (the node or connection that runs its handler). `new` (now pending), `duplicate` (done
   * within the window), `in_progress` (pending within the window) or `unknown_session`.
   */
  claimClientMessage(sid: string, id: string, now: number, owner: string): Promise<ClaimResult>;
  /** Forget a claimed id, pending or done (the handler refused it: a retry is handled again). */
  releaseClientMessage(sid: string, id: string): Promise<void>;
  /**
   * Mark a pending claim done, so that a repeat is a `duplicate`; with `result` (the handler's
   * JSON text), also keep it so that a duplicate is answered with the original `ok.data`.
   * Results are kept within the session's result budget (oldest forgotten first; a result
   * larger than the budget is not kept); the id stays done either way. An id no longer
   * claimed (released, past the window) is not claimed again by it.
   */
  completeClientMessage(sid: string, id: string, result?: string): Promise<void>;
  /** The recorded result of a claimed id still within the window, if any was kept. */
  clientMessageResult(sid: string, id: string, now: number): Promise<string | undefined>;

  /** Remove what has expired. Cost is proportional to what expires, not to what is stored. */
  sweep(now: number): Promise<SweepResult>;
  stats(): Promise<StoreStats>;
  /**
   * The `limit` sessions ranked by `sort` (`depth`: most retained messages first, ties by
   * bytes; `age`: oldest retained message first, sessions with an empty outbox excluded).
   * Never the full list: the admin API works with any number of sessions.
   */
  topSessions(limit: number, sort: SessionSort): Promise<SessionRecord[]>;
  /** Resolves when the store can serve requests (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A capability, not part of `Store`: a synchronous `append`, for a store that can answer at
 * once (no I/O, like the memory store). It is the same operation: same result, same effect,
 * and ordered with every other call on the session exactly as `append` would be; it throws
 * (e.g. `store_closed`) where `append` rejects. The send path uses it to skip a promise per
 * layer: a send then costs one promise instead of a chain of four (see docs/architecture.md,
 * "Send"). The outbox decides once, at construction (`hasSyncAppend`), which path every send
 * takes. A networked store does not implement it. A wrapper that overrides `append`
 * (decorating, instrumenting) must override or hide `appendNow` too, or sends will bypass it.
 * The contract suite runs its `appendNow` tests on a store that has it; on one that has not,
 * it checks that `appendNow` is absent and that `append` alone stores.
 */
export interface SyncAppend {
  appendNow(sid: string, message: NewMessage, now: number): AppendResult;
}

/** Whether `store` implements `SyncAppend` (has an `appendNow` method). */
export function hasSyncAppend<S extends Store>(store: S): store is S & SyncAppend {
  return typeof (store as Partial<SyncAppend>).appendNow === 'function';
}
