/**
 * Publishing to a user: one send per live session of the user, each stored with its own seq
 * and deduplicated by its own window (a retry with the same `id` is `dup` in every session
 * that stored it), so every device of the user gets the message exactly once.
 */
import { MAX_USER_LENGTH } from '../auth/principal.js';
import { isRwsError, RwsError } from '../errors.js';
import type { SessionRecord } from '../store/store.js';
import type { SendOptions, SendResult } from './send-path.js';

/** One session's outcome: its send result, or the error that refused it there. */
export type UserSendOutcome =
  ({ sid: string } & SendResult) | { sid: string; error: { code: 'outbox_full'; message: string } };

export interface UserSendResult {
  user: string;
  /** One entry per live session of the user when the send started, oldest first. */
  sessions: UserSendOutcome[];
}

export interface UserSendPorts {
  userSessions(user: string): Promise<SessionRecord[]>;
  send(sid: string, data: unknown, options: SendOptions): Promise<SendResult>;
}

/**
 * Send `data` to every live session of `user`. Rejects with `unknown_user` when the user has
 * none (nothing was stored anywhere), `bad_options` for an invalid user name, and with the
 * error of any session whose send failed for a reason that is not its own; a session that
 * ended meanwhile is left out; a full outbox is that session's outcome only.
 */
export async function sendToUser(
  ports: UserSendPorts,
  user: string,
  data: unknown,
  options: SendOptions,
): Promise<UserSendResult> {
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH) {
    throw new RwsError('bad_options', `a user is a string of 1-${MAX_USER_LENGTH} characters`);
  }
  const sessions = await ports.userSessions(user);
  if (sessions.length === 0) {
    throw new RwsError('unknown_user', `user ${JSON.stringify(user)} has no live session`);
  }
  const outcomes = await Promise.all(
    sessions.map(async ({ sid }): Promise<UserSendOutcome | undefined> => {
      try {
        return { sid, ...(await ports.send(sid, data, options)) };
      } catch (error) {
        if (!isRwsError(error)) throw error;
        // Ended or reaped since the list was read: not one of the user's sessions any more.
        if (error.code === 'unknown_session') return undefined;
        // A full outbox (policy reject) is this session's state: the others still get it.
        // Anything else (bad data, the store away) fails the whole send; a retry with an
        // `id` is then exactly-once in every session that stored it already.
        if (error.code !== 'outbox_full') throw error;
        return { sid, error: { code: 'outbox_full', message: error.message } };
      }
    }),
  );
  const reached = outcomes.filter((o): o is UserSendOutcome => o !== undefined);
  if (reached.length === 0) {
    throw new RwsError('unknown_user', `user ${JSON.stringify(user)} has no live session`);
  }
  return { user, sessions: reached };
}
