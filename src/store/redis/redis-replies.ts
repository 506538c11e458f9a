/**
 * The Redis store's script replies decoded (src/store/redis/redis-scripts.ts): flat arrays of
 * a status letter, numbers, 6-field messages and 12-field records; the resume and read
 * replies whole.
 */
import type { ReadResult, ResumeResult, SessionRecord, StoredMessage } from '../store.js';

export type Reply = (string | number | null)[];

export const UNKNOWN = { status: 'unknown_session' } as const;

/** Fields of a record in a reply (see `record` in the scripts). */
const RECORD_FIELDS = 12;

/** `count` 6-field messages of `r` from `start`; each expires `ttl` after its enqueue time. */
export function readMessages(r: Reply, start: number, count: number, ttl: number): StoredMessage[] {
  const out: StoredMessage[] = [];
  for (let i = 0; i < count; i++) {
    const j = start + i * 6;
    const enqueuedAt = Number(r[j + 3]);
    const m: StoredMessage = {
      seq: Number(r[j]),
      data: String(r[j + 1]),
      bytes: Number(r[j + 2]),
      enqueuedAt,
      expiresAt: enqueuedAt + ttl,
    };
    const id = r[j + 4];
    const key = r[j + 5];
    if (typeof id === 'string' && id !== '') m.id = id;
    if (typeof key === 'string' && key !== '') m.key = key;
    out.push(m);
  }
  return out;
}

export function toRecord(sid: string, keyHash: string, r: Reply, i: number): SessionRecord {
  const attached = Number(r[i + 4]) === 1;
  const record: SessionRecord = {
    sid,
    keyHash,
    epoch: String(r[i]),
    createdAt: Number(r[i + 1]),
    last: Number(r[i + 2]),
    acked: Number(r[i + 3]),
    attached,
    depth: Number(r[i + 7]),
    bytes: Number(r[i + 8]),
  };
  if (attached) record.owner = String(r[i + 5]);
  const x = r[i + 6];
  if (!attached && x !== '' && x !== null) record.expiresAt = Number(x);
  const oldest = Number(r[i + 9]);
  if (oldest >= 0) record.oldestAt = oldest;
  const user = r[i + 10];
  if (typeof user === 'string' && user !== '') {
    record.user = user;
    const claims = r[i + 11];
    if (typeof claims === 'string' && claims !== '') record.claims = claims;
  }
  return record;
}

/** The reply of the resume script (RESUME in redis-scripts-session.ts). */
export function resumeReply(sid: string, r: Reply, ttl: number): ResumeResult {
  switch (r[0]) {
    case 'u':
      return UNKNOWN;
    case 'k':
      return { status: 'bad_key' };
    case 'b':
      return { status: 'bad_ack', last: Number(r[1]) };
    case 'w':
      return { status: 'wrong_user' };
  }
  const session = toRecord(sid, String(r[1]), r, 2);
  let i = 2 + RECORD_FIELDS;
  const acked = Number(r[i++]);
  const missing = Number(r[i++]);
  const epochChanged = Number(r[i++]) === 1;
  const expiredCount = Number(r[i++]);
  const expired = readMessages(r, i, expiredCount, ttl);
  i += expiredCount * 6;
  const messages = readMessages(r, i, (r.length - i) / 6, ttl);
  return { status: 'ok', session, acked, missing, messages, expired, epochChanged };
}

/** The reply of the read script (READ in redis-scripts-outbox.ts). */
export function readReply(r: Reply, ttl: number): ReadResult {
  if (r[0] === 'u') return UNKNOWN;
  const expiredCount = Number(r[2]);
  const expired = readMessages(r, 3, expiredCount, ttl);
  const start = 3 + expiredCount * 6;
  // The last element is the highest lost seq (the READ script appends it after the messages).
  const end = r.length - 1;
  return {
    status: 'ok',
    messages: readMessages(r, start, (end - start) / 6, ttl),
    expired,
    last: Number(r[1]),
    lostTo: Number(r[end]),
  };
}
