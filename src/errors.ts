/**
 * The server's error class: a stable, machine-readable `code` (see CodedError, shared with
 * the SDK). `isRwsError` works across package copies (it checks a brand, not `instanceof`).
 *
 * `new RwsError(code, …)` takes one of the library's codes (`RwsErrorCode`, the catalog in
 * src/error-codes.ts): a code outside the catalog does not compile. A subclass with a code
 * space of its own passes any string to `super()`: `NackError` (the nack codes applications
 * choose) and `HttpError` (status and code given together).
 */
import type { RwsErrorCode } from './error-codes.js';
import { CodedError, hasBrand, type CodedErrorOptions } from './protocol/coded-error.js';

const BRAND = Symbol.for('resilient-ws.error');

class RwsErrorClass extends CodedError {
  readonly [BRAND] = true;
}
// `name` comes from `new.target.name`: the class is exported under this name.
Object.defineProperty(RwsErrorClass, 'name', { value: 'RwsError' });

/** Only ever a default type argument: what a subclass's `super(code)` is checked against. */
declare const subclassCode: unique symbol;
type SubclassCode = string & { readonly [subclassCode]: true };

/**
 * The code a construction accepts: a subclass's `super()` (the default type argument) takes
 * any string; `new RwsError(…)` infers `C` from the argument and takes only catalog codes.
 */
type AcceptedCode<C extends string> = [C] extends [SubclassCode]
  ? string
  : C extends RwsErrorCode
    ? C
    : RwsErrorCode;

export interface RwsErrorConstructor {
  new <C extends string = SubclassCode>(
    code: AcceptedCode<C>,
    message: string,
    options?: CodedErrorOptions,
  ): RwsError;
  readonly prototype: RwsError;
}

export type RwsError = RwsErrorClass;
export const RwsError: RwsErrorConstructor = RwsErrorClass;

export function isRwsError(value: unknown): value is RwsError {
  return hasBrand(value, BRAND);
}
