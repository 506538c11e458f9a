/** GET /dashboard serves the built page with its security headers; `dashboard: false` turns it off. */
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/server.js';

describe('GET /dashboard', () => {
  it('serves the page, its script and stylesheet, each with a content security policy', async () => {
    const { info } = await startServer();
    for (const [path, type] of [
      ['/dashboard', 'text/html'],
      ['/dashboard/app.js', 'text/javascript'],
      ['/dashboard/app.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${info.httpUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    expect((await fetch(`${info.httpUrl}/dashboard/other.js`)).status).toBe(404);
  });

  it('is not served with dashboard: false', async () => {
    const { info } = await startServer({ dashboard: false });
    const res = await fetch(`${info.httpUrl}/dashboard`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
