/**
 * The servers of the resume benchmark (bench/resume.bench.ts), each in a child process of its
 * own (this file, run as `peers.js <kind>`, over bench/lib/child.ts), built by
 * bench/lib/systems.ts:
 *
 * - `rws-chaos`: resilient-ws with product defaults; streams `{n}` to one session with
 *   `server.send` at a steady rate.
 * - `rws-outside`: two servers for the outside-the-window trials: `ttl` (sessionTtl 200 ms,
 *   sweepInterval 10 ms) and `overflow` (outboxMax 16, default drop-oldest policy).
 * - `sio-chaos`: Socket.IO with recovery; streams `socket.emit('m', {n})` to the one client's
 *   current socket.
 * - `sio-outside`: the same with `maxDisconnectionDuration: 200`; emits `{n}` 1..3 to each
 *   new (not recovered) socket.
 *
 * - `rws-node` (bench/multinode-resume.bench.ts): `rws-chaos` on the Redis store
 *   (`store: <redis url>`, `redisPrefix: <prefix>`), one of several nodes; the parent asks one of
 *   them to stream, to a session that moves between all of them.
 * - `sio-node`: `sio-chaos` on `@socket.io/redis-streams-adapter` (bench/lib/systems.ts), one of
 *   several nodes; the streaming node emits to a room the client's socket joined when it
 *   connected without recovery (a recovered socket keeps its rooms), so the packets reach it on
 *   whichever node it is.
 *
 * A peer exits when the parent asks (`Peer.stop`), goes away, or after its time limit.
 */
import { fileURLToPath } from 'node:url';
import type { Socket as SioSocket } from 'socket.io';
import type { RwsServer, ServerOptions } from '../../src/index.js';
import { serveRpc, startChild, type Peer } from '../lib/child.js';
import { startResilientWs, startSocketIo, startSocketIoRedis } from '../lib/systems.js';

export type { Peer };
export type PeerKind =
  'rws-chaos' | 'rws-outside' | 'sio-chaos' | 'sio-outside' | 'rws-node' | 'sio-node';

/** Settings of the outside-the-window servers (the parent's method text quotes them). */
export const OUTSIDE = {
  sessionTtlMs: 200,
  sweepIntervalMs: 10,
  outboxMax: 16,
  sioWindowMs: 200,
  /** Messages each new Socket.IO socket gets in the outside-window trials. */
  sioFirstMessages: 3,
} as const;

type Args = Record<string, unknown>;
type Handler = (args: Args) => unknown;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every millisecond; false after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(1);
  }
  return true;
}

function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v !== 'string') throw new Error(`argument ${key} must be a string`);
  return v;
}

function num(args: Args, key: string): number {
  const v = args[key];
  if (typeof v !== 'number') throw new Error(`argument ${key} must be a number`);
  return v;
}

/** Child side: answer requests; bounded in time whatever the parent does. */
function serve(
  handlers: Record<string, Handler>,
  ready: Args,
  onExit: () => Promise<unknown>,
): void {
  setTimeout(() => process.exit(3), 10 * 60_000).unref();
  serveRpc(handlers, ready, { onExit });
}

// ---------------------------------------------------------------- resilient-ws peers

/** Counts of the server's `resume` events by outcome, and of `drop` events by reason. */
function tally(server: RwsServer): {
  resumes: Record<string, number>;
  drops: Record<string, number>;
} {
  const resumes: Record<string, number> = {};
  const drops: Record<string, number> = {};
  server.on('resume', (e) => {
    const k = e.recovered ? 'recovered' : (e.reason ?? 'none');
    resumes[k] = (resumes[k] ?? 0) + 1;
  });
  server.on('drop', (e) => (drops[e.reason] = (drops[e.reason] ?? 0) + e.count));
  return { resumes, drops };
}

