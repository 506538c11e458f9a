#!/usr/bin/env node
/**
 * `npm run cluster`: a local Redis and three resilient-ws nodes sharing it, to try failover
 * by hand (docs/scaling.md, "Try it"). Uses the Redis at REDIS_URL if one answers there
 * (default redis://127.0.0.1:6379), otherwise starts `redis-server` on a free port (no
 * persistence). Nodes listen on 8081, 8082, 8083 (BASE_PORT to change; BASE_PORT=0 gives each
 * a free port, read from its "listening on" line), with a key prefix of their own
 * (`cluster-<pid>`), the demo app on, and print one line each when ready.
 *
 * Try: open http://127.0.0.1:8081/ (the demo page), publish through another node
 *   curl -X POST http://127.0.0.1:8082/api/sessions/<sid>/messages \
 *     -H 'content-type: application/json' -d '{"data": "via node 2"}'
 * then kill the node the page is on (its PID is printed) and point the page at another;
 * `GET /api/nodes` on any node lists who is alive. Ctrl-C (or SIGTERM) stops everything this
 * started: the nodes first (a graceful shutdown, SIGKILL after 15 s), then this run's keys are
 * deleted, then the redis-server it started, if any; it exits once they are all gone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { clearTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const basePort = Number(process.env.BASE_PORT ?? 8081);
/** The redis-server this script started, if any, and the three nodes. */
let redisChild;
const nodes = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function pings(url) {
  const { hostname, port } = new URL(url);
  const r = spawnSync('redis-cli', ['-h', hostname, '-p', String(port || 6379), 'ping'], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout.trim() === 'PONG';
}

async function redisUrl() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (pings(url)) return url;
  const port = await freePort();
  console.log(`no Redis at ${url}: starting redis-server on port ${port} (no persistence)`);
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  child.on('error', (e) => {
    console.error(`cannot start redis-server (${e.message}): install Redis or set REDIS_URL`);
    process.exit(1);
  });
  redisChild = child;
  const started = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !pings(started); i++) await new Promise((r) => setTimeout(r, 100));
  return started;
}

/** SIGTERM `child` and wait for it to exit; SIGKILL it if it is still there after `graceMs`. */
function stop(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

let cleanup = () => {};
let stopping;
function stopAll() {
  // The nodes first (they still need Redis to shut down), then the keys, then Redis.
  stopping ??= Promise.all(nodes.map((n) => stop(n, 15_000)))
    .then(() => cleanup())
    .then(() => (redisChild === undefined ? undefined : stop(redisChild, 5_000)))
    .then(() => process.exit(0));
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

const url = await redisUrl();
const prefix = `cluster-${process.pid}`;
// On a Redis that outlives this script, delete this run's keys when it stops.
cleanup = () => {
  const { hostname, port } = new URL(url);
  const at = ['-h', hostname, '-p', String(port || 6379)];
  const keys = spawnSync('redis-cli', [...at, '--scan', '--pattern', `${prefix}:*`], {
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter((k) => k !== '');
  for (let i = 0; i < keys.length; i += 500)
    spawnSync('redis-cli', [...at, 'unlink', ...keys.slice(i, i + 500)]);
};
for (let i = 1; i <= 3; i++) {
  const port = basePort === 0 ? 0 : basePort + i - 1;
  const node = spawn(
    process.execPath,
    [
      `${root}/bin/resilient-ws.js`,
      'serve',
      '--demo',
      '--port',
      String(port),
      '--store',
      url,
      '--redis-prefix',
      prefix,
      '--node',
      `node-${i}`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  nodes.push(node);
  node.stderr.on('data', (chunk) => {
    for (const line of String(chunk).split('\n'))
      if (line.trim() !== '') console.log(`[node-${i} pid ${node.pid}] ${line}`);
  });
  node.on('exit', (code, signal) =>
    console.log(`[node-${i} pid ${node.pid}] exited (${code ?? signal})`),
  );
}
console.log(`three nodes on ${url.replace(/\/\/[^@]*@/, '//<redacted>@')}, key prefix ${prefix}`);
