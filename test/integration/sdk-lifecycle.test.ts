/**
 * Protocol and SDK 1.1 against the real server, in Node and in headless Chromium: each
 * session lifecycle path (the server disconnects: the client resumes; the server ends the
 * session: `sessionEnded` and one `close`; a resume finds the session gone: `onSessionLost`
 * 'resend' or 'stop'), the admin routes that do the same, and keyed messages replaced while
 * the client was away, which must never be reported as a gap.
 * The pages load the single-file SDK build the demo routes serve. The Chromium half needs the Debian package `chromium` (or CHROMIUM_PATH): without it the
 * test says so and skips; under CI=true a missing browser fails.
 */
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResilientClient, isClientError, type ClientEvents } from '../../client/index.js';
import type { RwsServer } from '../../src/index.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { eventually } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

/** Every event of one client, in order, as [name, payload]. */
type Log = [keyof ClientEvents, unknown][];
const NAMES: (keyof ClientEvents)[] = [
  'open',
  'message',
  'resumed',
  'gap',
  'reconnecting',
  'sessionEnded',
  'sessionLost',
  'close',
  'error',
];
const of = (log: Log, name: keyof ClientEvents): Record<string, unknown>[] =>
  log.filter(([n]) => n === name).map(([, p]) => p as Record<string, unknown>);

