/**
 * Properties of the frame codec (docs/protocol.md §1 "frames"/"batches", §2, §7), checked with
 * fast-check over generated frames, arbitrary text and mutated frames. The example-based
 * cases are in codec.test.ts; the fuzzer (test/fuzz/fuzz.ts, `npm run fuzz`) runs the same
 * decoders much longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeFrame,
  encodeMsg,
  ErrorCode,
  joinFrames,
  MAX_ID_LENGTH,
  type ClientFrame,
  type Decoded,
  type ServerFrame,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Any UTF-16 code unit: lone surrogates, control characters, quotes, newlines included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Code units with the characters that matter to JSON and to batching made frequent. */
const unit = fc.oneof(
  { weight: 3, arbitrary: codeUnit },
  { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\r', '\u2028', '{', '}', ':', ',') },
);
const text = (maxLength = 40) => fc.string({ unit, maxLength });
const id = fc.oneof(
  fc.string({ unit, minLength: 1, maxLength: 12 }),
  fc.string({ unit, minLength: MAX_ID_LENGTH - 2, maxLength: MAX_ID_LENGTH }),
);
const seq = fc.oneof(fc.nat(1000), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER));
/**
 * Any JSON value, as it arrives: through JSON text (fast-check's jsonValue can hold -0, which
 * JSON writes as 0, so a -0 in `data` is 0 on the other side whatever the codec does).
 */
const data = fc
  .jsonValue({ maxDepth: 4, stringUnit: unit })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown);
/** Any number JSON can carry, -0 excepted (it comes back as 0). */
const jsonNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)),
);

const clientFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.record(
    {
      t: fc.constant('hello' as const),
      v: fc.oneof(fc.constant(1), jsonNumber),
      token: text(),
      resume: fc.record({ sid: id, key: id, ack: seq }),
    },
    { requiredKeys: ['t', 'v'] },
  ),
  fc.record({ t: fc.constant('ack' as const), seq }),
  fc.record({ t: fc.constant('msg' as const), id, data }),
  fc.constantFrom<ClientFrame>({ t: 'ping' }, { t: 'pong' }, { t: 'bye' }),
);

const serverFrame: fc.Arbitrary<ServerFrame> = fc.oneof(
  fc.record(
    {
      t: fc.constant('welcome' as const),
      v: fc.oneof(fc.constant(1), jsonNumber),
      sid: text(),
      key: text(),
      epoch: text(),
      resumed: fc.boolean(),
      recovered: fc.boolean(),
      reason: fc.constantFrom('new_session', 'unknown_session', 'gap', 'epoch_changed' as const),
      missing: seq,
      last: seq,
      hb: seq,
    },
    {
      requiredKeys: ['t', 'v', 'sid', 'key', 'epoch', 'resumed', 'recovered', 'last', 'hb'],
    },
  ),
  fc.record(
    {
      t: fc.constant('msg' as const),
      seq: seq.map((n) => Math.max(1, n)),
      id: text(),
      data,
    },
    { requiredKeys: ['t', 'data'] },
  ),
  fc.record(
    { t: fc.constant('ok' as const), id, dup: fc.constant(true as const), data },
    { requiredKeys: ['t', 'id'] },
  ),
  fc.record({
    t: fc.constant('nack' as const),
    id,
    code: text(),
    message: text(),
    retryable: fc.boolean(),
  }),
  fc.record({ t: fc.constant('error' as const), code: text(), message: text() }),
  fc.constantFrom<ServerFrame>({ t: 'ping' }, { t: 'pong' }),
);

