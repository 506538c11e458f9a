/**
 * Every mutation route of the HTTP API (POST, PUT, PATCH, DELETE under /api) refuses a body
 * that is not `application/json` (415 unsupported_media_type, an absent content-type
 * included), and a browser request from another origin with no body at all (403
 * cross_origin). The list of routes is checked against docs/protocol.md §12, so a route added
 * there without being added here fails.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';

/** Every mutation route, with ids that exist or not (the answer past the check does not matter). */
const MUTATION_ROUTES: readonly (readonly [method: string, route: string, path: string])[] = [
  ['POST', '/api/sessions/{sid}/messages', '/api/sessions/no-such-session/messages'],
  ['POST', '/api/users/{user}/messages', '/api/users/no-such-user/messages'],
  ['POST', '/api/broadcast', '/api/broadcast'],
  ['DELETE', '/api/sessions/{sid}', '/api/sessions/no-such-session'],
  ['POST', '/api/sessions/{sid}/disconnect', '/api/sessions/no-such-session/disconnect'],
  ['POST', '/api/sessions/{sid}/end', '/api/sessions/no-such-session/end'],
  ['POST', '/api/dlq/{id}/replay', '/api/dlq/999/replay'],
  ['DELETE', '/api/dlq/{id}', '/api/dlq/999'],
  ['DELETE', '/api/dlq', '/api/dlq?reason=ttl'],
  ['POST', '/api/breakers/{name}/reset', '/api/breakers/no-such-breaker/reset'],
  ['POST', '/api/breakers/{name}/force-open', '/api/breakers/no-such-breaker/force-open'],
];

/** Mutations that no route takes: the check comes before the route is looked up. */
const OTHER_MUTATIONS = [
  ['PUT', '/api/broadcast'],
  ['PATCH', '/api/sessions/no-such-session'],
  ['POST', '/api/stats'],
  ['DELETE', '/api/no-such-route'],
] as const;

interface Answer {
  status: number;
  code: string | undefined;
}

/** One request with exactly these headers and body (node:http adds nothing but Host). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: { text: string; chunked?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined)
      if (body.chunked === true) h['transfer-encoding'] = 'chunked';
      else h['content-length'] = String(Buffer.byteLength(body.text));
    const req = request(`${base}${path}`, { method, headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body.text);
    req.end();
  });
}

const JSON_BODY = '{"data":1}';
const refused = { status: 415, code: 'unsupported_media_type' };

describe('mutation routes', () => {
  it('the list holds every mutation route of docs/protocol.md §12', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const documented = new Set(
      // Route patterns only (`{sid}`), not the sid of an example.
      [...doc.matchAll(/`(POST|PUT|PATCH|DELETE) (\/api\/[\w{}/-]*)[`?]/g)].map(
        (m) => `${m[1]} ${m[2]}`,
      ),
    );
    expect(documented.size).toBeGreaterThan(0);
    expect(new Set(MUTATION_ROUTES.map(([m, route]) => `${m} ${route}`))).toEqual(documented);
  });

  it('refuses every body that is not application/json with 415, absent content-type included', async () => {
    const { info } = await startServer();
    for (const [method, path] of [
      ...MUTATION_ROUTES.map(([m, , p]) => [m, p]),
      ...OTHER_MUTATIONS,
    ]) {
      const what = `${method} ${path}`;
      for (const type of [
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json-seq',
      ]) {
        const headers = type === undefined ? {} : { 'content-type': type };
        expect(
          await send(info.httpUrl, method, path, headers, { text: JSON_BODY }),
          `${what} ${type}`,
        ).toEqual(refused);
      }
      // A chunked body is a body too.
      expect(
        await send(info.httpUrl, method, path, {}, { text: JSON_BODY, chunked: true }),
        `${what} chunked`,
      ).toEqual(refused);
    }
  });

  it('refuses every mutation from another origin with 403, with or without a body', async () => {
    const { info } = await startServer();
    for (const [method, , path] of MUTATION_ROUTES) {
      const origin = { origin: 'http://evil.example' };
      expect(await send(info.httpUrl, method, path, origin), `${method} ${path}`).toEqual({
        status: 403,
        code: 'cross_origin',
      });
      expect(
        await send(
          info.httpUrl,
          method,
          path,
          { ...origin, 'content-type': 'text/plain' },
          { text: JSON_BODY },
        ),
      ).toEqual({ status: 403, code: 'cross_origin' });
    }
  });

  it('lets JSON bodies and bodiless requests through to the route', async () => {
    const { info } = await startServer();
    for (const [method, , path] of MUTATION_ROUTES) {
      const what = `${method} ${path}`;
      const json = await send(
        info.httpUrl,
        method,
        path,
        { 'content-type': 'application/json; charset=utf-8' },
        { text: JSON_BODY },
      );
      expect([415, 403, 500], what).not.toContain(json.status);
      const bare = await send(info.httpUrl, method, path, {});
      expect([415, 403, 500], what).not.toContain(bare.status);
      // content-length: 0 is no body (the route's own reading may still refuse a type).
      const empty = await send(info.httpUrl, method, path, {}, { text: '' });
      expect([415, 403, 500], `${what} empty`).not.toContain(empty.status);
    }
  });
});
