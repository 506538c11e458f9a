/**
 * The server's graceful shutdown after it stopped taking work (`RwsServer.close`): the order
 * in which its parts stop, so that in-flight answers still reach clients, sessions detach
 * before the store closes, and the port is released.
 */
import type { Server as HttpServer } from 'node:http';
import { CloseCode } from '../protocol/index.js';
import type { Hub } from '../session/hub.js';
import type { Store } from '../store/store.js';
import type { WsEndpoint } from '../transport/endpoint.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Observability } from './observability.js';
import type { RedisParts } from './redis-mode.js';
import type { StatsStream } from './stats-stream.js';

/** What the shutdown stops, in its order. */
export interface ShutdownParts {
  /** GET /api/stats/stream: its timer runs only while it has viewers; shutdown ends them. */
  readonly statsStream: StatsStream | undefined;
  readonly endpoint: WsEndpoint;
  readonly http: HttpServer;
  /** The gateway upstream (RWS_UPSTREAM_URL); undefined when none is set. */
  readonly upstream: Upstream | undefined;
  readonly hub: Hub;
  readonly observability: Observability | undefined;
  readonly redis: RedisParts | undefined;
  /** Whether the server made its store (and so closes it). */
  readonly ownsStore: boolean;
  readonly store: Store;
}

/**
 * Stop `p` within `timeoutMs` of upstream draining: everything up to the first await runs at
 * once (no new upgrades or TCP connections), then upstream calls finish, clients get 1001,
 * their sessions detach, and the port, metrics and store are released.
 */
export async function shutDown(p: ShutdownParts, timeoutMs: number): Promise<void> {
  // Its viewers' responses end now (they would hold the HTTP server open) and its timer stops.
  p.statsStream?.close();
  p.endpoint.close();
  // No new TCP connections from here; the open ones stay up while upstream calls finish,
  // so that their ok/nack still reaches the clients.
  const httpClosed = new Promise<void>((resolve) => p.http.close(() => resolve()));
  if (p.upstream !== undefined) {
    await p.upstream.drain(timeoutMs);
    // The drained calls' answers (ok, or a retryable `draining` nack) go out before 1001.
    await p.hub.clientMessages.allIdle(500);
  }
  // Sessions detach as their connections close; the store must outlive that.
  await p.hub.closeAll(CloseCode.GoingAway, 'server going away');
  await p.hub.close();
  await new Promise<void>((resolve) => setImmediate(resolve));
  p.http.closeAllConnections();
  await httpClosed;
  p.observability?.close();
  if (p.redis !== undefined) await p.redis.close();
  else if (p.ownsStore) await p.store.close();
}
