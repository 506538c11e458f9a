/** What `createServer` takes, and what `listen` and `close` answer or take. */
import type { Authenticate } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { ConfigOverrides, ResolvedConfig } from '../config/index.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import type { MessageHandler } from '../session/client-messages.js';
import type { SessionBus } from '../store/session-bus.js';
import type { Store } from '../store/store.js';
import type { RouteContext } from './routes.js';

export interface ServerOptions extends ConfigOverrides {
  /** Handles client messages; its result becomes `ok.data`. Throw NackError to refuse.
   *  With `upstreamUrl` set the upstream answers instead (this handler is not used). */
  onMessage?: MessageHandler;
  /**
   * Answers every `hello` (with the upgrade request's ip, headers and url) with a principal
   * `{ user, claims? }`, `true` (no user) or a refusal (`false`, or throw `AuthError`): the
   * connection then closes with 4500 (src/auth/principal.ts). Without it, the `tokens` and
   * `jwt*` settings authenticate, if set; else every hello is accepted.
   */
  authenticate?: Authenticate;
  /**
   * A store to use instead of the one named by `store` (custom backends; several servers of
   * one process sharing one store). The caller owns it: `close()` does not close it.
   */
  storeInstance?: Store;
  /**
   * The session bus shared with the other nodes of a shared store (docs/architecture.md,
   * "Several nodes"). Default: a loopback bus of this server alone.
   */
  bus?: SessionBus;
  /** This node's name on the bus and its owner token in the store (default: random). */
  node?: string;
  /** How often sessions attached here are checked against the store when the bus may lose
   *  events (`bus.reliable` false); default 5000 ms. */
  positionCheckIntervalMs?: number;
  /**
   * A dead-letter store to use instead of the memory one bounded by `dlqMax` (a shared store,
   * so that every node's admin API sees every dead letter; tests). It is `server.dlq`; the
   * server does not close it. See src/outbox/dead-letter-store.ts for what it must do.
   */
  deadLetterInstance?: DeadLetterStore;
  /** Time source (tests inject a manual clock). */
  clock?: Clock;
  /** Extra HTTP routes served after the built-in ones (the demo page). */
  extraRoutes?: RouteContext['extra'];
  /** A JSON config file read under these options (options win over the file). */
  file?: string;
  /** Already-resolved configuration (the CLI); other config options are then ignored. */
  config?: ResolvedConfig;
}

export interface ListenInfo {
  host: string;
  port: number;
  /** `ws://host:port/ws` */
  url: string;
  /** `http://host:port` */
  httpUrl: string;
}

export interface CloseOptions {
  /** How long in-flight upstream calls may take before they are aborted (default: the
   *  `shutdownTimeout` setting). Client connections then get ≤ 2 s to close. */
  timeoutMs?: number;
}
