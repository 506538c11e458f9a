/**
 * The fuzzer: random and mutated inputs, in-process, for the frame decoders (both directions)
 * and the HTTP API's body handling (readJson, the publish/broadcast options, the percent-
 * decoded session id). No framework: a seeded PRNG, so a failure is replayed with its seed.
 * `npm run fuzz` runs it (scripts/fuzz.js); test/unit/fuzz.test.ts runs a few thousand
 * iterations in CI. An answer is fine when it is a documented one: a frame or
 * `bad_frame`/`unknown_type` from a decoder, a value or an HttpError of the catalog (with the
 * catalog's status) from the HTTP side. Anything thrown that is not one is a failure.
 */
import { seededRandom } from '../support/chaos-proxy.js';
import type { IncomingMessage } from 'node:http';
import { SETTINGS } from '../../src/config/schema.js';
import { isRwsErrorCode } from '../../src/error-codes.js';
import { isRwsError } from '../../src/errors.js';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeFrame,
  ErrorCode,
  NackCode,
  type ClientFrame,
  type Decoded,
  type ServerFrame,
} from '../../src/protocol/index.js';
import { decodeSegment, HttpError, readJson } from '../../src/server/http-util.js';
import { ERROR_STATUS, sendOptions } from '../../src/server/routes.js';

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Stop collecting failures after this many (default 20). */
  maxFailures?: number;
}

export interface FuzzFailure {
  target: string;
  iteration: number;
  /** The input (cut to 300 characters). */
  input: string;
  error: string;
}

export interface FuzzReport {
  iterations: number;
  seed: number;
  /** Calls per target (a decoder call answers one result per frame of the message). */
  calls: Record<string, number>;
  /** How often each answer was seen, per target: `ok`, an error code, or `FAILURE`. */
  outcomes: Record<string, Record<string, number>>;
  failures: FuzzFailure[];
  ms: number;
}

/** Small, fast, seeded (mulberry32). */
const prng = seededRandom;

