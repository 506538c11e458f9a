/**
 * Sessions per user: past `maxSessionsPerUser`, a new session of a user ends that user's
 * oldest detached sessions first, then the oldest attached ones (their connections closed
 * with 1000), never the one just created (docs/security.md, "Sessions per user").
 */
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { SessionRecord, Store } from '../store/store.js';

/** How many sessions past the limit one check reads (and so can end at once). */
const MARGIN = 16;

export class UserLimit {
  /** Users whose sessions are being checked: one check at a time per user. */
  private readonly checks = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    readonly max: number,
    private readonly events: Emitter<CoreEvents>,
    private readonly end: (sid: string) => Promise<boolean>,
  ) {}

  /** The live sessions of `user`, oldest first (at most `max` + a margin). */
  sessions(user: string): Promise<SessionRecord[]> {
    return this.store.userSessions(user, this.max + MARGIN);
  }

  /**
   * Session `sid` of `user` was created. Checks of one user on this node run one after
   * another, so two creations at once end two sessions, not the same one twice. Two nodes may
   * check the same user at once and both end one; the limit holds again after either check.
   */
  created(user: string, sid: string): void {
    const previous = this.checks.get(user) ?? Promise.resolve();
    const check = previous
      .then(() => this.trim(user, sid))
      .catch((error: unknown) => this.events.emit('error', { where: 'userLimit', error }))
      .finally(() => {
        if (this.checks.get(user) === check) this.checks.delete(user);
      });
    this.checks.set(user, check);
  }

  /** Resolves when every check started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.checks.size > 0) await Promise.all([...this.checks.values()]);
  }

  private async trim(user: string, created: string): Promise<void> {
    const sessions = await this.sessions(user);
    let excess = sessions.length - this.max;
    if (excess <= 0) return;
    // Spared by its sid, not by its place in the list: `createdAt` comes from the clock of
    // the node that created each session, so the new one may sort before older ones (a node
    // whose clock is behind, sessions of the same millisecond).
    const older = sessions.filter((s) => s.sid !== created);
    const victims = [...older.filter((s) => !s.attached), ...older.filter((s) => s.attached)];
    for (const victim of victims) {
      if (excess-- <= 0) break;
      await this.end(victim.sid);
    }
  }
}
