/**
 * The shape of every error this project raises, on the server and in the SDK: a stable,
 * machine-readable `code`, an optional `cause` and `details`. Each side brands its own
 * subclass so a type guard works across package copies (a brand, not `instanceof`).
 */
export interface CodedErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class CodedError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: CodedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { code: string; message: string } & Record<string, unknown> {
    return { ...(this.details ?? {}), code: this.code, message: this.message };
  }
}

/** Whether `value` carries `brand` and a string `code` (works across package copies). */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
