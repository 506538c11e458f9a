export { createServer, RwsServer, type ServerOptions, type ListenInfo } from './server/server.js';
export { NackError, type ClientMessage, type MessageHandler } from './session/client-messages.js';
export type { SendOptions, SendResult } from './session/hub.js';
export type { CoreEvents, DropReason } from './core-events.js';
export { RwsError, isRwsError } from './errors.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
/**
 * @deprecated Import `ManualClock` from `resilient-ws/testing`. It stays here only until
 * test/integration/{outbox,events,session-rules}.test.ts import it from src/testing.ts.
 */
export { ManualClock } from './clock.js';
export { DeadLetterQueue, type DeadLetter, type DeadLetterReason } from './outbox/dead-letters.js';
export type {
  Store,
  StoredMessage,
  SessionRecord,
  OutboxLimits,
  OverflowPolicy,
} from './store/store.js';
export { MemoryStore } from './store/memory-store.js';
export {
  resolveConfig,
  formatConfig,
  ConfigError,
  isConfigError,
  type ResolvedConfig,
} from './config/index.js';
export * as protocol from './protocol/index.js';