/** The client as the tests drive it: here in Node, or in a page. */
interface Driven {
  sid(): Promise<string>;
  log(): Promise<Log>;
  session(): Promise<unknown>;
  state(): Promise<string>;
  /** `client.send(data)`, settled: 'ok <data>' or 'rejected <code>'. */
  sent(index: number): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Start {
  url: string;
  /** Options of the client (JSON: no functions). */
  options?: Record<string, unknown>;
  /** Sent before `connect()`: queued until the first welcome. */
  sendFirst?: unknown;
}

/** A client in this process. */
function inNode({ url, options = {}, sendFirst }: Start): Driven {
  const client = new ResilientClient(url, options);
  const log: Log = [];
  for (const name of NAMES) client.on(name, (p) => log.push([name, p]));
  const results: (string | undefined)[] = [];
  if (sendFirst !== undefined) {
    results.push(undefined);
    client.send(sendFirst).then(
      (d) => (results[0] = `ok ${JSON.stringify(d)}`),
      (e: unknown) => (results[0] = `rejected ${isClientError(e) ? e.code : String(e)}`),
    );
  }
  client.connect();
  return {
    sid: async () => {
      await eventually(() => client.state === 'open', 5000, 'open');
      return client.session!.sid;
    },
    log: () => Promise.resolve(log),
    session: () => Promise.resolve(client.session),
    state: () => Promise.resolve(client.state),
    sent: (i) => Promise.resolve(results[i]),
    close: () => client.close(),
  };
}

/**
 * The same client in headless Chromium: the single-file SDK build (dist/browser) the demo routes serve.
 * The page script is a string, so that the test runner leaves its `import()` alone.
 */
async function inPage(page: Page, start: Start): Promise<Driven> {
  const args = JSON.stringify({ ...start, names: NAMES });
  await page.evaluate(`(async () => {
    const { url, options, sendFirst, names } = ${args};
    const { ResilientClient } = await import('/sdk/resilient-ws-client.js');
    const client = new ResilientClient(url, options ?? {});
    const log = [];
    const results = [];
    for (const name of names) client.on(name, (p) => log.push([name, p]));
    if (sendFirst !== undefined) {
      results.push(undefined);
      client.send(sendFirst).then(
        (d) => (results[0] = 'ok ' + JSON.stringify(d)),
        (e) => (results[0] = 'rejected ' + e.code),
      );
    }
    globalThis.rws = { client, log, results };
    client.connect();
  })()`);
  const get = <T>(expression: string): Promise<T> => page.evaluate<T>(expression);
  return {
    sid: async () => {
      await page.waitForFunction("globalThis.rws.client.state === 'open'", undefined, {
        timeout: 5000,
      });
      return get<string>('globalThis.rws.client.session.sid');
    },
    log: () => get<Log>('JSON.parse(JSON.stringify(globalThis.rws.log))'),
    session: () => get<unknown>('globalThis.rws.client.session ?? null'),
    state: () => get<string>('globalThis.rws.client.state'),
    sent: (i) => get<string | undefined>(`globalThis.rws.results[${i}]`),
    close: () => get<void>('globalThis.rws.client.close()'),
  };
}

const FAST = { backoff: { baseMs: 20, capMs: 100 } };

/** Waits until `check` holds on the client's log. */
async function until(c: Driven, check: (log: Log) => boolean, what: string): Promise<Log> {
  let last: Log = [];
  await eventually(
    async () => {
      last = await c.log();
      return check(last);
    },
    10_000,
    what,
  );
  return last;
}

type Open = (start: Start) => Promise<Driven>;

/** The lifecycle paths, run once with a Node client and once in Chromium. */
function lifecyclePaths(where: string, open: () => Open): void {
  describe(`session lifecycle (${where})`, () => {
    it('server.disconnect: reconnecting with 4004 and the reason, the same session resumed, nothing lost', async () => {
      const { server, info } = await startServer();
      const c = await open()({ url: info.url, options: FAST });
      const sid = await c.sid();
      await server.send(sid, 'before');
      await until(c, (l) => of(l, 'message').length === 1, 'the first message');
      expect(await server.disconnect(sid, { reason: 'rebalancing' })).toBe(true);
      for (const n of [1, 2, 3]) await server.send(sid, n);
      const log = await until(c, (l) => of(l, 'message').length === 4, 'the replay');
      expect(of(log, 'reconnecting')).toMatchObject([
        { attempt: 1, lastCloseCode: 4004, reason: 'rebalancing' },
      ]);
      expect(of(log, 'resumed')).toEqual([{ recovered: true }]);
      expect(of(log, 'message').map((m) => m.data)).toEqual(['before', 1, 2, 3]);
      expect(of(log, 'close')).toEqual([]);
      expect(of(log, 'gap')).toEqual([]);
      expect(of(log, 'sessionEnded')).toEqual([]);
      expect(await c.sid()).toBe(sid);
      expect(await server.disconnect('no-such-session')).toBe(false);
      await c.close();
    });

    it('server.endSession: sessionEnded with the reason, one close, the session forgotten', async () => {
      const { server, info } = await startServer();
      const c = await open()({ url: info.url, options: FAST });
      const sid = await c.sid();
      expect(await server.endSession(sid, { reason: 'account closed' })).toBe(true);
      const log = await until(c, (l) => of(l, 'close').length === 1, 'close');
      expect(of(log, 'sessionEnded')).toEqual([{ reason: 'account closed', code: 1000 }]);
      expect(of(log, 'close')).toEqual([
        { code: 1000, reason: 'session ended', willReconnect: false },
      ]);
      expect(of(log, 'reconnecting')).toEqual([]);
      expect(of(log, 'error')).toEqual([]);
      expect(await c.state()).toBe('closed');
      expect(await c.session()).toBeFalsy();
      expect(await server.store.getSession(sid)).toBeUndefined();
    });

    it("onSessionLost 'stop': a resume of a gone session sends nothing, rejects the send and stops", async () => {
      const handled: unknown[] = [];
      const { server, info } = await startServer({
        onMessage: (m) => {
          handled.push(m.data);
          return { echo: m.data };
        },
      });
      const gone = { sid: 'a'.repeat(22), key: 'b'.repeat(22), ack: 3 };
      const c = await open()({
        url: info.url,
        options: { ...FAST, resume: gone, onSessionLost: 'stop' },
        sendFirst: 'hello',
      });
      const log = await until(c, (l) => of(l, 'close').length === 1, 'close');
      expect(of(log, 'sessionLost')).toEqual([{ reason: 'unknown_session' }]);
      expect(of(log, 'close')).toMatchObject([{ code: 1000, willReconnect: false }]);
      expect(of(log, 'open')).toEqual([]);
      await eventually(async () => (await c.sent(0)) !== undefined, 5000, 'the send to settle');
      expect(await c.sent(0)).toBe('rejected session_lost');
      expect(handled).toEqual([]);
      // The new session was ended with bye, not left to expire.
      await eventually(async () => (await server.store.stats()).sessions === 0, 5000, 'bye');
    });

    it("onSessionLost 'resend' (default): what never reached the old session is sent in the new one", async () => {
      const { server, info } = await startServer({ onMessage: (m) => ({ echo: m.data }) });
      const gone = { sid: 'a'.repeat(22), key: 'b'.repeat(22), ack: 3 };
      const c = await open()({
        url: info.url,
        options: { ...FAST, resume: gone },
        sendFirst: 'hello',
      });
      await eventually(async () => (await c.sent(0)) !== undefined, 5000, 'the answer');
      expect(await c.sent(0)).toBe('ok {"echo":"hello"}');
      const log = await c.log();
      expect(of(log, 'sessionLost')).toEqual([{ reason: 'unknown_session' }]);
      expect(of(log, 'open')).toHaveLength(1);
      expect(server.isAttached(await c.sid())).toBe(true);
      await c.close();
    });

    it('keyed messages replaced while away: the newest value per key, every plain message, no gap', async () => {
      const { server, info } = await startServer();
      const c = await open()({ url: info.url, options: { backoff: { baseMs: 300, capMs: 300 } } });
      const sid = await c.sid();
      await server.send(sid, 'p0');
      await until(c, (l) => of(l, 'message').length === 1, 'p0');
      await server.disconnect(sid);
      await eventually(() => !server.isAttached(sid), 5000, 'the disconnect');
      // Away: 5 values of one key and 3 plain messages, interleaved.
      for (let i = 1; i <= 5; i++) {
        await server.send(sid, { v: i }, { key: 'price' });
        if (i % 2 === 1) await server.send(sid, `p${(i + 1) / 2}`);
      }
      const log = await until(
        c,
        (l) => of(l, 'message').some((m) => (m.data as { v?: number }).v === 5),
        'the newest value',
      );
      const messages = of(log, 'message');
      expect(messages.filter((m) => m.key === undefined).map((m) => m.data)).toEqual([
        'p0',
        'p1',
        'p2',
        'p3',
      ]);
      expect(messages.filter((m) => m.key === 'price').map((m) => m.data)).toEqual([{ v: 5 }]);
      expect(of(log, 'gap')).toEqual([]);
      expect(of(log, 'resumed')).toEqual([{ recovered: true }]);
      await c.close();
    });
  });
}

lifecyclePaths('Node', () => (start) => Promise.resolve(inNode(start)));

const hasChromium = requireChromium('SDK lifecycle test in Chromium');
describe.skipIf(!hasChromium)('in headless Chromium', () => {
  let browser: Browser;
  let pageServer: { server: RwsServer; httpUrl: string };
  beforeAll(async () => {
    browser = await launchChromium();
    // Pages are loaded from a server that serves the SDK (the demo routes); the scenarios
    // connect to their own servers (the page's origin only matters for the module import).
    const { demoRoutes } = await import('../../src/server/demo.js');
    const { createServer } = await import('../../src/index.js');
    const server = createServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      extraRoutes: demoRoutes,
    });
    const info = await server.listen();
    pageServer = { server, httpUrl: info.httpUrl };
  });
  afterAll(async () => {
    await browser?.close();
    await pageServer?.server.close();
  });

