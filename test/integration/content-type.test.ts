/**
 * Regression: the HTTP API takes `application/json` (with optional parameters) or no
 * content-type; other media types that merely start with "application/json" get 415.
 */
import { describe, expect, it } from 'vitest';
import { postJson, startServer } from '../support/server.js';

describe('content-type check', () => {
  for (const type of [
    'application/json-seq',
    'application/json-patch+json',
    'application/json.x',
  ]) {
    it(`refuses ${type} with 415`, async () => {
      const { info } = await startServer();
      const r = await postJson(
        `${info.httpUrl}/api/broadcast`,
        { data: 1 },
        { 'content-type': type },
      );
      expect(r.status).toBe(415);
      expect((r.body.error as { code: string }).code).toBe('unsupported_media_type');
    });
  }

  it('still accepts application/json with parameters', async () => {
    const { info } = await startServer();
    const r = await postJson(
      `${info.httpUrl}/api/broadcast`,
      { data: 1 },
      {
        'content-type': 'Application/JSON ; charset=utf-8',
      },
    );
    expect(r.status).toBe(202);
  });
});
