/**
 * Frame codec and validation for both directions. A WebSocket message carries one or more
 * frames separated by '\n' (JSON.stringify never emits a raw newline, so the split is safe).
 */
import { ErrorCode, NackCode } from './close-codes.js';
import { MAX_ID_LENGTH, type ClientFrame, type ResumeReason, type ServerFrame } from './frames.js';

export type Decoded<F> =
  | { ok: true; frame: F }
  | {
      ok: false;
      code: typeof ErrorCode.BadFrame | typeof ErrorCode.UnknownType | typeof NackCode.TooDeep;
      message: string;
      /** With `too_deep`: the id of the `msg`, whose answer is a nack. */
      id?: string;
    };

type Obj = Record<string, unknown>;
type Check<F> = (o: Obj) => F | string;

const isSeq = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID_LENGTH;

const clientChecks: Record<string, Check<ClientFrame>> = {
  hello(o) {
    if (typeof o.v !== 'number') return 'hello.v must be a number';
    const out: ClientFrame = { t: 'hello', v: o.v };
    if (o.token !== undefined) {
      if (typeof o.token !== 'string') return 'hello.token must be a string';
      out.token = o.token;
    }
    if (o.resume !== undefined) {
      const r = o.resume as Obj | null;
      if (typeof r !== 'object' || r === null || Array.isArray(r))
        return 'hello.resume must be an object {sid, key, ack}';
      if (!isId(r.sid)) return `hello.resume.sid must be a string of 1-${MAX_ID_LENGTH} characters`;
      if (!isId(r.key)) return `hello.resume.key must be a string of 1-${MAX_ID_LENGTH} characters`;
      if (!isSeq(r.ack)) return 'hello.resume.ack must be an integer >= 0';
      out.resume = { sid: r.sid, key: r.key, ack: r.ack };
    }
    return out;
  },
  ack: (o) => (isSeq(o.seq) ? { t: 'ack', seq: o.seq } : 'ack.seq must be an integer >= 0'),
  msg(o) {
    if (!isId(o.id)) return `msg.id must be a string of 1-${MAX_ID_LENGTH} characters`;
    if (!('data' in o)) return 'msg.data is required';
    return { t: 'msg', id: o.id, data: o.data };
  },
  ping: () => ({ t: 'ping' }),
  pong: () => ({ t: 'pong' }),
  bye: () => ({ t: 'bye' }),
};

const REASONS = new Set<ResumeReason>(['new_session', 'unknown_session', 'gap', 'epoch_changed']);

/**
 * A received value for an error message: a string's first 32 characters, else its JSON type.
 * Never JSON.stringify the value itself: a deeply nested one throws a RangeError, a long one
 * would be copied whole into the message.
 */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 32));
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

const serverChecks: Record<string, Check<ServerFrame>> = {
  welcome(o) {
    if (typeof o.sid !== 'string' || typeof o.key !== 'string' || typeof o.epoch !== 'string')
      return 'welcome needs string sid, key and epoch';
    if (typeof o.resumed !== 'boolean' || typeof o.recovered !== 'boolean')
      return 'welcome needs boolean resumed and recovered';
    if (!isSeq(o.last) || !isSeq(o.hb)) return 'welcome needs integer last and hb';
    const out: ServerFrame = {
      t: 'welcome',
      v: typeof o.v === 'number' ? o.v : 1,
      sid: o.sid,
      key: o.key,
      epoch: o.epoch,
      resumed: o.resumed,
      recovered: o.recovered,
      last: o.last,
      hb: o.hb,
    };
    if (o.reason !== undefined) {
      if (!REASONS.has(o.reason as ResumeReason))
        return `unknown welcome.reason ${describe(o.reason)}`;
      out.reason = o.reason as ResumeReason;
    }
    if (o.missing !== undefined) {
      if (!isSeq(o.missing)) return 'welcome.missing must be an integer >= 0';
      out.missing = o.missing;
    }
    // A later revision's field the SDK does not know is ignored, like any unknown field.
    if (isSeq(o.minor)) out.minor = o.minor;
    return out;
  },
  msg(o) {
    if (!('data' in o)) return 'msg.data is required';
    const out: ServerFrame = { t: 'msg', data: o.data };
    if (o.seq !== undefined) {
      if (!isSeq(o.seq) || o.seq === 0) return 'msg.seq must be an integer >= 1';
      out.seq = o.seq;
    }
    if (o.id !== undefined) {
      if (typeof o.id !== 'string') return 'msg.id must be a string';
      out.id = o.id;
    }
    if (o.prev !== undefined) {
      if (out.seq === undefined || !isSeq(o.prev) || o.prev >= out.seq)
        return 'msg.prev must be an integer >= 0 below msg.seq';
      out.prev = o.prev;
    }
    if (o.key !== undefined) {
      if (typeof o.key !== 'string') return 'msg.key must be a string';
      out.key = o.key;
    }
    return out;
  },
  ok(o) {
    if (!isId(o.id)) return 'ok.id must be a string';
    const out: ServerFrame = { t: 'ok', id: o.id };
    if (o.dup === true) out.dup = true;
    if (o.data !== undefined) out.data = o.data;
    return out;
  },
  nack(o) {
    if (!isId(o.id) || typeof o.code !== 'string' || typeof o.retryable !== 'boolean')
      return 'nack needs id, code and retryable';
    const out: ServerFrame = {
      t: 'nack',
      id: o.id,
      code: o.code,
      message: typeof o.message === 'string' ? o.message : '',
      retryable: o.retryable,
    };
    // Optional; a value that is not a finite number >= 0 is ignored like an unknown field.
    if (
      typeof o.retryAfterMs === 'number' &&
      Number.isFinite(o.retryAfterMs) &&
      o.retryAfterMs >= 0
    )
      out.retryAfterMs = o.retryAfterMs;
    return out;
  },
  ping: () => ({ t: 'ping' }),
  pong: () => ({ t: 'pong' }),
  error(o) {
    if (typeof o.code !== 'string') return 'error.code must be a string';
    return { t: 'error', code: o.code, message: typeof o.message === 'string' ? o.message : '' };
  },
};

