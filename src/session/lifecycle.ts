/**
 * The options of `server.disconnect` and `server.endSession` (and their admin routes): the
 * reason told to the client in the `error` frame before the close (protocol 1.1).
 */
import { RwsError } from '../errors.js';

export interface LifecycleOptions {
  /** Told to the client (`error` frame `disconnected` or `session_ended`); at most 256 characters. */
  reason?: string | undefined;
}

/** The longest reason a disconnect or an end may carry. */
export const MAX_REASON_LENGTH = 256;

/** The validated reason of `options` (undefined when none); throws RwsError `bad_options`. */
export function lifecycleReason(options: LifecycleOptions | undefined): string | undefined {
  const reason = options?.reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > MAX_REASON_LENGTH)
    throw new RwsError(
      'bad_options',
      `reason must be a string of 1-${MAX_REASON_LENGTH} characters`,
    );
  return reason;
}
