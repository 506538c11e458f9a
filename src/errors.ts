/**
 * Error base class with a stable, machine-readable `code`.
 * `isRwsError` works across package copies (it checks a brand, not `instanceof`).
 */
const BRAND = Symbol.for('resilient-ws.error');

export class RwsError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly [BRAND] = true;

  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RwsError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { code: string; message: string } & Record<string, unknown> {
    return { ...(this.details ?? {}), code: this.code, message: this.message };
  }
}

export function isRwsError(value: unknown): value is RwsError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