/**
 * Whether a parsed value nests arrays and objects more than `levels` deep (a scalar is 0,
 * `[1]` is 1). A walk of the value JSON.parse built, not a second parse; it stops at the
 * first container past the limit, so it recurses at most `levels` deep.
 */
export function nestsDeeper(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestsDeeper(value[i], levels - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeper((value as Obj)[key], levels - 1)) return true;
  return false;
}

function decodeOne<F>(text: string, checks: Record<string, Check<F>>): Decoded<F> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.BadFrame, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, code: ErrorCode.BadFrame, message: 'frame must be a JSON object' };
  const o = value as Obj;
  if (typeof o.t !== 'string')
    return { ok: false, code: ErrorCode.BadFrame, message: 'frame needs a string field "t"' };
  const check = Object.hasOwn(checks, o.t) ? checks[o.t] : undefined;
  if (check === undefined)
    return {
      ok: false,
      code: ErrorCode.UnknownType,
      message: `unknown frame type "${o.t.slice(0, 32)}"`,
    };
  const result = check(o);
  return typeof result === 'string'
    ? { ok: false, code: ErrorCode.BadFrame, message: result }
    : { ok: true, frame: result };
}

function decodeMany<F>(text: string, checks: Record<string, Check<F>>): Decoded<F>[] {
  if (text.indexOf('\n') === -1) return [decodeOne(text, checks)];
  const out: Decoded<F>[] = [];
  for (const part of text.split('\n')) if (part.length > 0) out.push(decodeOne(part, checks));
  // A message of only newlines carries no frame: report it like an empty message.
  return out.length > 0 ? out : [decodeOne('', checks)];
}

/**
 * Decode one WebSocket message from a client into frames (server side). `maxDepth` (the
 * server's `maxJsonDepth`): the most levels of arrays and objects a `msg`'s `data` may nest;
 * a deeper one is refused with `too_deep` and the msg's id (the server answers a nack).
 * Other fields are not checked: unknown ones are dropped, known ones are scalars or `resume`.
 * Default: no limit.
 */
export function decodeClientMessage(text: string, maxDepth?: number): Decoded<ClientFrame>[] {
  const out = decodeMany(text, clientChecks);
  // Each level takes two characters: a shorter message cannot hold data that deep.
  if (maxDepth === undefined || text.length < 2 * (maxDepth + 1)) return out;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d.ok && d.frame.t === 'msg' && nestsDeeper(d.frame.data, maxDepth))
      out[i] = {
        ok: false,
        code: NackCode.TooDeep,
        id: d.frame.id,
        message: `msg.data nests arrays and objects deeper than ${maxDepth} levels (maxJsonDepth)`,
      };
  }
  return out;
}

/** Decode one WebSocket message from the server into frames (SDK side). */
export function decodeServerMessage(text: string): Decoded<ServerFrame>[] {
  return decodeMany(text, serverChecks);
}

/** Serialize one frame. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Hot path: build a server `msg` frame around an already-serialized `data` JSON text, so a
 * stored message is serialized once (at send) and never again (not at replay, not to hash).
 */
export function encodeMsg(
  seq: number | undefined,
  dataJson: string,
  id?: string,
  key?: string,
  prev?: number,
): string {
  const head =
    seq === undefined
      ? '{"t":"msg"'
      : prev === undefined
        ? `{"t":"msg","seq":${seq}`
        : `{"t":"msg","seq":${seq},"prev":${prev}`;
  const idPart = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
  const keyPart = key === undefined ? '' : `,"key":${JSON.stringify(key)}`;
  return `${head}${idPart}${keyPart},"data":${dataJson}}`;
}

/** Join frames into one WebSocket message. */
export function joinFrames(frames: readonly string[]): string {
  return frames.length === 1 ? frames[0]! : frames.join('\n');
}
