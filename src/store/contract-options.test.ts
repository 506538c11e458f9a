/**
 * The contract on a store without `SyncAppend` (the memory store behind a wrapper that
 * forwards only the `Store` methods, as a networked store would have them): the whole
 * contract passes through the async interface alone, with nothing skipped (the skip list,
 * `options.skip`, is for local work: under CI=true a listed test fails).
 */
import { MemoryStore } from './memory-store.js';
import { runStoreContract } from './store.contract.js';
import type { Store } from './store.js';

/** Every `Store` method of `inner`, and nothing else (no `appendNow`). */
function asyncOnly(inner: MemoryStore): Store {
  return {
    kind: 'async-only',
    createSession: (init) => inner.createSession(init),
    getSession: (sid) => inner.getSession(sid),
    resume: (sid, keyHash, ack, now, owner, user) =>
      inner.resume(sid, keyHash, ack, now, owner, user),
    detach: (sid, now, ttl, owner) => inner.detach(sid, now, ttl, owner),
    deleteSession: (sid) => inner.deleteSession(sid),
    sessionIdPages: (pageSize) => inner.sessionIdPages(pageSize),
    userSessions: (user, limit) => inner.userSessions(user, limit),
    append: (sid, message, now) => inner.append(sid, message, now),
    ack: (sid, seq, now) => inner.ack(sid, seq, now),
    read: (sid, after, limit, now) => inner.read(sid, after, limit, now),
    claimClientMessage: (sid, id, now, owner) => inner.claimClientMessage(sid, id, now, owner),
    releaseClientMessage: (sid, id) => inner.releaseClientMessage(sid, id),
    completeClientMessage: (sid, id, result) => inner.completeClientMessage(sid, id, result),
    clientMessageResult: (sid, id, now) => inner.clientMessageResult(sid, id, now),
    sweep: (now) => inner.sweep(now),
    stats: () => inner.stats(),
    topSessions: (limit, sort) => inner.topSessions(limit, sort),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

runStoreContract('async-only', (limits) => asyncOnly(new MemoryStore({ limits })));
