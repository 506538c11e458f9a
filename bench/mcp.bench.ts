/**
 * MCP tool calls (issue 15; docs/performance.md has no bar for this row yet, so the figures are
 * reported and the gate checks correctness only): tool-call round trips per second through
 * `resilient-ws mcp-bridge` → `resilient-ws mcp-serve` → the MCP server, against the same MCP
 * server over plain stdio, in the same run.
 * - stdio (baseline): the MCP SDK `Client` over `StdioClientTransport`, spawning
 *   `node dist/examples/mcp-slow-server.js` directly.
 * - bridge: the same `Client` over `StdioClientTransport`, spawning
 *   `node bin/resilient-ws.js mcp-bridge ws://127.0.0.1:<port>/ws` into one
 *   `resilient-ws mcp-serve --port 0 -- node dist/examples/mcp-slow-server.js` process
 *   (default settings, the `mcp` preset), which starts the same server for the session.
 * Each call is `callTool slow {steps: 1, delayMs: 0}` (one `setTimeout(0)` in the server,
 * answered `done: 1`). Two loads: sequential (each call awaited before the next) and 16 calls
 * in flight (16 loops, each awaiting its own calls). Both clients are initialized and warmed up
 * first; then paired, interleaved, rotated rounds (each of the 4 variants once per round, the
 * order rotated each round); calls/s per round, the bridge/stdio ratio round by round, and the
 * latency of every recorded call (p50, p99).
 *
 * Every process started here is stopped at the end, on failure too: the clients close their
 * transports (stdin closed, then SIGTERM, then SIGKILL: the SDK's close), mcp-serve gets
 * SIGTERM then SIGKILL, and a watchdog ends the run if it hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { QUICK, atLeast, atMost, pairedRatio, report, spread, type Check } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = join(here, '..', '..');
const BIN = join(ROOT, 'bin', 'resilient-ws.js');
const EXAMPLE = join(ROOT, 'dist', 'examples', 'mcp-slow-server.js');

// Sized by the slowest variant, the bridge with 16 in flight (~100 calls/s on a 2-core VM):
// quick mode stays under ~30 s.
const ROUNDS = QUICK ? 4 : 15;
const WARMUP_ROUNDS = 1;
/** Calls per variant per round (the concurrent ones a multiple of IN_FLIGHT). */
const SEQ_CALLS = QUICK ? 100 : 400;
const CONC_CALLS = QUICK ? 192 : 800;
const IN_FLIGHT = 16;
/** Warm-up calls per path, sequential and again with IN_FLIGHT in flight. */
const WARMUP_CALLS = QUICK ? 160 : 480;
/** The whole run is ended (exit 1) past this. */
const WATCHDOG_MS = QUICK ? 120_000 : 600_000;

const ARGS = { name: 'slow', arguments: { steps: 1, delayMs: 0 } };
const children: ChildProcess[] = [];
const clients: Client[] = [];
/** Every path connected and mcp-serve's stderr tail, printed when the run fails. */
const opened: Path[] = [];
let serveStderr = '';

interface Path {
  label: string;
  client: Client;
  /** Calls answered with the expected result, calls failed (rejected or wrong result). */
  answered: number;
  failed: number;
  sent: number;
  /** Errors reported by the client (e.g. a response for an unknown or already answered id). */
  clientErrors: string[];
  stderr: () => string;
}

async function connect(label: string, command: string, args: string[]): Promise<Path> {
  const transport = new StdioClientTransport({
    command,
    args,
    env: { PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4_000)));
  const client = new Client({ name: `mcp-bench-${label}`, version: '1.0.0' });
  clients.push(client);
  const path: Path = {
    label,
    client,
    answered: 0,
    failed: 0,
    sent: 0,
    clientErrors: [],
    stderr: () => err,
  };
  client.onerror = (e) => path.clientErrors.push(e.message);
  opened.push(path);
  await client.connect(transport);
  return path;
}