const FRAME_TYPES = [
  'hello',
  'ack',
  'msg',
  'ping',
  'pong',
  'bye',
  'welcome',
  'ok',
  'nack',
  'error',
];
const FIELDS = ['t', 'v', 'token', 'resume', 'seq', 'id', 'data', 'sid', 'key', 'epoch'];
const MORE_FIELDS = ['resumed', 'recovered', 'reason', 'missing', 'last', 'hb', 'dup', 'code'];
const ALL_FIELDS = [...FIELDS, ...MORE_FIELDS, 'message', 'retryable', 'volatile', 'dedup'];
const PUNCTUATION = '{}[]":,\\\n\r\t 0123456789-.eE+tfnul';
const SPECIAL_NUMBERS = [0, -1, 1, 1.5, -0.5, 2 ** 53, 2 ** 53 - 1, 1e300, -1e300, 128, 129];
const SPECIAL_TEXTS = [
  '1e400',
  '-0',
  '00',
  '1.',
  '.5',
  '"\\ud800"',
  '"\\u0000"',
  'NaN',
  '{}',
  '[]',
];

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Mostly short, sometimes at the 128 boundary, rarely long. */
  length(): number {
    const r = this.rnd();
    if (r < 0.7) return this.int(12);
    if (r < 0.9) return 126 + this.int(5);
    return this.int(2000);
  }
  char(): string {
    const r = this.rnd();
    if (r < 0.4) return String.fromCharCode(32 + this.int(95));
    if (r < 0.7) return PUNCTUATION[this.int(PUNCTUATION.length)]!;
    if (r < 0.8) return String.fromCharCode(0xd800 + this.int(0x800)); // lone surrogates
    return String.fromCharCode(this.int(0x10000));
  }
  text(n = this.length()): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.char();
    return s;
  }
  number(): number {
    const r = this.rnd();
    if (r < 0.4) return this.int(1000);
    if (r < 0.7) return this.pick(SPECIAL_NUMBERS);
    return (this.rnd() - 0.5) * 10 ** this.int(20);
  }
  /** Any JSON value, `depth` levels at most. */
  json(depth = 3): unknown {
    const r = this.rnd();
    if (depth <= 0 || r < 0.5)
      return this.pick([null, true, false, this.number(), this.text(), this.pick(FRAME_TYPES)]);
    if (r < 0.75) return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
    const o: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--)
      o[this.chance(0.5) ? this.pick(ALL_FIELDS) : this.text(4)] = this.json(depth - 1);
    return o;
  }
  id(): string {
    return this.text(this.chance(0.8) ? 1 + this.int(12) : this.length());
  }
  seq(): unknown {
    return this.chance(0.8) ? this.int(1000) : this.chance(0.5) ? this.number() : this.json(1);
  }
  /** A frame of any v1 type, mostly valid. */
  frame(): Record<string, unknown> {
    switch (this.pick(FRAME_TYPES)) {
      case 'hello': {
        const f: Record<string, unknown> = { t: 'hello', v: this.chance(0.8) ? 1 : this.number() };
        if (this.chance(0.5)) f.token = this.text();
        if (this.chance(0.5)) f.resume = { sid: this.id(), key: this.id(), ack: this.seq() };
        return f;
      }
      case 'ack':
        return { t: 'ack', seq: this.seq() };
      case 'msg': {
        const f: Record<string, unknown> = { t: 'msg', id: this.id(), data: this.json() };
        if (this.chance(0.5)) f.seq = this.seq();
        return f;
      }
      case 'welcome': {
        const f: Record<string, unknown> = {
          t: 'welcome',
          v: 1,
          sid: this.text(22),
          key: this.text(22),
          epoch: this.text(8),
          resumed: this.chance(0.5),
          recovered: this.chance(0.5),
          last: this.seq(),
          hb: this.seq(),
        };
        if (this.chance(0.5))
          f.reason = this.chance(0.8)
            ? this.pick(['new_session', 'unknown_session', 'gap', 'epoch_changed'])
            : this.json();
        if (this.chance(0.3)) f.missing = this.seq();
        return f;
      }
      case 'ok':
        return { t: 'ok', id: this.id(), ...(this.chance(0.3) ? { dup: true } : {}) };
      case 'nack':
        return { t: 'nack', id: this.id(), code: this.text(), retryable: this.chance(0.5) };
      case 'error':
        return { t: 'error', code: this.text(), message: this.text() };
      default:
        return { t: this.pick(['ping', 'pong', 'bye']) };
    }
  }
  /** A value `levels` deep, as JSON text (too deep to build and stringify). */
  deep(levels: number): string {
    return this.chance(0.5)
      ? '['.repeat(levels) + ']'.repeat(levels)
      : '{"a":'.repeat(levels) + '0' + '}'.repeat(levels);
  }
  /** Text-level damage: cuts, insertions, swaps, truncation, a stray newline. */
  mutate(s: string): string {
    let out = s;
    for (let k = 1 + this.int(4); k > 0; k--) {
      const at = this.int(out.length + 1);
      switch (this.int(5)) {
        case 0:
          out = out.slice(0, at) + out.slice(at + 1 + this.int(4));
          break;
        case 1:
          out = out.slice(0, at) + this.text(1 + this.int(4)) + out.slice(at);
          break;
        case 2:
          out = out.slice(0, at);
          break;
        case 3: {
          const b = this.int(out.length + 1);
          out = out.slice(0, Math.min(at, b)) + out.slice(Math.max(at, b)) + out.slice(at, b);
          break;
        }
        default:
          out = out.slice(0, at) + this.pick(['\n', '"', '\\', ',', ':']) + out.slice(at);
      }
    }
    return out;
  }
  /** One frame's text: valid, with a field changed or dropped or added, damaged, or random. */
  frameText(): string {
    const r = this.rnd();
    if (r < 0.05) return this.text();
    const f = this.frame();
    if (r < 0.3) return encodeFrame(f as unknown as ClientFrame);
    if (r < 0.55) {
      const key = this.chance(0.7) ? this.pick(Object.keys(f)) : this.pick(ALL_FIELDS);
      if (this.chance(0.3)) delete f[key];
      else f[key] = this.chance(0.5) ? this.json() : this.pick(SPECIAL_NUMBERS);
      return JSON.stringify(f);
    }
    if (r < 0.6) {
      // A special number literal or a deep value spliced into a field.
      const key = this.pick(Object.keys(f));
      const marker = '\u0000m\u0000';
      const value = this.chance(0.5)
        ? this.pick(SPECIAL_TEXTS)
        : this.deep(this.chance(0.9) ? this.int(100) : 10_000 + this.int(90_000));
      return JSON.stringify({ ...f, [key]: marker }).replace(JSON.stringify(marker), () => value);
    }
    return this.mutate(JSON.stringify(f));
  }
  /** A WebSocket message: one frame, or a batch with empty lines here and there. */
  message(): string {
    if (this.chance(0.7)) return this.frameText();
    const parts = Array.from({ length: 1 + this.int(5) }, () =>
      this.chance(0.15) ? '' : this.frameText(),
    );
    return parts.join('\n');
  }
  /** A publish or broadcast body: the documented fields with good and bad values. */
  body(): string {
    if (this.chance(0.2)) return this.message();
    const b: Record<string, unknown> = {};
    if (this.chance(0.9)) b.data = this.json();
    if (this.chance(0.3)) b.id = this.chance(0.7) ? this.id() : this.json(1);
    if (this.chance(0.3)) b.key = this.chance(0.7) ? this.id() : this.json(1);
    if (this.chance(0.3)) b.volatile = this.chance(0.7) ? this.chance(0.5) : this.json(1);
    if (this.chance(0.2)) b.dedup = this.chance(0.7) ? 'content' : this.json(1);
    if (this.chance(0.1)) b[this.text(4)] = this.json();
    const text = JSON.stringify(b);
    return this.chance(0.15) ? this.mutate(text) : text;
  }
  contentType(): string | undefined {
    if (this.chance(0.5)) return undefined;
    return this.pick([
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json5',
      'text/plain',
      '',
      this.text(8),
    ]);
  }
  segment(): string {
    let s = '';
    for (let i = this.int(10); i > 0; i--)
      s += this.chance(0.3)
        ? '%' + this.pick(['', '%', 'zz', 'e0', 'c3', 'ff', '41', 'F0%9F', 'E2%82'])
        : this.char();
    return s;
  }
}

