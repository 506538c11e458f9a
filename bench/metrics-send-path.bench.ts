/**
 * Metrics overhead on the real send path (BENCHMARKS.md "metrics overhead"): two real
 * servers in this process, one with `metrics: true` (product + process metrics subscribed
 * to its events) and one with `metrics: false`, each pushing to a sink client that runs in a
 * child process (so the client's parsing is not billed to the server). A round sends N
 * messages through `server.send` (serialize, seq, outbox, batched socket write) and waits
 * until the sink's cumulative acks emptied the outbox, so ack handling (also metered) is
 * inside the round. The figure is the server process's CPU time (user + system) per
 * message, metrics on / off, paired and interleaved round by round.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createServer, type RwsServer } from '../src/index.js';
import { QUICK, atMost, heapAfterGc, pairedRatio, report, spread } from './lib/harness.js';

const ROUNDS = QUICK ? 21 : 61;
const WARMUP = 10;
const MESSAGES = QUICK ? 2000 : 4000;
const PAYLOAD = { type: 'progress', step: 0, of: 100, note: 'x'.repeat(60) }; // ~100 B

// ---- sink (child process): connect, hello, ack every WebSocket message, report sids. ----
async function sink(urls: string[]): Promise<void> {
  const sids = await Promise.all(
    urls.map(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(url, 'rws.v1');
          ws.on('error', reject);
          ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
          ws.on('message', (data: Buffer) => {
            const text = data.toString('utf8');
            if (text.startsWith('{"t":"welcome"')) {
              resolve((JSON.parse(text.split('\n')[0]!) as { sid: string }).sid);
              return;
            }
            // Cumulative ack of the highest seq in this batch (what the SDK does, batched).
            const i = text.lastIndexOf('"seq":');
            if (i >= 0) ws.send(`{"t":"ack","seq":${parseInt(text.slice(i + 6), 10)}}`);
          });
        }),
    ),
  );
  process.send!({ sids });
}

if (process.argv[2] === 'sink') {
  void sink(process.argv.slice(3));
} else {
  await main();
}

async function main(): Promise<void> {
  const options = {
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent' as const,
    outboxMax: 1_000_000,
    outboxMaxBytes: 1024 * 1024 * 1024,
  };
  const on = createServer({ ...options, metrics: true });
  const off = createServer({ ...options, metrics: false });
  // Diagnostic: metrics off, but one empty 'send' listener, so the core times each store
  // append (it does so only when someone listens): separates the core's timing cost from
  // the metrics' own work (on / timed).
  const timed = createServer({ ...options, metrics: false });
  timed.on('send', () => {});
  const urls = [(await on.listen()).url, (await off.listen()).url, (await timed.listen()).url];
  const child = fork(fileURLToPath(import.meta.url), ['sink', ...urls], { stdio: 'inherit' });
  const { sids } = await new Promise<{ sids: string[] }>((resolve) =>
    child.once('message', (m) => resolve(m as { sids: string[] })),
  );
  const servers: [string, RwsServer, string][] = [
    ['metrics on', on, sids[0]!],
    ['metrics off', off, sids[1]!],
    ['off + timed sends', timed, sids[2]!],
  ];

  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 1));
  /** Timed: N sends and the flush that writes them to the socket. Untimed: the acks. */
  async function round(server: RwsServer, sid: string): Promise<{ cpu: number; wall: number }> {
    const batch: Promise<unknown>[] = new Array<Promise<unknown>>(MESSAGES);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < MESSAGES; i++) batch[i] = server.send(sid, { ...PAYLOAD, step: i });
    await Promise.all(batch);
    await tick(); // the flush scheduler writes the batch (64 frames per ws.send) here
    const wall = Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    while ((await server.store.stats()).messages > 0) await pause();
    return { cpu: (c.user + c.system) * 1000, wall };
  }

  const cpu: Record<string, number[]> = Object.fromEntries(servers.map(([n]) => [n, []]));
  const wall: Record<string, number[]> = Object.fromEntries(servers.map(([n]) => [n, []]));
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let k = 0; k < servers.length; k++) {
      const [name, server, sid] = servers[(r + k) % servers.length]!;
      heapAfterGc(); // every round starts from the same heap, so a GC lands in neither by luck
      const m = await round(server, sid);
      if (r >= WARMUP) {
        cpu[name]!.push(m.cpu / MESSAGES);
        wall[name]!.push(m.wall / MESSAGES);
      }
    }
  }
  child.kill();
  await Promise.all([on.close(), off.close(), timed.close()]);

  const ratio = pairedRatio(cpu['metrics on']!, cpu['metrics off']!);
  const wallRatio = pairedRatio(wall['metrics on']!, wall['metrics off']!);
  const timing = pairedRatio(wall['off + timed sends']!, wall['metrics off']!);
  const work = pairedRatio(wall['metrics on']!, wall['off + timed sends']!);
  const bar = QUICK ? 1.05 : 1.01;
  const row = (name: string): (string | number)[] => [
    name,
    spread(cpu[name]!).median,
    spread(wall[name]!).median,
  ];
  report({
    name: 'metrics-send-path',
    title: 'Metrics overhead on the real send path',
    method:
      `Real servers (createServer) in one process: metrics true, metrics false, and metrics false with one empty 'send' listener ` +
      `(diagnostic: the core then times each store append). Each round sends ${MESSAGES} ~100 B messages through server.send and awaits ` +
      `the flush that writes them (batched ws.send) to a sink client in a child process; the sink's acks are awaited outside the timed part. ` +
      `Server-process CPU time (user+system) and wall time per message, ${ROUNDS} paired interleaved rounds (order rotated, ${WARMUP} warm-up, GC before each). ` +
      `Process metrics (event-loop monitor, GC observer) are process-wide and so weigh on both variants.`,
    table: {
      columns: ['variant', 'CPU ns/msg (median)', 'wall ns/msg (median)'],
      rows: [
        row('metrics on'),
        row('metrics off'),
        row('off + timed sends'),
        ['ratio on/off (CPU)', ratio.median, `IQR ${ratio.q1.toFixed(3)}–${ratio.q3.toFixed(3)}`],
        [
          'ratio on/off (wall)',
          wallRatio.median,
          `IQR ${wallRatio.q1.toFixed(3)}–${wallRatio.q3.toFixed(3)}`,
        ],
        [
          'of which core send timing: timed/off (wall)',
          timing.median,
          `IQR ${timing.q1.toFixed(3)}–${timing.q3.toFixed(3)}`,
        ],
        [
          'of which metric work: on/timed (wall)',
          work.median,
          `IQR ${work.q1.toFixed(3)}–${work.q3.toFixed(3)}`,
        ],
      ],
    },
    checks: [
      atMost(
        'CPU ratio metrics on/off (median of paired rounds)',
        ratio.median,
        bar,
        QUICK
          ? `quick mode: ${ROUNDS} rounds on a noisy box, bar 5 %; full mode 61 rounds, bar 1 %`
          : undefined,
      ),
    ],
    data: { cpu, wall, ratio, wallRatio, timing, work },
  });
}
