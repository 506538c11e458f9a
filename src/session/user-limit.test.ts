/**
 * UserLimit: which sessions a new session of a user ends. The store lists a user's sessions
 * by `createdAt`, which each node stamps from its own clock, so the session just created is
 * not always last in the list (a node whose clock is behind, sessions of the same ms).
 */
import { describe, expect, it } from 'vitest';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import type { SessionRecord, Store } from '../store/store.js';
import { UserLimit } from './user-limit.js';

function record(sid: string, createdAt: number, attached: boolean): SessionRecord {
  return { sid, createdAt, attached, user: 'u' } as unknown as SessionRecord;
}

describe('UserLimit', () => {
  it('never ends the session just created, even when the store lists it before older ones', async () => {
    // `fresh` was created now on a node whose clock is 2 s behind the node that created `old`.
    const listed = [record('fresh', 1_000, true), record('old', 2_500, false)];
    const store = { userSessions: () => Promise.resolve(listed) } as unknown as Store;
    const ended: string[] = [];
    const limit = new UserLimit(store, 1, new Emitter<CoreEvents>(), (sid) => {
      ended.push(sid);
      return Promise.resolve(true);
    });
    limit.created('u', 'fresh');
    await limit.idle();
    expect(ended).toEqual(['old']);
  });
});
