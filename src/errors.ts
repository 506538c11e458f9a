/**
 * The server's error class: a stable, machine-readable `code` (see CodedError, shared with
 * the SDK). `isRwsError` works across package copies (it checks a brand, not `instanceof`).
 */
import { CodedError, hasBrand } from './protocol/coded-error.js';

const BRAND = Symbol.for('resilient-ws.error');

export class RwsError extends CodedError {
  readonly [BRAND] = true;
}

export function isRwsError(value: unknown): value is RwsError {
  return hasBrand(value, BRAND);
}
