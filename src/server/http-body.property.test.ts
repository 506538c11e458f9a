/**
 * Properties of the HTTP API's body handling (docs/protocol.md §12 "Request bodies", §12.1):
 * readJson and the publish/broadcast option check, called in-process on generated bodies.
 */
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import { MAX_ID_LENGTH } from '../protocol/index.js';
import { HttpError, readJson, readOptionalJson } from './http-util.js';
import { ERROR_STATUS, sendOptions } from './routes.js';

/** A request whose body arrives in the given chunks (a split may cut a UTF-8 sequence). */
function request(body: Buffer, cuts: number[], contentType?: string): IncomingMessage {
  const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of [...at, body.length]) {
    if (c > from) chunks.push(body.subarray(from, c));
    from = Math.max(from, c);
  }
  return {
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    async *[Symbol.asyncIterator]() {
      await Promise.resolve();
      yield* chunks;
    },
  } as unknown as IncomingMessage;
}

/** A typed HTTP error of the catalog, answered with the status the catalog gives its code. */
function expectCatalogHttpError(error: unknown, codes: readonly string[]): void {
  expect(error).toBeInstanceOf(HttpError);
  expect(isRwsError(error)).toBe(true);
  const e = error as HttpError;
  expect(codes).toContain(e.code);
  expect(e.status).toBe(ERROR_STATUS[e.code as keyof typeof ERROR_STATUS]);
}

const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const data = fc.jsonValue({ maxDepth: 3 });

describe('readJson properties', () => {
  const body = fc.oneof(
    fc.string({ unit: codeUnit, maxLength: 60 }),
    data.map((v) => JSON.stringify(v)),
    fc.dictionary(fc.string({ maxLength: 6 }), data).map((v) => JSON.stringify(v)),
  );
  const contentType = fc.option(
    fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'Application/JSON ;x=1',
        'application/jsonx',
        'text/plain',
        '',
      ),
      fc.string({ maxLength: 20 }),
    ),
    { nil: undefined },
  );

  it('an object when the body is a JSON object within the limit, else a typed 4xx of the catalog', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.array(fc.nat(), { maxLength: 3 }),
        contentType,
        fc.integer({ min: 0, max: 80 }),
        fc.boolean(),
        async (text, cuts, type, limit, optional) => {
          const bytes = Buffer.from(text, 'utf8');
          const req = request(bytes, cuts, type);
          let expected: string;
          if (type !== undefined && type !== '' && !/^application\/json\s*(;|$)/i.test(type))
            expected = 'unsupported_media_type';
          else if (bytes.length > limit) expected = 'body_too_large';
          else if (optional && bytes.length === 0) expected = 'object';
          else {
            let value: unknown;
            try {
              value = JSON.parse(bytes.toString('utf8'));
              expected =
                typeof value === 'object' && value !== null && !Array.isArray(value)
                  ? 'object'
                  : 'bad_request';
            } catch {
              expected = 'bad_json';
            }
          }
          try {
            const value = await (optional ? readOptionalJson(req, limit) : readJson(req, limit));
            expect(expected).toBe('object');
            expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
          } catch (error) {
            expectCatalogHttpError(error, [expected]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('publish and broadcast options (sendOptions) properties', () => {
  const shortOk = fc.string({ unit: codeUnit, minLength: 1, maxLength: MAX_ID_LENGTH });
  const field = (good: fc.Arbitrary<unknown>) =>
    fc.option(
      fc.oneof(
        { weight: 3, arbitrary: good },
        {
          weight: 1,
          arbitrary: fc.oneof(
            data,
            fc.constant(''),
            fc.string({ minLength: MAX_ID_LENGTH + 1, maxLength: MAX_ID_LENGTH + 3 }),
          ),
        },
      ),
      { nil: undefined },
    );
  const body = fc
    .record({
      data: fc.option(data, { nil: undefined }),
      id: field(shortOk),
      key: field(shortOk),
      volatile: field(fc.boolean()),
      dedup: field(fc.constant('content')),
      other: fc.option(data, { nil: undefined }),
    })
    .map((fields) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
      // `data: undefined` cannot come over JSON; an absent data and a present null can.
      if (fields.data === undefined && fields.other === null) out.data = null;
      return out;
    });

  /** The rules of docs/protocol.md §12.1 (and §6 for dedup), written out independently. */
  function documented(b: Record<string, unknown>, publish: boolean): object | 'refused' {
    const short = (v: unknown) =>
      v === undefined || (typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID_LENGTH);
    if (!('data' in b) || !short(b.id) || !short(b.key)) return 'refused';
    if (b.id !== undefined && !publish) return 'refused';
    if (b.volatile !== undefined && typeof b.volatile !== 'boolean') return 'refused';
    if (b.volatile === true && (b.id !== undefined || b.key !== undefined)) return 'refused';
    if (b.dedup !== undefined) {
      if (b.dedup !== 'content') return 'refused';
      if (b.id !== undefined || b.key !== undefined || b.volatile === true) return 'refused';
    }
    const o: Record<string, unknown> = {};
    for (const k of ['id', 'key', 'volatile', 'dedup']) if (b[k] !== undefined) o[k] = b[k];
    return o;
  }

  it('accepts exactly the documented bodies, with their options; refuses the rest with 400 bad_request', () => {
    fc.assert(
      fc.property(body, fc.boolean(), (b, publish) => {
        const want = documented(b, publish);
        let got: object | 'refused';
        try {
          got = sendOptions(b, publish);
        } catch (error) {
          expectCatalogHttpError(error, ['bad_request']);
          got = 'refused';
        }
        expect(got).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });
});
