/**
 * The SDK's single-file browser build (scripts/build-browser.js, dist/browser/) as the demo
 * serves it at GET /sdk/resilient-ws-client.js, and the browser recipe of client/README.md
 * ("Keeping the session across reloads"): headless Chromium runs that very block, the import
 * of `resilient-ws/client` pointed at the served build, on a page served by the test. The
 * page receives messages, is reloaded while the server keeps sending (the new page is held
 * back while the session is detached, so some messages are sent with no page at all), and
 * after the reload the same session is resumed and every message has been handled exactly
 * once, in order. The page records what it handles in sessionStorage, in the same listener
 * turn as the recipe's own save, as an application keeping its state would.
 * Needs Chromium (see test/support/chromium.ts); the HTTP checks run without it.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import type { Browser } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreEvents } from '../../src/index.js';
import { demoHandler, demoRoutes, SDK_PATH } from '../../src/server/demo.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { eventually, sleep } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

const BUILD = fileURLToPath(new URL('../../dist/browser/resilient-ws-client.js', import.meta.url));
const README = fileURLToPath(new URL('../../client/README.md', import.meta.url));

describe('GET /sdk/resilient-ws-client.js (demo)', () => {
  it('serves the build as JavaScript, revalidated by ETag, with its source map', async () => {
    const { info } = await startServer({ extraRoutes: demoRoutes });
    const url = `${info.httpUrl}${SDK_PATH}`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const body = await res.text();
    expect(body).toBe(readFileSync(BUILD, 'utf8'));

    const again = await fetch(url, { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    expect((await fetch(url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);

    const map = await fetch(`${url}.map`);
    expect(map.status).toBe(200);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const sourceMap = (await map.json()) as { sources: string[]; sourcesContent: string[] };
    expect(sourceMap.sources.some((s) => s.endsWith('client/client.ts'))).toBe(true);
    expect(sourceMap.sourcesContent).toHaveLength(sourceMap.sources.length);
    expect((await fetch(`${info.httpUrl}/sdk/client/index.js`)).status).toBe(404);
  });

  it('is one minified ES module: no relative imports, no Node modules, `ws` only dynamically', () => {
    const code = readFileSync(BUILD, 'utf8');
    const imports = ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
    expect(imports).toEqual(['ws']);
    expect(code).toContain('import("ws")');
    expect(code).not.toMatch(/\bfrom\s*["']|\brequire\(/);
    expect(code).toMatch(/export\s*\{[^}]*as ResilientClient\b/);
    expect(code).toMatch(/^\/\*! resilient-ws client SDK \d+\.\d+\.\d+\S* \| MIT \*\/\n/);
    expect(code.length).toBeLessThan(40_000); // minified: about 23 KB
    expect(code).toMatch(/\/\/# sourceMappingURL=resilient-ws-client\.js\.map\s*$/);
  });
});

/** The README's recipe block, compiled to JavaScript, importing the served build. */
async function recipeScript(): Promise<string> {
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('### Keeping the session across reloads'));
  const block = /```ts\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (block === undefined)
    throw new Error('no ```ts block under "Keeping the session" in the README');
  const { code } = await transform(block, { loader: 'ts', format: 'esm', target: 'es2022' });
  const pointed = code.replace(/from\s*["']resilient-ws\/client["']/g, `from "${SDK_PATH}"`);
  if (pointed === code || /resilient-ws\/client["']/.test(pointed))
    throw new Error('the recipe does not import resilient-ws/client once');
  return pointed;
}

/** Appended to the recipe: what the page handled, kept with the session (sessionStorage). */
const RECORD = `
const record = (key, value) => {
  const list = JSON.parse(sessionStorage.getItem(key) ?? '[]');
  list.push(value);
  sessionStorage.setItem(key, JSON.stringify(list));
};
client.on('open', (e) => record('test:opens', { sid: e.sid, resumed: e.resumed }));
client.on('resumed', (e) => record('test:resumed', e));
client.on('gap', (e) => record('test:gaps', e));
client.on('message', (m) => record('test:received', { seq: m.seq, data: m.data }));
`;

const hasChromium = requireChromium('browser build test');

describe.skipIf(!hasChromium)(
  'the browser build and the README recipe in headless Chromium',
  () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('a reload during traffic resumes the same session: nothing lost, nothing twice', async () => {
      const html = `<!doctype html><html><head><meta charset="utf-8"><title>recipe</title><link rel="icon" href="data:,"></head><body>
<script type="module">
${await recipeScript()}
${RECORD}
</script></body></html>`;
      const routes = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
        if (req.method === 'GET' && path === '/recipe') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(html);
          return true;
        }
        return demoRoutes(req, res, path);
      };
      const { server, info } = await startServer({ onMessage: demoHandler, extraRoutes: routes });
      const resumes: CoreEvents['resume'][] = [];
      server.on('resume', (r) => resumes.push(r));
      const detached: string[] = [];
      server.on('disconnect', (d) => {
        if (d.sid !== undefined) detached.push(d.sid);
      });

      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const scripts: string[] = [];
      page.on('request', (r) => {
        if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
      });
      const stored = async <T>(key: string): Promise<T> =>
        await page.evaluate(`JSON.parse(sessionStorage.getItem(${JSON.stringify(key)}) ?? 'null')`);
      const received = async (): Promise<{ seq: number; data: { n: number } }[]> =>
        (await stored<{ seq: number; data: { n: number } }[] | null>('test:received')) ?? [];

      await page.goto(`${info.httpUrl}/recipe`);
      await page.waitForFunction("sessionStorage.getItem('test:opens') !== null");
      const [first] = await stored<{ sid: string; resumed: boolean }[]>('test:opens');
      const sid = first!.sid;
      expect(first).toEqual({ sid, resumed: false });

      // Before the reload: the page receives.
      let sent = 0;
      const publish = async (): Promise<void> => {
        const n = sent + 1;
        const r = await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: { n } });
        expect(r.status).toBe(202);
        sent = n;
      };
      for (let i = 0; i < 3; i++) await publish();
      await eventually(async () => (await received()).length === 3, 5000, 'the first messages');
      expect(await stored('resilient-ws-session')).toMatchObject({ sid, ack: 3 });

      // During the reload: the server keeps sending, every 5 ms.
      let sending = true;
      const sender = (async () => {
        while (sending) {
          await publish();
          await sleep(5);
        }
      })();
      await eventually(async () => (await received()).length >= 10, 5000, 'live traffic');
      // The reloaded page is held back (its SDK script) until the server has sent a few
      // messages to the detached session: those can only arrive by the resume's replay.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route(`**${SDK_PATH}`, async (route) => {
        await held;
        await route.continue();
      });
      const reloading = page.reload();
      await eventually(() => detached.includes(sid), 5000, 'the old page to go');
      const atDetach = sent;
      await eventually(() => sent >= atDetach + 5, 5000, 'messages while detached');
      release();
      await reloading;
      await eventually(
        async () => ((await stored<unknown[] | null>('test:opens')) ?? []).length === 2,
        5000,
        'the reloaded page to open',
      );
      const atResume = sent;
      await eventually(() => sent >= atResume + 5, 5000, 'messages after the reload');
      sending = false;
      await sender;
      await eventually(async () => (await received()).length >= sent, 10_000, 'every message');
      await sleep(200); // a duplicate arriving late would show here

      const got = await received();
      const all = Array.from({ length: sent }, (_, i) => i + 1);
      expect(got.map((m) => m.seq)).toEqual(all);
      expect(got.map((m) => m.data.n)).toEqual(all);
      expect(await stored('test:opens')).toEqual([
        { sid, resumed: false },
        { sid, resumed: true },
      ]);
      expect(await stored('test:resumed')).toEqual([{ recovered: true }]);
      expect(await stored('test:gaps')).toBeNull();
      expect(await stored('resilient-ws-session')).toMatchObject({ sid, ack: sent });
      const resumed = resumes.filter((r) => r.resumed);
      expect(resumed).toHaveLength(1);
      expect(resumed[0]).toMatchObject({ sid, recovered: true, missing: 0 });
      // What was sent while no page was there came by replay.
      expect(resumed[0]!.replayed).toBeGreaterThanOrEqual(5);
      await eventually(
        async () => (await server.store.getSession(sid))?.depth === 0,
        5000,
        'the page to ack everything',
      );
      // Each load fetched the single-file build, and nothing else.
      expect(scripts).toEqual([SDK_PATH, SDK_PATH]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  },
);
