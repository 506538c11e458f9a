/**
 * The built-in demo app (`resilient-ws serve --demo`, `npm start`): answers client messages
 * with an echo, broadcasts a tick every second so a newcomer sees traffic at once, and
 * serves a page at `/` that connects with the real client SDK.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientMessage } from '../session/client-messages.js';
import type { RwsServer } from './server.js';

/**
 * The built SDK's folder: this file runs as dist/src/server/demo.js when built, or as
 * src/server/demo.ts under a TypeScript loader (tests), where the build lives in ./dist.
 */
const UP2 = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = basename(UP2) === 'dist' ? UP2 : join(UP2, 'dist');

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

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>resilient-ws demo</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:48rem}#log{font:12px ui-monospace,monospace;background:#f4f4f4;padding:1rem;height:20rem;overflow:auto}</style>
</head><body>
<h1>resilient-ws demo</h1>
<p>State: <b id="state">connecting</b> · session <code id="sid">–</code> · last seq <b id="seq">0</b></p>
<p><input id="text" value="hello"> <button id="send">send</button></p>
<pre id="log"></pre>
<script type="module">
import { ResilientClient } from '/sdk/client/index.js';
const $ = (id) => document.getElementById(id);
const log = (line) => { const el = $('log'); el.textContent = line + '\\n' + el.textContent.slice(0, 20000); };
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const client = new ResilientClient(url);
client.on('open', (e) => { $('state').textContent = 'open'; $('sid').textContent = e.sid; });
client.on('resumed', (e) => log('resumed: recovered=' + e.recovered + (e.reason ? ' reason=' + e.reason : '')));
client.on('message', (m) => { $('seq').textContent = String(m.seq ?? '-'); log('msg ' + (m.seq ?? '-') + ' ' + JSON.stringify(m.data)); });
client.on('close', (e) => { $('state').textContent = e.willReconnect ? 'reconnecting' : 'closed'; log('close ' + e.code); });
$('send').onclick = async () => { const r = await client.send($('text').value); log('ok ' + JSON.stringify(r)); };
client.connect();
</script></body></html>`;

/** Serves the demo page and the client SDK's browser modules from dist/. */
export function demoRoutes(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (req.method !== 'GET') return false;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
    return true;
  }
  // The SDK imports src/protocol and src/resilience (backoff): both are browser-safe.
  const m = /^\/sdk\/((?:client|src\/protocol|src\/resilience)\/[\w./-]+\.js)$/.exec(path);
  if (m === null) return false;
  const file = normalize(join(DIST, m[1]!));
  if (!file.startsWith(DIST + sep)) return false;
  readFile(file)
    .then((body) => {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(body);
    })
    .catch(() => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    });
  return true;
}
