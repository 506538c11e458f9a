/** What the admin routes (admin-routes.ts, dlq-routes.ts) work with. */
import type { Clock } from '../clock.js';
import type { DeadLetterStore } from '../outbox/dead-letter-store.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import type { Hub } from '../session/hub.js';
import type { Store } from '../store/store.js';

/** The most entries one list answers (top-N sessions, a page of dead letters). */
export const MAX_LIMIT = 1000;

export interface AdminContext {
  hub: Hub;
  store: Store;
  dlq: DeadLetterStore;
  breakers: BreakerRegistry;
  clock: Clock;
  /** The metrics figures as JSON (absent when metrics are off). */
  metricsStats?: () => Promise<Record<string, unknown>>;
  startedAt: number;
  maxBodyBytes: number;
  /** Where failures no caller can be told about go (the server's `error` event). */
  onError?: (where: string, error: unknown) => void;
}
