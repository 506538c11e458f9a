/** resilient-ws client SDK (`resilient-ws/client`), for browsers and Node. */
export { ResilientClient } from './client.js';
export type { ClientOptions, TokenProvider } from './options.js';
export type {
  ClientCloseEvent,
  ClientErrorEvent,
  ClientEvents,
  ClientGapEvent,
  ClientMessageEvent,
  ClientOpenEvent,
  ClientReconnectingEvent,
  ClientResumedEvent,
  ClientSessionEndedEvent,
  ClientSessionLostEvent,
  ClientSession,
  ClientState,
  ClientStats,
} from './events.js';
export { ClientError, ClientErrorCode, isClientError } from './errors.js';
export { fullJitter, DEFAULT_BACKOFF, type BackoffOptions } from '../src/resilience/backoff.js';
export type { ClientClock } from './clock.js';
export type { Listener } from './emitter.js';
export type { WebSocketCtor, WebSocketLike } from './socket.js';
export {
  CloseCode,
  CloseRange,
  isApplicationCloseCode,
  isRetryableClose,
} from '../src/protocol/index.js';
