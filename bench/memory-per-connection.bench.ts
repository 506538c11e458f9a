/**
 * Memory per idle connection (docs/performance.md "Bars", row "memory per connection"): heap
 * (heapUsed after two full GCs) and RSS per connection at 5000 idle connections, for resilient-ws
 * (full reliability layer, metrics on, every connection with a session), raw ws 8 and Socket.IO 4.8
 * with connection-state recovery.
 *
 * Layout: this file runs as the parent, as a server child (`server <system>`, pinned to CPU 0,
 * --expose-gc) and as one client child (`client`, pinned to CPU 1) that opens the connections.
 * Every round starts a fresh server process per system (order rotated), warms it up (2 × 100
 * connections opened and closed, so code and lazy structures are loaded), reads the baseline
 * after GC with no connection open, opens N connections, waits until the server holds all of
 * them established and idle for 1 s, and reads again after GC. Per connection = delta / N.
 */
import { fileURLToPath } from 'node:url';
import { canPin, startChild, type Peer } from './lib/child.js';
import { QUICK, atMost, pairedRatio, report, spread, type Check } from './lib/harness.js';
import {
  SYSTEMS,
  idleClientChild,
  isServerKind,
  serverChild,
  sleep,
  type MemoryReading,
  type ServerCounts,
  type ServerKind,
  type System,
} from './lib/memory-peers.js';

const N = QUICK ? 1000 : 5000;
const ROUNDS = QUICK ? 1 : 4;
const WARMUP_CONNECTIONS = 100;
const WARMUP_ROUNDS = 2;
/** Handshakes in flight at once (the listen backlog is never the limit). */
const CONCURRENCY = 100;
const IDLE_MS = 1000;
const SELF = fileURLToPath(import.meta.url);
const SERVER_ARGS = ['--expose-gc', '--max-old-space-size=4096'];

type Measured = MemoryReading & { counts: ServerCounts };

interface Variant {
  name: string;
  server: ServerKind;
  /** The client that opens the measured connections. */
  client: System;
  /** The client of the warm-up connections. */
  warmup: System;
}

/** The diagnostic: resilient-ws connections that never send hello (no session). */
const NO_HELLO = 'resilient-ws, no hello (diagnostic)';
const VARIANTS: Variant[] = [
  ...SYSTEMS.map((s) => ({ name: s, server: s, client: s, warmup: s })),
  // A plain ws client offers no subprotocol, which resilient-ws accepts; it never says hello.
  { name: NO_HELLO, server: 'resilient-ws-no-hello', client: 'ws', warmup: 'resilient-ws' },
];

interface RoundResult {
  variant: string;
  round: number;
  base: Measured;
  after: Measured;
  heapPerConn: number;
  rssPerConn: number;
  openMs: number;
}

