/**
 * The one owner of this node's session state: the open connections, and one slot per
 * session that is attached here or being resumed here. Every change to that state goes
 * through a method of this class, named for the event that causes it; nothing else holds a
 * map of sessions (docs/architecture.md, "Session state on a node").
 *
 * A slot is one of:
 * - attached: a connection of this node serves the session (the `LocalSession`). While bye
 *   is being handled it is `ending` (its earlier client messages are still answered on that
 *   connection), so a close of that connection must not detach the session.
 * - `Resuming`: a hello with `resume` for the session is waiting for the store. `previous`
 *   is the session's earlier connection here, if any: it keeps receiving until the resume
 *   decides (takeover closes it with 4001). `ended`: the session was ended (bye, admin, or
 *   another node) before or while the resume was in flight, so the resume must not revive it.
 *
 * Detached sessions have no slot: they live only in the store.
 */
import type { Connection } from './connection.js';
import type { LocalSession } from './local-session.js';

/** A resume of a session is waiting for the store (see the module comment). */
export class Resuming {
  /** An earlier resume here succeeded in the store but its connection went away: unless a
   *  later one attaches the session, it must be detached (see `resumeAbandoned`). */
  abandoned = false;
  /** Another node announced a takeover while this resume was in flight: once attached, the
   *  store decides who keeps the session (see `takeoverHeard`). */
  contested = false;
  /** The application disconnected the session (protocol 1.1) while this resume was in
   *  flight: once attached, its connection closes with 4004 (see `disconnect`). */
  disconnect: { reason: string | undefined } | undefined;

  constructor(
    /** The connection whose resume is in flight (the latest one, if several raced). */
    public conn: Connection,
    public previous: LocalSession | undefined,
    public ended: boolean,
  ) {}
}

/**
 * A session's slot: attached (the `LocalSession` itself: no wrapper object per idle session,
 * whose heap is a benchmarked figure) or resuming.
 */
export type SessionSlot = LocalSession | Resuming;

/** What a closing connection leaves to do: detach its session in the store, or nothing. */
export type Release = { detach: LocalSession } | undefined;

export class SessionRegistry {
  private readonly open = new Set<Connection>();
  private readonly slots = new Map<string, SessionSlot>();
  /** Attached sessions whose bye is being handled (a few at a time; see `ending`). */
  private readonly endingSet = new Set<LocalSession>();
  private attached = 0;

  // ---- connections ----

  add(conn: Connection): void {
    this.open.add(conn);
  }

  /** Every open connection of this node (heartbeat, shutdown). */
  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  get connectionCount(): number {
    return this.open.size;
  }

  /**
   * `conn` closed. Its session (if it held one) is detached unless the session is ending
   * (bye) or a resume of it is in flight (the resume decides: see `finishResume`).
   */
  remove(conn: Connection): Release {
    this.open.delete(conn);
    const sid = conn.sid;
    if (sid === undefined) return undefined;
    const slot = this.slots.get(sid);
    if (slot === undefined || slot instanceof Resuming || slot.conn !== conn) return undefined;
    this.delete(sid);
    return this.endingSet.has(slot) ? undefined : { detach: slot };
  }

  // ---- sessions ----

  /** The session's connection here: the attached one, or the one a resume may take over. */
  current(sid: string): LocalSession | undefined {
    const slot = this.slots.get(sid);
    return slot instanceof Resuming ? slot.previous : slot;
  }

  /** Sessions attached to a connection of this node (a resuming one counts once attached). */
  get attachedCount(): number {
    return this.attached;
  }

  /** A snapshot of the sessions with a connection here (attached, or resuming with one). */
  localSessions(): LocalSession[] {
    const out: LocalSession[] = [];
    for (const slot of this.slots.values()) {
      const local = slot instanceof Resuming ? slot.previous : slot;
      if (local !== undefined) out.push(local);
    }
    return out;
  }

  /**
   * Attach `local` (a new session, or a resume that succeeded). Returns the session's earlier
   * connection here, if another one held it: the caller closes it (4001, takeover).
   */
  attach(local: LocalSession): LocalSession | undefined {
    const slot = this.slots.get(local.sid);
    let previous: LocalSession | undefined;
    if (slot === undefined) {
      this.attached++;
      this.slots.set(local.sid, local);
    } else if (slot instanceof Resuming) {
      // A later resume of the same session is still in flight: it will take over from this one.
      previous = slot.previous;
      if (previous === undefined) this.attached++;
      slot.previous = local;
    } else {
      previous = slot;
      this.slots.set(local.sid, local);
    }
    return previous !== undefined && previous.conn !== local.conn ? previous : undefined;
  }

  /** A resume of `sid` on `conn` starts: a close of the session's current connection waits. */
  beginResume(sid: string, conn: Connection): void {
    const slot = this.slots.get(sid);
    if (slot === undefined) this.slots.set(sid, new Resuming(conn, undefined, false));
    else if (slot instanceof Resuming) slot.conn = conn;
    // A session whose bye is being handled is ending: its resume must not revive it.
    else this.slots.set(sid, new Resuming(conn, slot, this.endingSet.has(slot)));
  }