/** One frame of each type of both directions, with every optional field present. */
const ONE_OF_EACH: readonly (ClientFrame | ServerFrame)[] = [
  { t: 'hello', v: 1, token: 't', resume: { sid: 's', key: 'k', ack: 0 } },
  { t: 'ack', seq: 1 },
  { t: 'msg', id: 'i', data: null },
  { t: 'ping' },
  { t: 'pong' },
  { t: 'bye' },
  {
    t: 'welcome',
    v: 1,
    sid: 's',
    key: 'k',
    epoch: 'e',
    resumed: true,
    recovered: false,
    reason: 'gap',
    missing: 1,
    last: 2,
    hb: 25_000,
  },
  { t: 'msg', seq: 1, id: 'i', data: 1 },
  { t: 'ok', id: 'i', dup: true, data: 1 },
  { t: 'nack', id: 'i', code: 'c', message: 'm', retryable: true },
  { t: 'error', code: 'c', message: 'm' },
];

const CLIENT_TYPES = ['hello', 'ack', 'msg', 'ping', 'pong', 'bye'];
const SERVER_TYPES = ['welcome', 'msg', 'ok', 'nack', 'ping', 'pong', 'error'];
/** The fields each frame type reads (docs/protocol.md §2); any other field is unknown. */
const KNOWN_FIELDS = new Set([
  't',
  'v',
  'token',
  'resume',
  'seq',
  'id',
  'data',
  'sid',
  'key',
  'epoch',
  'resumed',
  'recovered',
  'reason',
  'missing',
  'last',
  'hb',
  'dup',
  'code',
  'message',
  'retryable',
]);

// ---------------------------------------------------------------------------------------------
// What every decoder answer must be

const ERROR_CODES: readonly string[] = [ErrorCode.BadFrame, ErrorCode.UnknownType];

/**
 * A decoder answer is well formed: one result per non-empty line (one for a message without
 * any), each a frame of a known type or one of the two documented error codes with a short
 * message (an error message never copies the received value whole).
 */
function checkAnswer<F extends { t: string }>(
  input: string,
  results: Decoded<F>[],
  types: readonly string[],
): void {
  const lines = input.split('\n').filter((l) => l.length > 0).length;
  expect(results).toHaveLength(Math.max(1, lines));
  for (const r of results) {
    if (r.ok) expect(types).toContain(r.frame.t);
    else {
      expect(ERROR_CODES).toContain(r.code);
      expect(typeof r.message).toBe('string');
      expect(r.message.length).toBeLessThan(200);
    }
  }
}

/** Decoding, encoding the frame and decoding again gives the same frame (canonical form). */
function checkCanonical<F extends ClientFrame | ServerFrame>(
  results: Decoded<F>[],
  decode: (text: string) => Decoded<F>[],
): void {
  for (const r of results)
    if (r.ok) expect(decode(encodeFrame(r.frame))).toEqual([{ ok: true, frame: r.frame }]);
}

const decodeClient = (s: string) => decodeClientMessage(s);
const decodeServer = (s: string) => decodeServerMessage(s);

/** JSON text of `frame` with `field` set to `valueText` (any JSON text, a deep one too). */
function withField(frame: object, field: string, valueText: string): string {
  const marker = '\u0000marker\u0000';
  return JSON.stringify({ ...frame, [field]: marker }).replace(
    JSON.stringify(marker),
    () => valueText,
  );
}

/** Text-level mutations of an encoded frame: cuts, insertions, replacements, truncation. */
const textMutation = fc.array(
  fc.record({
    at: fc.nat(),
    cut: fc.nat(4),
    insert: fc.string({ unit: fc.oneof(unit, fc.constantFrom('[', ']', '0', '-', '.', 'e')) }),
  }),
  { minLength: 1, maxLength: 4 },
);
function mutateText(s: string, ops: { at: number; cut: number; insert: string }[]): string {
  let out = s;
  for (const op of ops) {
    const at = out.length === 0 ? 0 : op.at % (out.length + 1);
    out = out.slice(0, at) + op.insert + out.slice(at + op.cut);
  }
  return out;
}