const DECODER_CODES = new Set<string>([
  ErrorCode.BadFrame,
  ErrorCode.UnknownType,
  NackCode.TooDeep,
]);
/** The server decodes client messages with its default `maxJsonDepth`. */
const MAX_JSON_DEPTH = SETTINGS.maxJsonDepth.default;
const CLIENT_TYPES = new Set(['hello', 'ack', 'msg', 'ping', 'pong', 'bye']);
const SERVER_TYPES = new Set(['welcome', 'msg', 'ok', 'nack', 'ping', 'pong', 'error']);

/** Why a decoder answer is not a documented one, or undefined when it is. */
function badDecoderAnswer(
  input: string,
  results: Decoded<ClientFrame | ServerFrame>[],
  types: Set<string>,
): string | undefined {
  const lines = input.split('\n').filter((l) => l.length > 0).length;
  if (!Array.isArray(results) || results.length !== Math.max(1, lines))
    return `expected ${Math.max(1, lines)} results, got ${results.length}`;
  for (const r of results) {
    if (r.ok) {
      if (!types.has(r.frame.t)) return `a frame of type ${r.frame.t}`;
    } else if (!DECODER_CODES.has(r.code)) return `undocumented code ${String(r.code)}`;
    else if ((r.code === NackCode.TooDeep) !== (typeof r.id === 'string'))
      return `${r.code} ${r.id === undefined ? 'without' : 'with'} an id`;
    else if (typeof r.message !== 'string' || r.message.length > 200)
      return `an error message of ${String(r.message).length} characters`;
  }
  return undefined;
}

/** Why a thrown value is not a typed error of the catalog, or undefined when it is one. */
function badThrow(error: unknown): string | undefined {
  if (!isRwsError(error) || !isRwsErrorCode(error.code)) return describeError(error);
  if (error instanceof HttpError && error.status !== ERROR_STATUS[error.code])
    return `HttpError ${error.code} with status ${error.status}, the catalog says ${ERROR_STATUS[error.code]}`;
  return undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `thrown ${String(error)}`;
}