  lifecyclePaths('Chromium', () => async (start) => {
    const page = await browser.newPage();
    await page.goto(`${pageServer.httpUrl}/sdk/resilient-ws-client.js`);
    return inPage(page, start);
  });
});

it('the admin API disconnects and ends sessions, with a reason, and says 404 and 400 clearly', async () => {
  const { server, info } = await startServer();
  const c = inNode({ url: info.url, options: FAST });
  const sid = await c.sid();
  const api = `${info.httpUrl}/api/sessions`;
  const disconnected = await postJson(`${api}/${sid}/disconnect`, { reason: 'maintenance' });
  expect(disconnected).toEqual({ status: 200, body: { sid, disconnected: true } });
  await until(c, (l) => of(l, 'resumed').length === 1, 'the resume');
  expect(of(await c.log(), 'reconnecting')).toMatchObject([
    { lastCloseCode: 4004, reason: 'maintenance' },
  ]);
  // Without a body: the default reason.
  expect((await fetch(`${api}/${sid}/disconnect`, { method: 'POST' })).status).toBe(200);
  await until(c, (l) => of(l, 'resumed').length === 2, 'the second resume');
  expect(of(await c.log(), 'reconnecting')[1]).toMatchObject({
    reason: 'disconnected by the server; resume',
  });

  const bad = await postJson(`${api}/${sid}/end`, { reason: 'x'.repeat(257) });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ error: { code: 'bad_request' } });
  expect((await postJson(`${api}/nope/end`, {})).status).toBe(404);
  expect((await postJson(`${api}/nope/disconnect`, {})).status).toBe(404);
  expect((await fetch(`${api}/${sid}/end`)).status).toBe(405);

  expect(await postJson(`${api}/${sid}/end`, { reason: 'done' })).toEqual({
    status: 200,
    body: { sid, ended: true },
  });
  const log = await until(c, (l) => of(l, 'close').length === 1, 'close');
  expect(of(log, 'sessionEnded')).toEqual([{ reason: 'done', code: 1000 }]);
  expect(await server.store.getSession(sid)).toBeUndefined();
});

it('server.endSession and server.disconnect refuse a bad reason with bad_options, changing nothing', async () => {
  const { server, info } = await startServer();
  const c = inNode({ url: info.url, options: FAST });
  const sid = await c.sid();
  for (const call of [
    () => server.endSession(sid, { reason: '' }),
    () => server.disconnect(sid, { reason: 'x'.repeat(300) }),
    () => server.disconnect(sid, { reason: 42 as unknown as string }),
  ])
    await expect(call()).rejects.toMatchObject({ code: 'bad_options' });
  expect(server.isAttached(sid)).toBe(true);
  expect(of(await c.log(), 'reconnecting')).toEqual([]);
  await c.close();
});
