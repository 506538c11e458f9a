/** The HTTP API's input checks: JSON bodies on mutations, and the bounds on ids in paths and queries. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MAX_ID_LENGTH } from '../protocol/index.js';
import { decodeSegment, HttpError, idParam, isJsonType, requireJsonBody } from './http-util.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

/** The code of the HttpError `f` throws, or 'ok'. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

describe('requireJsonBody', () => {
  const withBody = { 'content-length': '10' };

  it('a mutation with a body needs application/json (parameters and any case allowed)', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(outcome(() => requireJsonBody(req(withBody), method))).toBe(
        '415 unsupported_media_type',
      );
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx'])
        expect(
          outcome(() => requireJsonBody(req({ ...withBody, 'content-type': type }), method)),
        ).toBe('415 unsupported_media_type');
      for (const type of ['application/json', 'Application/JSON ; charset=utf-8'])
        expect(
          outcome(() => requireJsonBody(req({ ...withBody, 'content-type': type }), method)),
        ).toBe('ok');
    }
  });

  it('a chunked body is a body; content-length 0 is none', () => {
    expect(outcome(() => requireJsonBody(req({ 'transfer-encoding': 'chunked' }), 'POST'))).toBe(
      '415 unsupported_media_type',
    );
    expect(outcome(() => requireJsonBody(req({ 'content-length': '0' }), 'POST'))).toBe('ok');
    expect(outcome(() => requireJsonBody(req({}), 'DELETE'))).toBe('ok');
  });

  it('reads are not mutations', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS'])
      expect(outcome(() => requireJsonBody(req(withBody), method))).toBe('ok');
  });

  it('isJsonType', () => {
    expect(isJsonType('application/json')).toBe(true);
    expect(isJsonType('application/json;charset=utf-8')).toBe(true);
    expect(isJsonType('application/json-seq')).toBe(false);
    expect(isJsonType('')).toBe(false);
  });
});

describe('id bounds', () => {
  it('a path segment is at most 128 characters once decoded', () => {
    expect(decodeSegment('a'.repeat(MAX_ID_LENGTH), 'session id')).toBe('a'.repeat(MAX_ID_LENGTH));
    // 128 characters as 384 of percent-encoding are still 128.
    expect(decodeSegment('%41'.repeat(MAX_ID_LENGTH), 'session id')).toHaveLength(MAX_ID_LENGTH);
    expect(outcome(() => decodeSegment('a'.repeat(MAX_ID_LENGTH + 1), 'session id'))).toBe(
      '400 bad_request',
    );
  });

  it('an id query parameter is at most 128 characters', () => {
    const q = (sid: string) => new URLSearchParams({ sid });
    expect(idParam(new URLSearchParams(), 'sid')).toBeUndefined();
    expect(idParam(q('s'), 'sid')).toBe('s');
    expect(idParam(q(''), 'sid')).toBe('');
    expect(outcome(() => idParam(q('s'.repeat(MAX_ID_LENGTH + 1)), 'sid'))).toBe('400 bad_request');
  });
});
