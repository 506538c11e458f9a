/**
 * Durations and sizes as operators write them (`250ms`, `30s`, `64kb`, `1mb`) and as the code
 * uses them (integer milliseconds and bytes). Parsers return `undefined` rather than throwing:
 * the caller knows the key and the source, which the error message must name.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export const KB = 1024;
export const MB = 1024 * KB;
export const GB = 1024 * MB;

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: KB, mb: MB, gb: GB };

// A decimal amount (no sign, no exponent) and an optional unit, nothing else around it.
const AMOUNT = /^(\d+(?:\.\d+)?)([a-z]*)$/;

/** `250ms`, `30s`, `5m`, `1h`, or a plain number of milliseconds. Result in whole ms. */
export function parseDuration(input: number | string): number | undefined {
  return parseAmount(input, DURATION_UNITS);
}

/** `64kb`, `1mb`, `1gb` (1024-based), `512b`, or a plain number of bytes. Result in whole bytes. */
export function parseSize(input: number | string): number | undefined {
  return parseAmount(input, SIZE_UNITS);
}

function parseAmount(
  input: number | string,
  units: Readonly<Record<string, number>>,
): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const match = AMOUNT.exec(input.trim().toLowerCase());
  if (match === null) return undefined;
  const [, amount = '', unit = ''] = match;
  const scale = unit === '' ? 1 : units[unit];
  if (scale === undefined) return undefined;
  return wholeNumber(Number(amount) * scale);
}

// `1.5s` is a fine way to write 1500 ms, but `1.5ms` or `1.1b` asks for a fraction the code
// cannot honour. The tolerance only absorbs binary floating-point noise (1.1 * 1000).
function wholeNumber(value: number): number | undefined {
  const rounded = Math.round(value);
  if (!Number.isSafeInteger(rounded)) return undefined;
  return Math.abs(value - rounded) <= 1e-6 ? rounded : undefined;
}

/**
 * Milliseconds in the unit a person would write: whole hours as `h`, whole seconds as `s`
 * (so the default TTL reads `300s`, as docs/configuration.md shows it), anything else as `ms`.
 */
export function formatDuration(ms: number): string {
  if (ms >= HOUR && ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % SECOND === 0) return `${ms / SECOND}s`;
  return `${ms}ms`;
}

/** Bytes in the largest 1024-based unit that divides them exactly: `1mb`, `64kb`, `1000b`. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0b';
  if (bytes % GB === 0) return `${bytes / GB}gb`;
  if (bytes % MB === 0) return `${bytes / MB}mb`;
  if (bytes % KB === 0) return `${bytes / KB}kb`;
  return `${bytes}b`;
}