/** `resilient-ws mcp-serve --port 0` running the example server; resolves with its ws:// URL. */
async function startMcpServe(): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'mcp-serve', '--port', '0', '--', 'node', EXAMPLE], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mcp-serve did not listen: ${err}`)), 15_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      serveStderr = err.slice(-4_000);
      const m = /resilient-ws listening on (ws:\/\/\S+) \(HTTP /.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`mcp-serve exited (${code ?? signal}): ${err}`));
    });
  });
}

/** One call; returns its latency in ms (a failure is counted, not thrown). */
async function call(p: Path): Promise<number> {
  p.sent++;
  const start = process.hrtime.bigint();
  try {
    const r = (await p.client.callTool(ARGS)) as {
      content?: { text?: string }[];
      isError?: boolean;
    };
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.isError !== true && r.content?.[0]?.text === 'done: 1') p.answered++;
    else p.failed++;
    return ms;
  } catch (e) {
    p.failed++;
    p.clientErrors.push(`callTool: ${(e as Error).message}`);
    return NaN;
  }
}

/** `total` calls with `inFlight` loops; returns calls/s and the per-call latencies. */
async function load(
  p: Path,
  total: number,
  inFlight: number,
): Promise<{ perSec: number; lat: number[] }> {
  const lat: number[] = [];
  const per = total / inFlight;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = 0; i < per; i++) lat.push(await call(p));
    }),
  );
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSec: total / s, lat };
}

function quantile(values: readonly number[], q: number): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const wait = (ms: number): Promise<void> =>
    Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms).unref())]);
  child.kill('SIGTERM');
  await wait(5_000);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await wait(2_000);
  }
}

async function cleanup(): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(children.map(stopChild));
}

// Last resort: nothing outlives this process.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
const watchdog = setTimeout(() => {
  console.error(`mcp bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
  process.exitCode = 1;
  void cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();