  /**
   * The store answered the resume of `sid` on `conn` (or failed). Returns whether the session
   * was ended meanwhile, and whether the caller must now detach it in the store: its earlier
   * connection closed while the resume was in flight (its close left that to the resume), or
   * an earlier resume here attached it in the store and went away (`resumeAbandoned`), and
   * this resume did not take it. `resumed`: the store accepted the resume (the caller attaches
   * the session next, so nothing is detached).
   */
  finishResume(
    sid: string,
    conn: Connection,
    resumed: boolean,
  ): { ended: boolean; detach: boolean; disconnect: { reason: string | undefined } | undefined } {
    const slot = this.slots.get(sid);
    if (!(slot instanceof Resuming)) return { ended: false, detach: false, disconnect: undefined };
    const { previous, ended, abandoned, disconnect } = slot;
    let detach = false;
    if (slot.conn === conn) {
      // The last resume in flight: the slot returns to what it was, or goes.
      if (previous === undefined) {
        this.slots.delete(sid);
        detach = abandoned && !resumed && !ended;
      } else if (previous.conn.state === 'closed') {
        this.delete(sid);
        detach = !resumed && !ended;
      } else this.slots.set(sid, previous);
    }
    return { ended, detach, disconnect };
  }

  /**
   * The application disconnected `sid` (here or on another node; protocol 1.1). Returns its
   * connection here, if it has one, for the caller to close (4004). A resume of it in flight
   * here is marked: its connection closes too once attached (`finishResume` says so), so that
   * a client reconnecting at that moment is not left out.
   */
  disconnect(sid: string, reason: string | undefined): LocalSession | undefined {
    const slot = this.slots.get(sid);
    if (slot instanceof Resuming) slot.disconnect = { reason };
    return this.current(sid);
  }

  /**
   * A resume of `sid` succeeded in the store but its connection closed meanwhile. Returns
   * true if a later resume of `sid` is still in flight here: that one decides (it attaches the
   * session, or its finish asks for the detach), so the caller must not detach now (the store
   * may already have applied the later resume).
   */
  resumeAbandoned(sid: string): boolean {
    const slot = this.slots.get(sid);
    if (!(slot instanceof Resuming)) return false;
    slot.abandoned = true;
    return true;
  }

  /**
   * Another node says it took `sid` over. A resume of it in flight here may have been applied
   * by the store before or after that one: it is marked, so that once attached it checks the
   * store's owner (the hint may have come before this node held the session to close).
   */
  takeoverHeard(sid: string): void {
    const slot = this.slots.get(sid);
    if (slot instanceof Resuming) slot.contested = true;
  }

  /** Whether a takeover was announced for `sid` while a resume of it was in flight here. */
  contested(sid: string): boolean {
    const slot = this.slots.get(sid);
    return slot instanceof Resuming && slot.contested;
  }

  /**
   * End `sid` here at once (admin, or ended on another node). Returns its connection here, if
   * it had one, for the caller to close; a resume in flight will fail.
   */
  end(sid: string): LocalSession | undefined {
    const slot = this.slots.get(sid);
    if (slot instanceof Resuming) slot.ended = true;
    return this.release(sid);
  }

  /**
   * Another node owns `sid` now: forget its connection here (returned, for the caller to
   * close with 4001). A resume of it in flight here goes on: it may take the session back.
   */
  takenOver(sid: string): LocalSession | undefined {
    return this.release(sid);
  }

  /**
   * bye arrived on `local`'s connection: the session is ending. Its connection stays current
   * (replies to earlier messages still reach it) until `ended(local)`; a close meanwhile does
   * not detach it; a resume meanwhile fails. Every `ending` is followed by `ended`.
   */
  ending(local: LocalSession): void {
    const slot = this.slots.get(local.sid);
    if (slot === local) this.endingSet.add(local);
    else if (slot instanceof Resuming && slot.previous === local) {
      slot.ended = true;
      this.endingSet.add(local);
    }
  }

  /** The session `local` served is gone from the store: forget its connection here. */
  ended(local: LocalSession): void {
    this.endingSet.delete(local);
    const slot = this.slots.get(local.sid);
    if (slot === local) this.delete(local.sid);
    else if (slot instanceof Resuming && slot.previous === local) {
      slot.previous = undefined;
      this.attached--;
    }
  }

  /** Whether `local` is still the session's connection here (a pump stops when not). */
  isCurrent(local: LocalSession): boolean {
    return this.current(local.sid) === local;
  }

  /** Forget the session's connection here (returned); a resume in flight keeps its slot. */
  private release(sid: string): LocalSession | undefined {
    const slot = this.slots.get(sid);
    if (slot === undefined) return undefined;
    if (!(slot instanceof Resuming)) {
      this.delete(sid);
      return slot;
    }
    const previous = slot.previous;
    if (previous !== undefined) {
      slot.previous = undefined;
      this.attached--;
    }
    return previous;
  }

  private delete(sid: string): void {
    const slot = this.slots.get(sid);
    if (slot === undefined) return;
    this.slots.delete(sid);
    if (!(slot instanceof Resuming) || slot.previous !== undefined) this.attached--;
  }
}