function request(body: Buffer, chunks: number, contentType?: string): IncomingMessage {
  const size = Math.ceil(body.length / chunks) || 1;
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) parts.push(body.subarray(i, i + size));
  return {
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    [Symbol.asyncIterator]() {
      return parts[Symbol.iterator]();
    },
  } as unknown as IncomingMessage;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const g = new Gen(prng(options.seed));
  const maxFailures = options.maxFailures ?? 20;
  const calls: Record<string, number> = {};
  const outcomes: Record<string, Record<string, number>> = {};
  const failures: FuzzFailure[] = [];
  const call = (target: string) => {
    calls[target] = (calls[target] ?? 0) + 1;
  };
  const seen = (target: string, outcome: string) => {
    const o = (outcomes[target] ??= {});
    o[outcome] = (o[outcome] ?? 0) + 1;
  };
  const fail = (target: string, iteration: number, input: string, error: string) => {
    seen(target, 'FAILURE');
    if (failures.length < maxFailures)
      failures.push({ target, iteration, input: input.slice(0, 300), error });
  };

  for (let i = 0; i < options.iterations; i++) {
    // The frame decoders, both directions, on the same message.
    const message = g.message();
    for (const [target, decode, types] of [
      [
        'decodeClientMessage',
        (text: string) => decodeClientMessage(text, MAX_JSON_DEPTH),
        CLIENT_TYPES,
      ],
      ['decodeServerMessage', decodeServerMessage, SERVER_TYPES],
    ] as const) {
      call(target);
      try {
        const results = decode(message);
        const bad = badDecoderAnswer(message, results, types);
        if (bad === undefined) for (const r of results) seen(target, r.ok ? 'ok' : r.code);
        else fail(target, i, message, bad);
      } catch (error) {
        fail(target, i, message, describeError(error));
      }
    }

    // An HTTP body through readJson, then the publish and broadcast options.
    const body = g.body();
    const bytes = Buffer.from(body, 'utf8');
    const limit = g.chance(0.1) ? g.int(bytes.length + 1) : 1 << 20;
    let parsed: Record<string, unknown> | undefined;
    call('readJson');
    try {
      parsed = await readJson(request(bytes, 1 + g.int(3), g.contentType()), limit);
      seen('readJson', 'ok');
    } catch (error) {
      const bad = badThrow(error);
      if (bad === undefined) seen('readJson', (error as HttpError).code);
      else fail('readJson', i, body, bad);
    }
    if (parsed !== undefined)
      for (const [target, publish] of [
        ['sendOptions(publish)', true],
        ['sendOptions(broadcast)', false],
      ] as const) {
        call(target);
        try {
          sendOptions(parsed, publish);
          seen(target, 'ok');
        } catch (error) {
          const bad = badThrow(error);
          if (bad === undefined) seen(target, (error as HttpError).code);
          else fail(target, i, body, bad);
        }
      }

    // The {sid} path segment.
    const segment = g.segment();
    call('decodeSegment');
    try {
      decodeSegment(segment, 'session id');
      seen('decodeSegment', 'ok');
    } catch (error) {
      const bad = badThrow(error);
      if (bad === undefined) seen('decodeSegment', (error as HttpError).code);
      else fail('decodeSegment', i, segment, bad);
    }
  }
  return {
    iterations: options.iterations,
    seed: options.seed,
    calls,
    outcomes,
    failures,
    ms: performance.now() - started,
  };
}

/** The report as text, for the command line. */
export function formatReport(r: FuzzReport): string {
  const lines = [`fuzz: ${r.iterations} iterations, seed ${r.seed}, ${(r.ms / 1000).toFixed(1)} s`];
  for (const [target, n] of Object.entries(r.calls)) {
    const o = Object.entries(r.outcomes[target] ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`  ${target}: ${n} calls, answers: ${o}`);
  }
  const codes = new Set(
    Object.values(r.outcomes).flatMap((o) =>
      Object.keys(o).filter((k) => k !== 'ok' && k !== 'FAILURE'),
    ),
  );
  lines.push(`  distinct error codes: ${[...codes].sort().join(', ')}`);
  lines.push(
    r.failures.length === 0
      ? '  failures: none (every answer was a documented one)'
      : `  failures: ${r.failures.length} shown`,
  );
  for (const f of r.failures)
    lines.push(
      `    #${f.iteration} ${f.target}: ${f.error}\n      input: ${JSON.stringify(f.input)}`,
    );
  return lines.join('\n');
}
