/**
 * The entries of the Redis dead-letter stream (src/outbox/redis-dead-letters.ts): stream ids,
 * an entry as a DeadLetter, a filter as script arguments, and what a failure becomes.
 */
import { isRwsError, RwsError } from '../errors.js';
import { isDeadLetterReason, type DeadLetter, type DeadLetterFilter } from './dead-letter-store.js';

export type StreamEntry = [id: string, fields: string[]];

/** A Redis stream id: `<ms>-<seq>`, each a decimal of at most 20 digits without leading zeros. */
const STREAM_ID = /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/;
const U64_MAX = (1n << 64n) - 1n;
export const MAX_ID = `${U64_MAX}-${U64_MAX}`;

/** A Redis stream id (`<ms>-<seq>`, each below 2^64, no leading zeros), as given. */
export function parseStreamId(text: string): string | undefined {
  const m = STREAM_ID.exec(text);
  if (m === null || BigInt(m[1]!) > U64_MAX || BigInt(m[2]!) > U64_MAX) return undefined;
  return text;
}

/** ARGV of the scanning scripts for a filter: hasReason, reason, hasSid, sid. */
export function filterArgs(filter: DeadLetterFilter): string[] {
  return [
    filter.reason === undefined ? '0' : '1',
    filter.reason ?? '',
    filter.sid === undefined ? '0' : '1',
    filter.sid ?? '',
  ];
}

export function toDeadLetter([id, fields]: StreamEntry): DeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const reason = f.get('reason') ?? '';
  if (!isDeadLetterReason(reason))
    throw new RwsError('internal', `dead letter ${id} has an unknown reason: ${reason}`);
  const sid = f.get('sid') ?? '';
  const data = f.get('data') ?? '';
  const at = Number(f.get('at'));
  const seq = f.get('seq');
  return seq === undefined
    ? { id, sid, reason, data, at }
    : { id, sid, seq: Number(seq), reason, data, at };
}

/** Our own errors and Redis reply errors pass; anything else is Redis not answering. */
export function unavailable(error: unknown): Error {
  if (isRwsError(error)) return error;
  if (error instanceof Error && error.name === 'ReplyError') return error;
  return new RwsError('store_unavailable', 'the dead-letter store (Redis) does not answer', {
    cause: error,
  });
}
