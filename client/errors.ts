/**
 * Errors raised by the client SDK. Each carries a stable, machine-readable `code`;
 * `isClientError` checks a brand rather than `instanceof`, so it works across package copies.
 */
import { CodedError, hasBrand } from '../src/protocol/coded-error.js';

const BRAND = Symbol.for('resilient-ws.client-error');

/** Codes the SDK itself produces. A rejected `send` may also carry a server `nack` code. */
export const ClientErrorCode = {
  /** `send` while `maxQueue` messages are still unanswered. */
  QueueFull: 'queue_full',
  /** The client was closed with `close()` (or `send` was called after that). */
  Closed: 'closed',
  /** `send` data that JSON cannot represent (undefined, a function, a cycle, a BigInt). */
  BadData: 'bad_data',
  /**
   * `send` data whose `msg` frame is larger in UTF-8 than `options.maxMessageBytes`: the
   * server would close the connection with 1009, so it is refused before it reaches the socket.
   */
  MessageTooLarge: 'message_too_large',
  /** A constructor option is out of range; the message names the key and the value. */
  InvalidOption: 'invalid_option',
  /** An event listener threw; reported as an `error` event, delivery goes on. */
  ListenerError: 'listener_error',
  /** The server sent a frame that protocol v1 does not allow at that point. */
  UnexpectedFrame: 'unexpected_frame',
  /** No WebSocket implementation could be found or loaded. */
  NoWebSocket: 'no_websocket',
  /**
   * `options.token` (a function) threw, rejected, returned something other than a string or
   * undefined, or did not settle in time: the attempt counts as failed and is retried.
   */
  TokenFailed: 'token_failed',
  /** The WebSocket constructor threw (a malformed URL, a refused subprotocol list). */
  ConnectFailed: 'connect_failed',
  /** A bug in the SDK caught at a socket callback (reported, never thrown into the socket). */
  Internal: 'internal_error',
  /** The WebSocket refused to send a frame. */
  SendFailed: 'send_failed',
  /**
   * The session was replaced by a new one (`unknown_session`, `epoch_changed`) before this
   * message was answered: the old session may or may not have handled it.
   */
  SessionLost: 'session_lost',
} as const;

export class ClientError extends CodedError {
  readonly [BRAND] = true;
}

export function isClientError(value: unknown): value is ClientError {
  return hasBrand(value, BRAND);
}
