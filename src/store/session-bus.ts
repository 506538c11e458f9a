/**
 * The session bus: the seam between nodes that share a store (docs/architecture.md, "Several
 * nodes"). The store holds every message and every session record; the bus only tells the
 * node that holds a session's connection that something happened to it elsewhere — a message
 * was appended, the session was taken over, ended, or lost messages. It is modelled on
 * centrifuge's Broker with its control messages.
 *
 * A bus event is a hint, never the truth. Delivery stays correct when an event is lost, late
 * or repeated, because the store's seq is the truth and every event is checked against it:
 * - `appended` that arrives late (seq already written) is ignored; one that is lost is made up
 *   by the next message of the session (a seq that is not sentSeq + 1 makes the node read the
 *   store from its sent position), by the position check of a bus that is not `reliable`,
 *   and by `resync`, after which every local session reads from its sent position.
 * - `takeover` is acted on only when the store confirms that another node owns the session,
 *   so a late one cannot close a connection that took the session back; a lost one is made up
 *   by the position check (it finds another owner) and, at the latest, by the old
 *   connection's close, whose detach the store fences by owner.
 * - `ended` is final (a session id is never reused); a lost one is made up by the position
 *   check (no record) or by the next operation of the connection (unknown_session).
 * - `lost` closes the connection (4002) only if it has not written up to the lost seq.
 *
 * Naming, with channels in mind: an `appended` or `lost` event names the stream it is about
 * (`StreamRef`). Today every stream is a session's; a channel (a stream many sessions read)
 * would add `{ kind: 'channel', name }` without reshaping the events.
 */

/** An ordered stream of messages: a session's outbox today. */
export type StreamRef = { readonly kind: 'session'; readonly sid: string };

export type BusEvent =
  /** A message was stored in `stream` with seq `seq`: the node holding a reader pumps. */
  | { readonly type: 'appended'; readonly stream: StreamRef; readonly seq: number }
  /** Messages of `stream` up to seq `upTo` were lost (evicted, expired) on another node: a
   *  connection that has not written up to there closes as a slow consumer (4002). */
  | { readonly type: 'lost'; readonly stream: StreamRef; readonly upTo: number }
  /** A message for session `sid` was refused by the `disconnect` overflow policy (4002). */
  | { readonly type: 'refused'; readonly sid: string }
  /** Session `sid` was resumed on node `owner`: another node holding it closes it (4001). */
  | { readonly type: 'takeover'; readonly sid: string; readonly owner: string }
  /** Session `sid` ended (bye, admin) on another node: a node holding it closes it (1000),
   *  telling the client `reason` (error `session_ended`) when one was given. */
  | {
      readonly type: 'ended';
      readonly sid: string;
      readonly by: 'bye' | 'admin' | 'user_limit';
      readonly reason?: string;
    }
  /** The application disconnected session `sid` (kept): a node holding it closes it (4004). */
  | { readonly type: 'disconnect'; readonly sid: string; readonly reason?: string };

/** What a node hears from the bus. */
export interface BusListener {
  event(event: BusEvent): void;
  /** Events may have been lost (a reconnect of the bus): read every local session's stream
   *  from its sent position, and check every local session's owner. */
  resync(): void;
}

export interface SessionBus {
  /**
   * True when every event reaches every other node, in publish order, exactly once (the
   * loopback bus in one process). A bus that is not reliable makes each node run a periodic
   * position check (docs/architecture.md, "Delivery and repair").
   */
  readonly reliable: boolean;
  /** Send `event` to every other subscribed node. Never throws; never waits. */
  publish(from: string, event: BusEvent): void;
  /** Hear the events of every other node as node `node`; returns the unsubscribe function. */
  subscribe(node: string, listener: BusListener): () => void;
  close(): Promise<void>;
}
