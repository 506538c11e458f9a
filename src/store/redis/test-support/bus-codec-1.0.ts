/**
 * The bus decoder of protocol 1.0 (src/store/redis/redis-bus-codec.ts at 73dc6c1), frozen: what
 * a node of the previous release makes of the messages this one publishes during a rolling
 * upgrade. Tests only.
 */
import type { BusEvent } from '../../session-bus.js';

const VERSION = 1;
export type DecodedBusMessage =
  | { readonly kind: 'event'; readonly from: string; readonly event: BusEvent }
  | { readonly kind: 'probe'; readonly from: string };

const isSeq = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The message `text` decoded, or undefined if it is not one this version understands. */
export function decodeBusMessage10(text: string): DecodedBusMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(m) || m[0] !== VERSION || !isName(m[1])) return undefined;
  const from = m[1];
  const [, , code, sid, arg] = m as unknown[];
  const event = (e: BusEvent): DecodedBusMessage => ({ kind: 'event', from, event: e });
  switch (code) {
    case 'p':
      return m.length === 3 ? { kind: 'probe', from } : undefined;
    case 'a':
      return m.length === 5 && isName(sid) && isSeq(arg)
        ? event({ type: 'appended', stream: { kind: 'session', sid }, seq: arg })
        : undefined;
    case 'l':
      return m.length === 5 && isName(sid) && isSeq(arg)
        ? event({ type: 'lost', stream: { kind: 'session', sid }, upTo: arg })
        : undefined;
    case 'r':
      return m.length === 4 && isName(sid) ? event({ type: 'refused', sid }) : undefined;
    case 't':
      return m.length === 5 && isName(sid) && isName(arg)
        ? event({ type: 'takeover', sid, owner: arg })
        : undefined;
    case 'e':
      return m.length === 5 &&
        isName(sid) &&
        (arg === 'bye' || arg === 'admin' || arg === 'user_limit')
        ? event({ type: 'ended', sid, by: arg })
        : undefined;
    default:
      return undefined;
  }
}
