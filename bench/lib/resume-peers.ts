/**
 * The server side of bench/resume.bench.ts. Each peer is one child process (the same bench
 * file, started with `peer <kind>`) that holds one or two servers and answers requests from
 * the parent over IPC: `{ id, op, args }` → `{ id, result }` or `{ id, error }`.
 *
 * - `rws-chaos`: `createServer({ host, port: 0, logLevel: 'silent', metrics: true })`, product
 *   defaults; streams `{n}` to one session with `server.send` at a steady rate.
 * - `rws-outside`: two servers for the outside-the-window trials: `ttl` (sessionTtl 200 ms,
 *   sweepInterval 10 ms) and `overflow` (outboxMax 16, default drop-oldest policy).
 * - `sio-chaos`: Socket.IO 4.8 with `connectionStateRecovery: { maxDisconnectionDuration:
 *   120000 }`; streams `socket.emit('m', {n})` to the one client's current socket.
 * - `sio-outside`: the same with `maxDisconnectionDuration: 200`; emits `{n}` 1..3 to each
 *   new (not recovered) socket.
 *
 * A peer exits by itself when the parent goes away (IPC disconnect) or after its time limit.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SioServer, type Socket as SioSocket } from 'socket.io';
import { createServer, type RwsServer } from '../../src/index.js';

export type PeerKind = 'rws-chaos' | 'rws-outside' | 'sio-chaos' | 'sio-outside';

/** Settings of the outside-the-window servers (the parent's method text quotes them). */
export const OUTSIDE = {
  sessionTtlMs: 200,
  sweepIntervalMs: 10,
  outboxMax: 16,
  sioWindowMs: 200,
  /** Messages each new Socket.IO socket gets in the outside-window trials. */
  sioFirstMessages: 3,
} as const;

/** The Socket.IO recovery window of the chaos run. */
export const SIO_CHAOS_WINDOW_MS = 120_000;

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

/** Child side: answer requests until the parent disconnects. */
function serve(handlers: Record<string, Handler>, ready: Args): void {
  process.on('message', (m: { id: number; op: string; args: Args }) => {
    const h = handlers[m.op];
    Promise.resolve()
      .then(() => {
        if (h === undefined) throw new Error(`unknown op ${m.op}`);
        return h(m.args);
      })
      .then(
        (result) => process.send!({ id: m.id, result }),
        (e: unknown) =>
          process.send!({ id: m.id, error: e instanceof Error ? e.stack : String(e) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  // Bounded in time whatever the parent does.
  setTimeout(() => process.exit(3), 10 * 60_000).unref();
  process.send!({ ready });
}

// ---------------------------------------------------------------- resilient-ws peers

function rwsServer(overrides: Parameters<typeof createServer>[0] = {}): RwsServer {
  return createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    metrics: true,
    ...overrides,
  });
}

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

async function rwsChaosPeer(): Promise<void> {
  const server = rwsServer();
  const { port } = await server.listen();
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
      stop: async () => {
        streaming = false;
        await loop;
        const st = await server.store.stats();
        return { sent, error, ...counts, storedMessages: st.messages };
      },
      close: async () => {
        await server.close({ timeoutMs: 100 });
        setImmediate(() => process.exit(0));
        return true;
      },
    },
    { port },
  );
}

async function rwsOutsidePeer(): Promise<void> {
  const servers = {
    ttl: rwsServer({ sessionTtl: OUTSIDE.sessionTtlMs, sweepInterval: OUTSIDE.sweepIntervalMs }),
    overflow: rwsServer({ outboxMax: OUTSIDE.outboxMax }),
  };
  const ports = {
    ttl: (await servers.ttl.listen()).port,
    overflow: (await servers.overflow.listen()).port,
  };
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
        const evicted = server.dlq
          .list({ sid, reason: 'overflow', limit: 1001 })
          .map((e) => e.seq ?? -1);
        return { last: n, evicted, dropEvents };
      },
      waitDetach: async (a) => {
        const server = pick(a);
        const sid = str(a, 'sid');
        return until(() => !server.hub.sessions.has(sid), 5000);
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
      close: async () => {
        await Promise.all([
          servers.ttl.close({ timeoutMs: 100 }),
          servers.overflow.close({ timeoutMs: 100 }),
        ]);
        setImmediate(() => process.exit(0));
        return true;
      },
    },
    { ports },
  );
}

// ---------------------------------------------------------------- Socket.IO peers

async function sioServer(windowMs: number): Promise<{ io: SioServer; port: number }> {
  const http = createHttpServer();
  const io = new SioServer(http, {
    connectionStateRecovery: { maxDisconnectionDuration: windowMs },
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { io, port: (http.address() as AddressInfo).port };
}

async function closeSio(io: SioServer): Promise<void> {
  await new Promise<void>((r) => {
    void io.close(() => r());
    setTimeout(r, 500).unref();
  });
}

async function sioChaosPeer(): Promise<void> {
  const { io, port } = await sioServer(SIO_CHAOS_WINDOW_MS);
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
      stop: async () => {
        streaming = false;
        await loop;
        const adapter = io.of('/').adapter as unknown as { packets?: unknown[] };
        return { sent, connections, storedPackets: adapter.packets?.length ?? 0 };
      },
      close: async () => {
        await closeSio(io);
        setImmediate(() => process.exit(0));
        return true;
      },
    },
    { port },
  );
}

async function sioOutsidePeer(): Promise<void> {
  const { io, port } = await sioServer(OUTSIDE.sioWindowMs);
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
      close: async () => {
        await closeSio(io);
        setImmediate(() => process.exit(0));
        return true;
      },
    },
    { port },
  );
}

export async function runPeer(kind: string): Promise<void> {
  switch (kind) {
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

// ---------------------------------------------------------------- parent side

/** Whether `taskset` can pin here (BENCHMARKS.md "Method"); the fallback is no pinning. */
export function canPin(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

export class Peer {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private exited = false;

  private constructor(
    readonly kind: PeerKind,
    private readonly child: ChildProcess,
    readonly info: Args,
  ) {
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${kind}: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`${kind} exited (${code})`));
      this.pending.clear();
    });
  }

  /** Starts `self peer <kind>`, pinned to CPU 0 with taskset when `pin`. */
  static async start(self: string, kind: PeerKind, pin: boolean): Promise<Peer> {
    const child = pin
      ? spawn('taskset', ['-c', '0', process.execPath, self, 'peer', kind], {
          stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        })
      : fork(self, ['peer', kind], { stdio: 'inherit' });
    const info = await new Promise<Args>((resolve, reject) => {
      child.once('message', (m: { ready: Args }) => resolve(m.ready));
      child.once('exit', (code) => reject(new Error(`${kind} exited (${code}) before ready`)));
    });
    return new Peer(kind, child, info);
  }

  call<T>(op: string, args: Args = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.kind} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject });
      this.child.send({ id, op, args });
    });
  }

  /** Asks the peer to close its servers and exit; kills it (by its pid) if it does not. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await Promise.race([this.call('close').catch(() => undefined), sleep(3000)]);
    await Promise.race([gone, sleep(3000)]);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
