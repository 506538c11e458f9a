/**
 * The client SDK in a real browser: headless Chromium loads the demo page (served by the
 * gateway, the SDK from its single-file browser build in dist/browser/), receives published messages, sends one and gets the
 * echo, and resumes after its connection is cut (by a chaos proxy the page is loaded through,
 * test/support/chaos-proxy.ts).
 * Needs Chromium (Debian package `chromium`, or CHROMIUM_PATH). Without it the test says so
 * and skips; under CI=true a missing browser fails.
 */
import { type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { demoHandler, demoRoutes } from '../../src/server/demo.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { eventually } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

const hasChromium = requireChromium('browser SDK test');

describe.skipIf(!hasChromium)('client SDK in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  let proxy: ChaosProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('connects from the demo page, receives, sends, and resumes after a dropped socket', async () => {
    const { server, info } = await startServer({ onMessage: demoHandler, extraRoutes: demoRoutes });
    // The page (and so its WebSocket, to the page's own host) goes through a proxy we can cut.
    proxy = new ChaosProxy({ host: '127.0.0.1', port: info.port });
    const proxyPort = await proxy.listen();
    const disconnects: { sid: string | undefined; code: number }[] = [];
    server.on('disconnect', (d) => disconnects.push({ sid: d.sid, code: d.code }));
    const resumes: { sid: string; recovered: boolean }[] = [];
    server.on('resume', (r) => {
      if (r.resumed) resumes.push({ sid: r.sid, recovered: r.recovered });
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${proxyPort}/`);
    await page.waitForFunction("document.getElementById('state')?.textContent === 'open'");
    const sid = (await page.textContent('#sid'))!;
    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);

    for (let i = 1; i <= 3; i++)
      expect(
        (await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: { n: i } })).status,
      ).toBe(202);
    await page.waitForFunction("document.getElementById('seq')?.textContent === '3'");
    expect(await page.textContent('#log')).toContain('msg 3 {"n":3}');

    await page.fill('#text', 'from the browser');
    await page.click('#send');
    await page.waitForFunction(
      `document.getElementById('log')?.textContent?.includes('"echo":"from the browser"')`,
    );

    // The network drops the connection; the page's SDK reconnects, resumes and gets what was
    // sent meanwhile.
    expect(server.isAttached(sid)).toBe(true);
    expect(proxy.cut()).toBeGreaterThanOrEqual(1);
    await eventually(
      () => disconnects.some((d) => d.sid === sid),
      5000,
      'the server to see the drop',
    );
    await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: { n: 4 } });
    await page.waitForFunction("document.getElementById('seq')?.textContent === '4'", undefined, {
      timeout: 10_000,
    });
    expect(await page.textContent('#log')).toContain('resumed: recovered=true');
    expect(resumes).toEqual([{ sid, recovered: true }]);
    await eventually(
      async () => (await server.store.getSession(sid))?.depth === 0,
      5000,
      'browser acks',
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('demo page: the session survives a reload; "hold down" shows a resume with the replayed seqs; ticks apart', async () => {
    const { server, info } = await startServer({ onMessage: demoHandler, extraRoutes: demoRoutes });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${info.httpUrl}/`);
    await page.waitForFunction("document.getElementById('state')?.textContent === 'open'");
    const sid = (await page.textContent('#sid'))!;
    await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: 'before reload' });
    await page.waitForFunction("document.getElementById('seq')?.textContent === '1'");

    // A reload resumes the same session (sessionStorage), recovered.
    await page.reload();
    await page.waitForFunction("document.getElementById('state')?.textContent === 'open'");
    expect(await page.textContent('#sid')).toBe(sid);
    await page.waitForFunction(
      "document.getElementById('resume')?.textContent?.startsWith('recovered=true')",
    );

    // Keyed ticks show apart from the plain messages.
    await server.broadcast({ tick: 7 }, { key: 'demo-tick' });
    await page.waitForFunction("document.getElementById('tick')?.textContent?.startsWith('7')");
    expect(await page.textContent('#log')).not.toContain('"tick"');

    // Hold the network down while three messages are sent: the resume replays them.
    await page.fill('#holdSeconds', '1');
    await page.click('#hold');
    await eventually(() => !server.isAttached(sid), 5000, 'the drop');
    for (const n of [1, 2, 3])
      await postJson(`${info.httpUrl}/api/sessions/${sid}/messages`, { data: { away: n } });
    await page.waitForFunction(
      "document.getElementById('log')?.textContent?.includes('replayed seqs: 3, 4, 5')",
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.textContent('#resume')).toBe('recovered=true');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