async function rwsChaosPeer(overrides: ServerOptions = {}): Promise<void> {
  const { server, port } = await startResilientWs(overrides);
  const counts = tally(server);
  let sid = '';
  let sent = 0;
  let streaming = false;
  let loop: Promise<void> = Promise.resolve();
  let error: string | undefined;

  // Steady rate: each tick sends what is due since the start (catches up after a slow tick);
  // sends are awaited one by one, so n and seq rise together.
  async function stream(rate: number): Promise<void> {
    const t0 = performance.now();
    while (streaming) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000);
      while (sent < due && streaming) {
        const r = await server.send(sid, { n: sent + 1 });
        if (!('seq' in r) || r.seq !== sent + 1)
          throw new Error(`send n=${sent + 1}: ${JSON.stringify(r)}`);
        sent++;
      }
      await sleep(1);
    }
  }

  serve(
    {
      stream: (a) => {
        sid = str(a, 'sid');
        streaming = true;
        loop = stream(num(a, 'rate')).catch((e: unknown) => {
          error = String(e);
          streaming = false;
        });
        return true;
      },
      end: async () => {
        streaming = false;
        await loop;
        const st = await server.store.stats();
        return { sent, error, ...counts, storedMessages: st.messages };
      },
    },
    { port },
    () => server.close({ timeoutMs: 100 }),
  );
}

async function rwsOutsidePeer(): Promise<void> {
  const [ttl, overflow] = await Promise.all([
    startResilientWs({
      sessionTtl: OUTSIDE.sessionTtlMs,
      sweepInterval: OUTSIDE.sweepIntervalMs,
    } satisfies ServerOptions),
    startResilientWs({ outboxMax: OUTSIDE.outboxMax }),
  ]);
  const servers = { ttl: ttl.server, overflow: overflow.server };
  const ports = { ttl: ttl.port, overflow: overflow.port };
  const reaped = new Set<string>();
  servers.ttl.on('reap', (e) => reaped.add(e.sid));
  const acked = new Map<string, number>();
  servers.overflow.on('ack', (e) => acked.set(e.sid, e.seq));
  const lastResume = new Map<string, { recovered: boolean; reason?: string; missing: number }>();
  for (const s of [servers.ttl, servers.overflow])
    s.on('resume', (e) =>
      lastResume.set(e.sid, {
        recovered: e.recovered,
        missing: e.missing,
        ...(e.reason === undefined ? {} : { reason: e.reason }),
      }),
    );
  const counters = new Map<string, number>();
  const pick = (a: Args): RwsServer => {
    const w = str(a, 'which');
    if (w !== 'ttl' && w !== 'overflow') throw new Error(`no server ${w}`);
    return servers[w];
  };

  serve(
    {
      /** Sends `count` messages `{n}` (n = seq) to `sid`; returns the overflow evictions' seqs. */
      send: async (a) => {
        const server = pick(a);
        const sid = str(a, 'sid');
        const count = num(a, 'count');
        let n = counters.get(sid) ?? 0;
        let dropEvents = 0;
        const onDrop = (e: { sid: string; reason: string; count: number }): void => {
          if (e.sid === sid && e.reason === 'overflow') dropEvents += e.count;
        };
        server.on('drop', onDrop);
        try {
          for (let i = 0; i < count; i++) {
            n++;
            const r = await server.send(sid, { n });
            if (!('seq' in r) || r.seq !== n) throw new Error(`send n=${n}: ${JSON.stringify(r)}`);
          }
        } finally {
          server.off('drop', onDrop);
          counters.set(sid, n);
        }
        const evicted = (await server.dlq.list({ sid, reason: 'overflow', limit: 1001 })).map(
          (e) => e.seq ?? -1,
        );
        return { last: n, evicted, dropEvents };
      },
      waitDetach: async (a) => {
        const server = pick(a);
        const sid = str(a, 'sid');
        return until(() => !server.isAttached(sid), 5000);
      },
      waitReap: async (a) => {
        const sid = str(a, 'sid');
        return until(() => reaped.has(sid), 5000);
      },
      waitAck: async (a) => {
        const sid = str(a, 'sid');
        const seq = num(a, 'seq');
        return until(() => (acked.get(sid) ?? 0) >= seq, 5000);
      },
      lastResume: (a) => lastResume.get(str(a, 'sid')) ?? null,
    },
    { ports },
    () =>
      Promise.all([
        servers.ttl.close({ timeoutMs: 100 }),
        servers.overflow.close({ timeoutMs: 100 }),
      ]),
  );
}

// ---------------------------------------------------------------- Socket.IO peers