/** Structural mutations of a frame object: a field set to any JSON value, removed, added. */
const fieldMutation = fc.record({
  kind: fc.constantFrom('set', 'remove', 'add'),
  pick: fc.nat(),
  name: fc.oneof(fc.constantFrom(...KNOWN_FIELDS), text(8)),
  value: fc.oneof(data, jsonNumber, fc.constantFrom(-1, 1.5, 2 ** 53, 1e300, '1', '', null)),
});
type FieldMutation = typeof fieldMutation extends fc.Arbitrary<infer M> ? M : never;
function mutateFields(frame: object, m: FieldMutation): Record<string, unknown> {
  const out: Record<string, unknown> = { ...frame };
  const keys = Object.keys(out);
  const key = keys[m.pick % keys.length]!;
  if (m.kind === 'set') out[key] = m.value;
  else if (m.kind === 'remove') delete out[key];
  else out[m.name] = m.value;
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('codec properties: round trips', () => {
  it('every valid client frame comes back unchanged through encodeFrame and decodeClientMessage', () => {
    fc.assert(
      fc.property(clientFrame, (frame) => {
        const encoded = encodeFrame(frame);
        expect(encoded).not.toContain('\n');
        expect(decodeClientMessage(encoded)).toEqual([{ ok: true, frame }]);
      }),
      { numRuns: 500 },
    );
  });

  it('every valid server frame comes back unchanged through encodeFrame and decodeServerMessage', () => {
    fc.assert(
      fc.property(serverFrame, (frame) => {
        const encoded = encodeFrame(frame);
        expect(encoded).not.toContain('\n');
        expect(decodeServerMessage(encoded)).toEqual([{ ok: true, frame }]);
      }),
      { numRuns: 500 },
    );
  });

  it('a batch (joinFrames) decodes to its frames, in order, in both directions', () => {
    fc.assert(
      fc.property(
        fc.array(clientFrame, { minLength: 1, maxLength: 8 }),
        fc.array(serverFrame, { minLength: 1, maxLength: 8 }),
        (clientFrames, serverFrames) => {
          expect(decodeClientMessage(joinFrames(clientFrames.map(encodeFrame)))).toEqual(
            clientFrames.map((frame) => ({ ok: true, frame })),
          );
          expect(decodeServerMessage(joinFrames(serverFrames.map(encodeFrame)))).toEqual(
            serverFrames.map((frame) => ({ ok: true, frame })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('encodeMsg (the hot path) writes exactly encodeFrame of the msg frame', () => {
    fc.assert(
      fc.property(
        fc.option(
          seq.map((n) => Math.max(1, n)),
          { nil: undefined },
        ),
        data,
        fc.option(text(), { nil: undefined }),
        (s, d, i) => {
          const frame: ServerFrame = { t: 'msg', data: d };
          if (s !== undefined) frame.seq = s;
          if (i !== undefined) frame.id = i;
          const text = encodeMsg(s, JSON.stringify(d), i);
          expect(text).toBe(
            encodeFrame({
              t: 'msg',
              ...(s === undefined ? {} : { seq: s }),
              ...(i === undefined ? {} : { id: i }),
              data: d,
            }),
          );
          expect(decodeServerMessage(text)).toEqual([{ ok: true, frame }]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('codec properties: no input makes the decoder throw', () => {
  it('arbitrary text: a frame of a known type or bad_frame / unknown_type, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), (input) => {
        checkAnswer(input, decodeClientMessage(input), CLIENT_TYPES);
        checkAnswer(input, decodeServerMessage(input), SERVER_TYPES);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary JSON values, and objects with any t: typed answers, and accepted frames are canonical', () => {
    const t = fc.oneof(fc.constantFrom(...CLIENT_TYPES, ...SERVER_TYPES), data);
    const objectWithT = fc
      .tuple(t, fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_FIELDS), text(8)), data))
      .map(([tv, rest]) => ({ ...rest, t: tv }));
    fc.assert(
      fc.property(fc.oneof(data, objectWithT), (value) => {
        const input = JSON.stringify(value);
        const c = decodeClientMessage(input);
        const s = decodeServerMessage(input);
        checkAnswer(input, c, CLIENT_TYPES);
        checkAnswer(input, s, SERVER_TYPES);
        checkCanonical(c, decodeClient);
        checkCanonical(s, decodeServer);
      }),
      { numRuns: 500 },
    );
  });

  it('valid frames mutated as text (cut, insert, truncate): typed answers', () => {
    fc.assert(
      fc.property(fc.oneof(clientFrame, serverFrame), textMutation, (frame, ops) => {
        const input = mutateText(encodeFrame(frame), ops);
        const c = decodeClientMessage(input);
        const s = decodeServerMessage(input);
        checkAnswer(input, c, CLIENT_TYPES);
        checkAnswer(input, s, SERVER_TYPES);
        checkCanonical(c, decodeClient);
        checkCanonical(s, decodeServer);
      }),
      { numRuns: 500 },
    );
  });

  it('valid frames with a field set to any value, removed or added: typed answers', () => {
    fc.assert(
      fc.property(
        fc.oneof(clientFrame, serverFrame),
        fc.array(fieldMutation, { minLength: 1, maxLength: 3 }),
        (frame, mutations) => {
          let value: Record<string, unknown> = { ...frame };
          for (const m of mutations) value = mutateFields(value, m);
          const input = JSON.stringify(value);
          const c = decodeClientMessage(input);
          const s = decodeServerMessage(input);
          checkAnswer(input, c, CLIENT_TYPES);
          checkAnswer(input, s, SERVER_TYPES);
          checkCanonical(c, decodeClient);
          checkCanonical(s, decodeServer);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('every field of every frame type set to a deeply nested value (up to 100 000 levels): typed answers', () => {
    // Exhaustive rather than sampled: deep texts are slow to parse, and one field of one frame
    // type is enough to throw (welcome.reason did, with a RangeError).
    // 100 000 levels (200 KB) are deeper than any recursion can go on a default stack.
    const deepValues = [1, 64, 10_000, 100_000].flatMap((depth) => [
      '['.repeat(depth) + ']'.repeat(depth),
      ...(depth > 10_000 ? [] : ['{"a":'.repeat(depth) + '1' + '}'.repeat(depth)]),
    ]);
    for (const deep of deepValues)
      for (const frame of ONE_OF_EACH)
        for (const field of [...Object.keys(frame), 'unknown']) {
          const input = withField(frame, field, deep);
          checkAnswer(input, decodeClientMessage(input), CLIENT_TYPES);
          checkAnswer(input, decodeServerMessage(input), SERVER_TYPES);
        }
  }, 30_000);
});

describe('codec properties: validation limits (docs/protocol.md §2, §7)', () => {
  const idOfLength = fc
    .integer({ min: 0, max: 3 * MAX_ID_LENGTH })
    .chain((n) => fc.string({ unit: codeUnit, minLength: n, maxLength: n }));

  it('msg.id, hello.resume.sid and hello.resume.key: accepted iff 1-128 characters', () => {
    fc.assert(
      fc.property(idOfLength, fc.constantFrom('id', 'sid', 'key'), (value, field) => {
        const frame =
          field === 'id'
            ? { t: 'msg', id: value, data: null }
            : { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: 0, [field]: value } };
        const [r] = decodeClientMessage(JSON.stringify(frame));
        const valid = value.length >= 1 && value.length <= MAX_ID_LENGTH;
        expect(r!.ok ? 'ok' : r!.code).toBe(valid ? 'ok' : ErrorCode.BadFrame);
      }),
      { numRuns: 500 },
    );
  });

  /** Values that are not a safe integer >= 0: fractions, negatives, too large, other types. */
  const notASeq = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
    fc.integer({ max: -1 }),
    fc.double({ min: 2 ** 53, noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('1', '0', true, false, null, [], [1], {}, { seq: 1 }),
    text(6),
  );

  it('ack.seq and hello.resume.ack: every value but a safe integer >= 0 is bad_frame', () => {
    fc.assert(
      fc.property(notASeq, (value) => {
        for (const frame of [
          { t: 'ack', seq: value },
          { t: 'hello', v: 1, resume: { sid: 's', key: 'k', ack: value } },
        ])
          expect(decodeClientMessage(JSON.stringify(frame))).toMatchObject([
            { ok: false, code: ErrorCode.BadFrame },
          ]);
      }),
      { numRuns: 500 },
    );
  });

  it('server seqs: msg.seq must be >= 1, welcome last/hb/missing >= 0, all safe integers', () => {
    const welcome = {
      t: 'welcome',
      v: 1,
      sid: 's',
      key: 'k',
      epoch: 'e',
      resumed: false,
      recovered: false,
      last: 0,
      hb: 0,
    };
    fc.assert(
      fc.property(fc.oneof(notASeq, fc.constant(0)), (value) => {
        const frames: object[] = [{ t: 'msg', seq: value, data: 1 }];
        if (value !== 0)
          frames.push(
            { ...welcome, last: value },
            { ...welcome, hb: value },
            { ...welcome, missing: value },
          );
        for (const frame of frames)
          expect(decodeServerMessage(JSON.stringify(frame))).toMatchObject([
            { ok: false, code: ErrorCode.BadFrame },
          ]);
      }),
      { numRuns: 500 },
    );
  });

  it('unknown fields are ignored: they change nothing in the decoded frame', () => {
    const unknownField = text(10).filter((k) => !KNOWN_FIELDS.has(k));
    fc.assert(
      fc.property(
        fc.oneof(clientFrame, serverFrame),
        fc.dictionary(unknownField, data, { minKeys: 1, maxKeys: 4 }),
        (frame, extra) => {
          const plain = encodeFrame(frame);
          const withExtra = JSON.stringify({ ...extra, ...frame });
          expect(decodeClientMessage(withExtra)).toEqual(decodeClientMessage(plain));
          expect(decodeServerMessage(withExtra)).toEqual(decodeServerMessage(plain));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a frame whose t is not a string is bad_frame; a string t of no frame type is unknown_type', () => {
    const otherT = fc.oneof(
      text(40),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'HELLO', 'ping '),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          otherT.map((t) => ({ t, expected: 'type' as const })),
          fc
            .oneof(jsonNumber, fc.boolean(), fc.constant(null), fc.array(data, { maxLength: 2 }))
            .map((t) => ({ t, expected: ErrorCode.BadFrame })),
        ),
        ({ t, expected }) => {
          const input = JSON.stringify({ t, id: 'a', seq: 1, data: 1 });
          const [c] = decodeClientMessage(input);
          const [s] = decodeServerMessage(input);
          if (expected === 'type') {
            if (!CLIENT_TYPES.includes(t))
              expect(c).toMatchObject({ ok: false, code: ErrorCode.UnknownType });
            if (!SERVER_TYPES.includes(t))
              expect(s).toMatchObject({ ok: false, code: ErrorCode.UnknownType });
          } else {
            expect(c).toMatchObject({ ok: false, code: ErrorCode.BadFrame });
            expect(s).toMatchObject({ ok: false, code: ErrorCode.BadFrame });
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a message of only newlines (or empty) is one bad_frame; empty lines in a batch are skipped', () => {
    fc.assert(
      fc.property(fc.nat(5), fc.array(fc.nat(3), { maxLength: 4 }), (blank, gaps) => {
        expect(decodeClientMessage('\n'.repeat(blank))).toMatchObject([
          { ok: false, code: ErrorCode.BadFrame },
        ]);
        const input = gaps.map((g) => '\n'.repeat(g) + '{"t":"ping"}').join('\n');
        if (gaps.length > 0)
          expect(decodeClientMessage(input)).toEqual(
            gaps.map(() => ({ ok: true, frame: { t: 'ping' } })),
          );
      }),
    );
  });
});
