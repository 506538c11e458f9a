export { createServer, RwsServer, type ServerOptions, type ListenInfo } from './server/server.js';
export { NackError, type ClientMessage, type MessageHandler } from './session/client-messages.js';
export type { SendOptions, SendResult } from './session/hub.js';
export type { UserSendOutcome, UserSendResult } from './session/user-send.js';
export type { LifecycleOptions } from './session/lifecycle.js';
export {
  AuthError,
  bearerToken,
  presentedToken,
  MAX_CLAIMS_BYTES,
  MAX_USER_LENGTH,
  type AuthRequest,
  type AuthResult,
  type Authenticate,
  type Principal,
} from './auth/principal.js';
export {
  AUTH_FAILURE_REASONS,
  authenticatorFromConfig,
  type AuthFailureReason,
} from './auth/configured.js';
export type { CoreEvents, DropReason } from './core-events.js';
export { RwsError, isRwsError, type RwsErrorConstructor } from './errors.js';
export { RWS_ERROR_CODES, isRwsErrorCode, type RwsErrorCode } from './error-codes.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { MemoryDeadLetterStore, type MemoryDeadLetter } from './outbox/dead-letters.js';
export {
  RedisDeadLetterStore,
  type RedisDeadLetterStoreOptions,
} from './outbox/redis-dead-letters.js';
export {
  DEAD_LETTER_REASONS,
  isDeadLetterReason,
  type DeadLetter,
  type DeadLetterReason,
  type DeadLetterStore,
  type DeadLetterId,
  type DeadLetterQuery,
  type DeadLetterFilter,
  type DeadLetterStats,
} from './outbox/dead-letter-store.js';
export {
  hasSyncAppend,
  type Store,
  type SyncAppend,
  type StoredMessage,
  type SessionRecord,
  type OutboxLimits,
  type OverflowPolicy,
} from './store/store.js';
export { MemoryStore } from './store/memory-store.js';
export { LoopbackBus } from './store/loopback-bus.js';
export { RedisBus, type RedisBusOptions, type RedisBusStats } from './store/redis/redis-bus.js';
export {
  RedisStore,
  type RedisStoreOptions,
  type RedisRestart,
  type StoreBreaker,
} from './store/redis/redis-store.js';
export { createRedisClient, type RedisClientOptions } from './store/redis/redis-client.js';
export type { SessionBus, BusEvent, BusListener, StreamRef } from './store/session-bus.js';
export {
  resolveConfig,
  formatConfig,
  ConfigError,
  isConfigError,
  type ResolvedConfig,
} from './config/index.js';
export * as protocol from './protocol/index.js';
