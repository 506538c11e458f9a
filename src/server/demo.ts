/**
 * The built-in demo app (`resilient-ws serve --demo`, `npm start`): answers client messages
 * with an echo, broadcasts a tick every second so a newcomer sees traffic at once, and
 * serves a page at `/` that connects with the real client SDK, loaded from the SDK's
 * single-file browser build at `/sdk/resilient-ws-client.js`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientMessage } from '../session/client-messages.js';
import type { RwsServer } from './server.js';

/**
 * The browser build's folder (scripts/build-browser.js): this file runs as
 * dist/src/server/demo.js when built, or as src/server/demo.ts under a TypeScript loader
 * (tests), where the build lives in ./dist.
 */
const UP2 = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BROWSER = join(basename(UP2) === 'dist' ? UP2 : join(UP2, 'dist'), 'browser');

/** The path the demo serves the SDK's browser build at (client/README.md "In a browser"). */
export const SDK_PATH = '/sdk/resilient-ws-client.js';

export function demoHandler(message: ClientMessage): unknown {
  return { echo: message.data, at: new Date().toISOString() };
}

/** Broadcast a tick every `everyMs`; returns a stop function. */
export function startDemoTicker(server: RwsServer, everyMs = 1000): () => void {
  let n = 0;
  const timer = setInterval(() => {
    n++;
    server
      .broadcast({ tick: n, at: new Date().toISOString() }, { key: 'demo-tick' })
      .catch(() => undefined);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The demo page. It shows three things a newcomer asks about:
 * - The session survives a reload: it is kept in sessionStorage (this tab only) and resumed
 *   with the SDK's `resume` option (the recipe for an app: client/README.md, "Keeping the
 *   session across reloads").
 * - A dropped connection loses nothing: "drop connection" closes the socket (code 4000, so
 *   the SDK reconnects at once), or holds the network down for N seconds while the server keeps
 *   sending; the resume then says `recovered`, `reason` and `missing`, and the replayed seqs
 *   appear in the log.
 * - Keyed ticks are not losses: the tick is sent with a key (latest value wins), so a tick
 *   replaced while the client was away never arrives, by design. Ticks are shown apart from
 *   plain messages, whose seqs are exact.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>resilient-ws demo</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:48rem}#log{font:12px ui-monospace,monospace;background:#f4f4f4;padding:1rem;height:20rem;overflow:auto}.tick{color:#555}button{margin-right:.5rem}</style>
</head><body>
<h1>resilient-ws demo</h1>
<p><a href="/dashboard">Open the dashboard</a>: every session, queue, breaker and drop as it happens.</p>
<p>State: <b id="state">connecting</b> · session <code id="sid">–</code> · last seq <b id="seq">0</b></p>
<p class="tick">Latest tick: <b id="tick">–</b> (keyed: while you are away only the newest tick is kept, so skipped ticks are replaced, not lost)</p>
<p><input id="text" value="hello" aria-label="message"> <button id="send">send</button></p>
<p><button id="drop">drop connection</button> <button id="hold">hold down for</button><input id="holdSeconds" type="number" min="1" max="60" value="5" size="3" aria-label="seconds"> s · <button id="forget">new session</button></p>
<p>Last resume: <span id="resume">–</span></p>
<pre id="log" aria-live="polite"></pre>
<script type="module">
import { ResilientClient } from '${SDK_PATH}';
const $ = (id) => document.getElementById(id);
const log = (line) => { const el = $('log'); el.textContent = line + '\\n' + el.textContent.slice(0, 20000); };
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
// The session outlives a reload of this tab: kept in sessionStorage, resumed with the SDK.
const KEY = 'resilient-ws-demo-session';
const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
// A WebSocket the page can cut (drop) or keep from connecting (hold) to show a resume.
let socket; let heldUntil = 0;
class DemoSocket extends WebSocket {
  constructor(u, protocols) {
    super(Date.now() < heldUntil ? 'ws://127.0.0.1:9/held' : u, protocols);
    socket = this;
  }
}
const client = new ResilientClient(url, { WebSocket: DemoSocket, backoff: { baseMs: 250, capMs: 1000 }, ...(saved ? { resume: saved } : {}) });
const save = () => { const s = client.session; if (s) sessionStorage.setItem(KEY, JSON.stringify(s)); else sessionStorage.removeItem(KEY); };
let replaying = false; let replayed = [];
client.on('open', (e) => { $('state').textContent = 'open'; $('sid').textContent = e.sid; save(); });
client.on('resumed', (e) => {
  const text = 'recovered=' + e.recovered + (e.reason ? ' reason=' + e.reason : '') + (e.missing !== undefined ? ' missing=' + e.missing : '');
  $('resume').textContent = text; log('resumed: ' + text);
  replaying = true; replayed = [];
  setTimeout(() => { replaying = false; if (replayed.length) log('replayed seqs: ' + replayed.join(', ')); }, 200);
});
client.on('gap', (e) => log('gap: ' + JSON.stringify(e)));
client.on('message', (m) => {
  $('seq').textContent = String(m.seq ?? '-');
  if (replaying && m.seq !== undefined) replayed.push(m.seq);
  if (m.data && typeof m.data === 'object' && 'tick' in m.data) $('tick').textContent = m.data.tick + ' (seq ' + (m.seq ?? '-') + ')';
  else log('msg ' + (m.seq ?? '-') + ' ' + JSON.stringify(m.data));
  save();
});
client.on('reconnecting', (e) => { $('state').textContent = 'reconnecting'; log('close ' + e.lastCloseCode + ', reconnecting (attempt ' + e.attempt + ')'); });
client.on('close', (e) => { $('state').textContent = 'closed'; log('close ' + e.code); });
$('send').onclick = async () => { const r = await client.send($('text').value); log('ok ' + JSON.stringify(r)); };
$('drop').onclick = () => { log('dropping the connection'); socket?.close(4000, 'dropped by the demo page'); };
$('hold').onclick = () => {
  const s = Math.max(1, Math.min(60, Number($('holdSeconds').value) || 5));
  heldUntil = Date.now() + s * 1000; log('network down for ' + s + ' s'); socket?.close(4000, 'held down by the demo page');
};
$('forget').onclick = () => { sessionStorage.removeItem(KEY); location.reload(); };
client.connect();
</script></body></html>`;

const SDK_FILES = new Map<string, { file: string; type: string }>([
  [SDK_PATH, { file: 'resilient-ws-client.js', type: 'text/javascript; charset=utf-8' }],
  [
    `${SDK_PATH}.map`,
    { file: 'resilient-ws-client.js.map', type: 'application/json; charset=utf-8' },
  ],
]);

/** Each file read once, with its ETag; a missing build is retried on the next request. */
const sdkCache = new Map<string, Promise<{ body: Buffer; etag: string }>>();

function sdkFile(file: string): Promise<{ body: Buffer; etag: string }> {
  let entry = sdkCache.get(file);
  if (entry === undefined) {
    entry = readFile(join(BROWSER, file)).then((body) => ({
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    }));
    sdkCache.set(file, entry);
    entry.catch(() => sdkCache.delete(file));
  }
  return entry;
}

/** Serves the demo page, and the client SDK's browser build and its source map. */
export function demoRoutes(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (req.method === 'GET' && path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
    return true;
  }
  const sdk = SDK_FILES.get(path);
  if (sdk === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  sdkFile(sdk.file).then(
    ({ body, etag }) => {
      // The name carries no version: a browser revalidates each time (a 304 while the build
      // is unchanged) instead of running an old SDK after an upgrade.
      const headers = {
        'content-type': sdk.type,
        'cache-control': 'no-cache',
        etag,
        'x-content-type-options': 'nosniff',
      };
      const known = req.headers['if-none-match']?.split(',').map((t) => t.trim());
      if (known?.includes(etag) === true) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    () => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the browser build is missing: run `npm run build`');
    },
  );
  return true;
}