interface VariantResult {
  perSec: number[];
  lat: number[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const url = await startMcpServe();
  const stdio = await connect('stdio', process.execPath, [EXAMPLE]);
  const bridge = await connect('bridge', process.execPath, [
    BIN,
    'mcp-bridge',
    url,
    '--log-level',
    'warn',
  ]);
  const paths = [stdio, bridge];
  for (const p of paths) {
    const tools = await p.client.listTools();
    if (!tools.tools.some((t) => t.name === 'slow'))
      throw new Error(`${p.label}: tool "slow" not listed`);
  }
  // Warm-up: both paths, sequential and concurrent (JIT, sockets, the session's child).
  for (const p of paths) {
    await load(p, WARMUP_CALLS, 1);
    await load(p, WARMUP_CALLS, IN_FLIGHT);
  }

  const variants = [
    { name: 'stdio, sequential', path: stdio, inFlight: 1, calls: SEQ_CALLS },
    { name: 'bridge, sequential', path: bridge, inFlight: 1, calls: SEQ_CALLS },
    { name: `stdio, ${IN_FLIGHT} in flight`, path: stdio, inFlight: IN_FLIGHT, calls: CONC_CALLS },
    {
      name: `bridge, ${IN_FLIGHT} in flight`,
      path: bridge,
      inFlight: IN_FLIGHT,
      calls: CONC_CALLS,
    },
  ];
  const out: Record<string, VariantResult> = Object.fromEntries(
    variants.map((v) => [v.name, { perSec: [], lat: [] }]),
  );
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const r = await load(v.path, v.calls, v.inFlight);
      if (round >= WARMUP_ROUNDS) {
        out[v.name]!.perSec.push(r.perSec);
        out[v.name]!.lat.push(...r.lat);
      }
    }
  }
  const seconds = (Date.now() - started) / 1000;

  const f = (x: { median: number; q1: number; q3: number }): string =>
    `${x.median.toFixed(0)} (${x.q1.toFixed(0)}–${x.q3.toFixed(0)})`;
  const r2 = (x: { median: number; q1: number; q3: number }): string =>
    `${x.median.toFixed(3)} (${x.q1.toFixed(3)}–${x.q3.toFixed(3)})`;
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = { seconds };
  const ratios: Record<string, ReturnType<typeof spread>> = {};
  for (const load of ['sequential', `${IN_FLIGHT} in flight`]) {
    const base = out[`stdio, ${load}`]!;
    const br = out[`bridge, ${load}`]!;
    const ratio = pairedRatio(br.perSec, base.perSec);
    ratios[load] = ratio;
    for (const [name, v] of [
      [`stdio, ${load}`, base],
      [`bridge, ${load}`, br],
    ] as const) {
      const s = spread(v.perSec);
      const p50 = quantile(v.lat, 0.5);
      const p99 = quantile(v.lat, 0.99);
      data[name] = { perSec: v.perSec, calls: s, p50, p99, latencies: v.lat.length };
      rows.push([
        name,
        f(s),
        name.startsWith('bridge') ? r2(ratio) : '1 (baseline)',
        p50.toFixed(3),
        p99.toFixed(3),
        v.lat.length,
      ]);
    }
  }
  data.ratios = ratios;

  const checks: Check[] = [];
  for (const p of paths) {
    data[`${p.label} counts`] = {
      sent: p.sent,
      answered: p.answered,
      failed: p.failed,
      clientErrors: p.clientErrors.slice(0, 10),
    };
    checks.push(
      atLeast(
        `${p.label}: calls answered with "done: 1" / calls made`,
        p.answered / p.sent,
        1,
        `${p.answered} of ${p.sent}; every call answered, none with an error`,
      ),
      atMost(
        `${p.label}: failed calls + client errors (duplicate or unknown responses, transport errors)`,
        p.failed + p.clientErrors.length,
        0,
        'a response answered twice, or to no open request, is a client error',
      ),
    );
  }
  // Sanity floors an order of magnitude below the figures measured on a 2-core VM with the
  // `mcp` preset (sequential ~0.54, 16 in flight ~0.48). At the default clientRate (100/s)
  // the rate limit paced the bridge path to ~100 calls/s (16 in flight: ~0.024).
  const FLOORS: Record<string, number> = { sequential: 0.05, [`${IN_FLIGHT} in flight`]: 0.05 };
  for (const [load, ratio] of Object.entries(ratios))
    checks.push(
      atLeast(
        `bridge / stdio calls/s, ${load} (median of paired rounds)`,
        ratio.median,
        FLOORS[load]!,
        'sanity floor only, ~10x below the figure measured on a 2-core VM: no bar is set for this row (issue 15), so the figures are reported, not gated; the floor catches a path that stalls (a call waiting on a timeout or a reconnect)',
      ),
    );

  report({
    row: 'mcp tool calls',
    name: 'mcp',
    title: 'MCP tool calls: mcp-bridge → mcp-serve against plain stdio',
    method:
      'The MCP SDK `Client` over `StdioClientTransport`, two ways in the same run: (a) spawning `node dist/examples/mcp-slow-server.js` directly (plain stdio, the baseline); (b) spawning `resilient-ws mcp-bridge ws://127.0.0.1:<port>/ws` into one `resilient-ws mcp-serve --port 0 -- node dist/examples/mcp-slow-server.js` (default settings: the `mcp` preset), which runs the same server for the session: client → stdio → bridge → WebSocket → mcp-serve → stdio → server and back. ' +
      'Each call is `callTool slow {steps: 1, delayMs: 0}` (the server waits one `setTimeout(0)` and answers `done: 1`). Loads: sequential (each call awaited before the next) and 16 in flight (16 loops each awaiting its own calls). ' +
      `Both clients are initialized (connect, listTools) and warmed up (${WARMUP_CALLS} calls sequential and ${WARMUP_CALLS} with 16 in flight each); then paired, interleaved rounds, each of the 4 variants once per round in an order rotated every round (${ROUNDS} recorded after ${WARMUP_ROUNDS} warm-up; ${SEQ_CALLS} sequential and ${CONC_CALLS} concurrent calls per variant per round). ` +
      'calls/s is the median (IQR) of the per-round rates; bridge/stdio is the ratio taken round by round (median, IQR); latency is the time from callTool to its result, p50 and p99 over every recorded call, in ms. ' +
      'No process is pinned; all of them (client, bridge, mcp-serve, the two servers) share the machine’s cores, so the bridge path, with two more processes per call, competes for CPU with itself. ' +
      'No bar is set for this row: the checks are correctness (every call answered exactly once with the right result, no client error) and a sanity floor on the ratio, ~10x below the figures measured on a 2-core VM. ' +
      `Run time ${seconds.toFixed(0)} s${QUICK ? ' (quick mode)' : ''}.`,
    table: {
      columns: [
        'path, load',
        'calls/s (IQR)',
        'bridge / stdio calls/s (IQR)',
        'p50 ms',
        'p99 ms',
        'calls recorded',
      ],
      rows,
    },
    checks,
    data,
  });
}

try {
  await main();
} catch (e) {
  console.error('mcp bench failed:', e);
  for (const p of opened) console.error(`--- ${p.label} stderr ---\n${p.stderr()}`);
  console.error(`--- mcp-serve stderr ---\n${serveStderr}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