async function sioChaosPeer(): Promise<void> {
  const sio = await startSocketIo();
  const { io, port } = sio;
  let current: SioSocket | undefined;
  const connections = { recovered: 0, fresh: 0 };
  io.on('connection', (socket) => {
    current = socket;
    if (socket.recovered) connections.recovered++;
    else connections.fresh++;
  });
  let sent = 0;
  let streaming = false;
  let loop: Promise<void> = Promise.resolve();

  async function stream(rate: number): Promise<void> {
    const t0 = performance.now();
    while (streaming) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000);
      // The current socket, connected or not: with recovery on, socket.emit goes through the
      // adapter (stored with an offset, to the socket's room), so a socket that is away gets it
      // on recovery.
      while (sent < due && current !== undefined) current.emit('m', { n: ++sent });
      await sleep(1);
    }
  }

  serve(
    {
      stream: (a) => {
        streaming = true;
        loop = stream(num(a, 'rate'));
        return true;
      },
      end: async () => {
        streaming = false;
        await loop;
        return { sent, connections, storedPackets: sio.storedPackets() };
      },
    },
    { port },
    () => sio.close(),
  );
}

/** One Socket.IO node on Redis; `stream` emits `{n}` to the room `u` at a steady rate. */
async function sioNodePeer(redisUrl: string, prefix: string): Promise<void> {
  const { io, port } = await startSocketIoRedis(redisUrl, prefix);
  const connections = { recovered: 0, fresh: 0 };
  io.on('connection', (socket) => {
    if (socket.recovered) connections.recovered++;
    else {
      connections.fresh++;
      void socket.join('u');
    }
  });
  let sent = 0;
  let streaming = false;
  let loop: Promise<void> = Promise.resolve();
  async function stream(rate: number): Promise<void> {
    const t0 = performance.now();
    while (streaming) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000);
      while (sent < due) io.to('u').emit('m', { n: ++sent });
      await sleep(1);
    }
  }
  serve(
    {
      stream: (a) => {
        streaming = true;
        loop = stream(num(a, 'rate'));
        return true;
      },
      end: async () => {
        streaming = false;
        await loop;
        return { sent };
      },
      stats: () => connections,
    },
    { port },
    () =>
      new Promise<void>((r) => {
        void io.close(() => r());
        setTimeout(r, 500).unref();
      }),
  );
}

async function sioOutsidePeer(): Promise<void> {
  const sio = await startSocketIo(OUTSIDE.sioWindowMs);
  const { io, port } = sio;
  const disconnected = new Map<string, number>();
  const connections = { recovered: 0, fresh: 0 };
  io.on('connection', (socket) => {
    if (socket.recovered) connections.recovered++;
    else {
      connections.fresh++;
      for (let n = 1; n <= OUTSIDE.sioFirstMessages; n++) socket.emit('m', { n });
    }
    socket.on('disconnect', () => disconnected.set(socket.id, Date.now()));
  });
  serve(
    {
      waitDisconnect: async (a) => {
        const id = str(a, 'id');
        return until(() => disconnected.has(id), 5000);
      },
      stats: () => connections,
    },
    { port },
    () => sio.close(),
  );
}

async function runPeer(kind: string, args: string[]): Promise<void> {
  switch (kind) {
    case 'rws-node':
      return rwsChaosPeer({ store: args[0]!, redisPrefix: args[1]! });
    case 'sio-node':
      return sioNodePeer(args[0]!, args[1]!);
    case 'rws-chaos':
      return rwsChaosPeer();
    case 'rws-outside':
      return rwsOutsidePeer();
    case 'sio-chaos':
      return sioChaosPeer();
    case 'sio-outside':
      return sioOutsidePeer();
    default:
      throw new Error(`unknown peer ${kind}`);
  }
}

const SELF = fileURLToPath(import.meta.url);

/** Parent side: starts peer `kind`, pinned to CPU 0 where taskset exists, once it is ready. */
export async function startPeer<R extends Args>(
  kind: PeerKind,
  args: string[] = [],
): Promise<{ peer: Peer; info: R }> {
  const peer = startChild<R>(SELF, [kind, ...args], { cpu: 0, name: kind });
  return { peer, info: await peer.ready };
}

if (process.argv[1] === SELF) await runPeer(process.argv[2]!, process.argv.slice(3));