async function waitFor(
  server: Peer,
  what: string,
  pred: (c: ServerCounts) => boolean,
  timeoutMs = 30000,
): Promise<ServerCounts> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await server.call<ServerCounts>('counts');
    if (pred(c)) return c;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(c)}`);
    await sleep(50);
  }
}

async function measureOnce(client: Peer, v: Variant, round: number): Promise<RoundResult> {
  const server = startChild<{ url: string }>(SELF, ['server', v.server], {
    cpu: 0,
    execArgv: SERVER_ARGS,
  });
  try {
    const { url } = await server.ready;
    for (let w = 0; w < WARMUP_ROUNDS; w++) {
      await client.call('open', {
        system: v.warmup,
        url,
        n: WARMUP_CONNECTIONS,
        concurrency: CONCURRENCY,
      });
      await waitFor(server, 'warm-up connections', (c) => c.established === WARMUP_CONNECTIONS);
      await client.call('close', { graceful: true });
      // Everything gone: no connection, no session (rws: bye ends it; socket.io: a client
      // disconnect is not a recoverable one, so no recovery session is kept).
      await waitFor(
        server,
        'warm-up connections to close',
        (c) =>
          c.established === 0 &&
          c.connections === 0 &&
          (c.extra.storeSessions ?? 0) === 0 &&
          (c.extra.recoverySessions ?? 0) === 0,
      );
    }
    await sleep(200);
    const base = await server.call<Measured>('measure');
    const { ms: openMs } = await client.call<{ ms: number }>('open', {
      system: v.client,
      url,
      n: N,
      concurrency: CONCURRENCY,
    });
    await waitFor(server, `${N} established`, (c) => c.established === N && c.connections === N);
    await sleep(IDLE_MS);
    const after = await server.call<Measured>('measure');
    if (after.counts.established !== N || after.counts.connections !== N)
      throw new Error(`${v.name}: not ${N} connections at the reading: ${JSON.stringify(after)}`);
    return {
      variant: v.name,
      round,
      base,
      after,
      heapPerConn: (after.heap - base.heap) / N,
      rssPerConn: (after.rss - base.rss) / N,
      openMs,
    };
  } finally {
    await server.stop();
    await client.call('close', { graceful: false });
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  // A hard bound: a wedged child must not hang the suite.
  const guard = setTimeout(() => {
    console.error('memory-per-connection: timed out');
    process.exit(2);
  }, 600_000);
  guard.unref();
  const client = startChild(SELF, ['client'], { cpu: 1, execArgv: ['--max-old-space-size=4096'] });
  await client.ready;
  const results: RoundResult[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(r + k) % VARIANTS.length]!;
        const res = await measureOnce(client, v, r);
        results.push(res);
        console.error(
          `round ${r} ${v.name}: heap ${(res.heapPerConn / 1024).toFixed(2)} KB/conn, ` +
            `RSS ${(res.rssPerConn / 1024).toFixed(2)} KB/conn, open ${res.openMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    await client.stop();
  }
  const seconds = (Date.now() - t0) / 1000;

  const names = VARIANTS.map((v) => v.name);
  const by = (f: (r: RoundResult) => number): Record<string, number[]> =>
    Object.fromEntries(names.map((n) => [n, results.filter((r) => r.variant === n).map(f)]));
  const heap = by((r) => r.heapPerConn);
  const rss = by((r) => r.rssPerConn);
  const open = by((r) => r.openMs);
  const kb = (x: number): number => x / 1024;
  const range = (v: number[]): string => {
    const s = spread(v);
    return `${kb(s.min).toFixed(2)}–${kb(s.max).toFixed(2)}`;
  };
  const ratioCell = (x: { median: number; min: number; max: number }): string =>
    `${x.median.toFixed(3)} (${x.min.toFixed(3)}–${x.max.toFixed(3)})`;
  // Ratios per round: the three systems of one round ran back to back.
  const heapVsWs = pairedRatio(heap['resilient-ws']!, heap.ws!);
  const heapVsSio = pairedRatio(heap['resilient-ws']!, heap['socket.io']!);
  const rssVsWs = pairedRatio(rss['resilient-ws']!, rss.ws!);
  const rssVsSio = pairedRatio(rss['resilient-ws']!, rss['socket.io']!);
  // The session's share: the same server with and without hello, round by round.
  const sessionHeap = spread(heap['resilient-ws']!.map((x, i) => x - heap[NO_HELLO]![i]!));

  const quickNote = `quick mode: ${N} connections, ${ROUNDS} round; full mode: 5000 connections, 4 rounds`;
  // Quick mode (the CI gate) reads one round of 1000 connections: 1.25–1.31 against raw ws
  // over the runs observed with the full run at 1.28, so the bar itself (1.3) would trip on
  // noise. It gates at 1.4 against gross regressions (a closure that keeps the upgrade
  // request alive costs ~1.5 KB per connection, +45 %); smaller ones (a listener per
  // connection, ~0.1–0.3 KB) are for the full run, which checks 1.3.
  const checks: Check[] = [
    atMost(
      'heap per idle connection: resilient-ws / raw ws (median of rounds)',
      heapVsWs.median,
      QUICK ? 1.4 : 1.3,
      QUICK
        ? `${quickNote}; the gate is 1.4 because one quick round read 1.25–1.31 with the full run at 1.28 (bar 1.3, checked in full mode)`
        : undefined,
    ),
    atMost(
      'heap per idle connection: resilient-ws / Socket.IO + recovery (median of rounds)',
      heapVsSio.median,
      0.4,
      QUICK ? quickNote : undefined,
    ),
  ];

  report({
    row: 'memory per connection',
    name: 'memory-per-connection',
    title: 'Memory per idle connection',
    method:
      `Each server in its own process, as users run it: resilient-ws createServer({ metrics: true }) with the product defaults ` +
      `(a connection counts once it has a session: hello sent, welcome received), raw ws 8 WebSocketServer on node:http, Socket.IO 4.8 ` +
      `with connectionStateRecovery (maxDisconnectionDuration 120 s) and the websocket transport (counts at 'connect'). One client process ` +
      `opens the connections (ws clients; socket.io-client with forceNew), ${CONCURRENCY} handshakes in flight at once. ` +
      `${ROUNDS} round(s), order rotated; every round starts a fresh server process per system (nothing carried over between rounds), warms it up ` +
      `(${WARMUP_ROUNDS} × ${WARMUP_CONNECTIONS} connections opened and closed gracefully: rws with bye, so no session is left), reads the ` +
      `baseline, opens ${N} connections, waits until the server holds all ${N} established, ${IDLE_MS} ms idle, and reads again. ` +
      `Readings in the server process: heapUsed after global.gc() twice, and RSS at the same moment; per connection = delta / ${N}. ` +
      `${canPin() ? 'Servers pinned to CPU 0 and the client to CPU 1 with taskset' : 'Not pinned (no taskset)'}. ` +
      `Ratios are taken round by round. Diagnostic row, no check: the same resilient-ws server holding ${N} connections that never ` +
      `send hello (plain ws clients; hello timeout raised to 60 s so they stay open), i.e. a connection without a session; the ` +
      `difference to the full row is what the session adds. Wall time of the whole run: ${seconds.toFixed(0)} s.`,
    table: {
      columns: [
        'system',
        'heap KB/conn (median)',
        'heap min–max',
        'RSS KB/conn (median)',
        'RSS min–max',
        `open ${N} conns, ms (median)`,
      ],
      rows: [
        ...names.map((s) => [
          s,
          kb(spread(heap[s]!).median),
          range(heap[s]!),
          kb(spread(rss[s]!).median),
          range(rss[s]!),
          spread(open[s]!).median,
        ]),
        [
          'resilient-ws: heap of the session (hello done − no hello)',
          kb(sessionHeap.median),
          `${kb(sessionHeap.min).toFixed(2)}–${kb(sessionHeap.max).toFixed(2)}`,
          '—',
          '—',
          '—',
        ],
        ['ratio heap resilient-ws / ws', heapVsWs.median, ratioCell(heapVsWs), '—', '—', '—'],
        [
          'ratio heap resilient-ws / Socket.IO',
          heapVsSio.median,
          ratioCell(heapVsSio),
          '—',
          '—',
          '—',
        ],
        ['ratio RSS resilient-ws / ws', '—', '—', rssVsWs.median, ratioCell(rssVsWs), '—'],
        ['ratio RSS resilient-ws / Socket.IO', '—', '—', rssVsSio.median, ratioCell(rssVsSio), '—'],
      ],
    },
    checks,
    data: {
      connections: N,
      rounds: ROUNDS,
      seconds,
      heapPerConn: heap,
      rssPerConn: rss,
      openMs: open,
      ratios: { heapVsWs, heapVsSio, rssVsWs, rssVsSio },
      sessionHeapPerConn: sessionHeap,
      readings: results,
    },
  });
}

const role = process.argv[2];
if (role === 'server') {
  const kind = process.argv[3];
  if (!isServerKind(kind)) throw new Error(`unknown server ${kind}`);
  await serverChild(kind);
} else if (role === 'client') {
  idleClientChild();
} else {
  await main();
}
