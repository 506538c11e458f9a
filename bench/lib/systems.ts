/**
 * The competitors, each built once, as its users run it: every end-to-end benchmark starts its
 * servers here, so a fairness setting is made in this file only.
 *
 * - `resilient-ws`: `createServer({ host, port: 0, logLevel: 'silent', metrics: true })`, the
 *   per-IP connection limit lifted (every client is on loopback), the product defaults otherwise (sessions, seq, bounded outbox, dedup, heartbeats, metrics).
 * - `ws`: ws 8 `WebSocketServer` on a node:http server, its defaults (per-message deflate off).
 * - `socket.io`: Socket.IO 4.8 with connection-state recovery (`maxDisconnectionDuration`
 *   120 s unless a benchmark measures another window) and the websocket transport only; with
 *   recovery on, `socket.emit` goes through its SessionAwareAdapter, which keeps every packet
 *   in a log pruned by age only (asserted here, so a benchmark cannot run it without).
 *
 * - `socket.io-redis` (bench/redis-push.bench.ts): the same Socket.IO with recovery on
 *   `@socket.io/redis-streams-adapter` 0.3 and the client its README uses first (`redis`,
 *   node-redis; the adapter accepts ioredis too), its defaults (one stream, `maxLen` 10 000,
 *   `readCount` 100) except the names: stream, channel prefix and session keys under a key
 *   prefix of the benchmark's own.
 *
 * Clients use `WS_CLIENT` (ws and resilient-ws's protocol over ws) and `SIO_CLIENT`.
 * Each builder imports its library lazily, so a process loads only the system it runs.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as SioServer } from 'socket.io';
import type { WebSocketServer } from 'ws';
import type { RwsServer, ServerOptions } from '../../src/index.js';

export const SYSTEMS = ['resilient-ws', 'ws', 'socket.io'] as const;
export type System = (typeof SYSTEMS)[number];

/** Socket.IO's recovery window as its users would set it for a delivery product. */
export const SIO_RECOVERY_MS = 120_000;

/** Client options: `ws` clients (raw ws and the resilient-ws protocol client). */
export const WS_CLIENT = { perMessageDeflate: false } as const;
/** Client options: socket.io-client, one engine connection each (io() would multiplex). */
export const SIO_CLIENT = { transports: ['websocket'], forceNew: true };

function listenHttp(http: HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port));
  });
}

export interface Rws {
  server: RwsServer;
  /** `ws://127.0.0.1:port/ws` */
  url: string;
  port: number;
}

/**
 * resilient-ws with the product defaults and metrics on. `overrides` only for what a
 * benchmark measures on purpose (a short session TTL, a small outbox, a long hello timeout,
 * metrics off as the metrics benchmark's baseline).
 */
export async function startResilientWs(overrides: ServerOptions = {}): Promise<Rws> {
  const { createServer } = await import('../../src/index.js');
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    metrics: true,
    // Every benchmark client comes from 127.0.0.1, where a deployment sees many addresses:
    // the per-IP admission limit (default 1000) would refuse the 5000 connections of
    // memory-per-connection's full mode. The global limit stays at its default.
    maxConnectionsPerIp: 1_000_000,
    ...overrides,
  });
  if (overrides.metrics !== false && server.metricsStats() === undefined)
    throw new Error('resilient-ws: metrics are off');
  const { url, port } = await server.listen();
  return { server, url, port };
}

export interface RawWs {
  wss: WebSocketServer;
  url: string;
  port: number;
}

export async function startWs(): Promise<RawWs> {
  const { WebSocketServer } = await import('ws');
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http });
  const port = await listenHttp(http);
  return { wss, url: `ws://127.0.0.1:${port}/`, port };
}

/**
 * Raw ws's heartbeat as its README writes it ("How to detect and close broken connections"):
 * one timer; every `intervalMs` each client that did not answer the previous ping is
 * terminated, and every other one gets a WebSocket protocol ping (its `pong` marks it alive).
 * The baseline of the heartbeat CPU figure (bench/connections.bench.ts). Returns the stop.
 */
export function startWsHeartbeat(wss: WebSocketServer, intervalMs: number): () => void {
  const alive = new WeakMap<object, boolean>();
  wss.on('connection', (ws) => {
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
  });
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, intervalMs);
  return () => clearInterval(timer);
}

export interface SocketIo {
  io: SioServer;
  url: string;
  port: number;
  /** Packets in the recovery log (SessionAwareAdapter.packets). */
  storedPackets(): number;
  /** Disconnected sockets kept for recovery (SessionAwareAdapter.sessions). */
  recoverySessions(): number;
  close(): Promise<void>;
}

/**
 * Socket.IO with connection-state recovery; `recoveryMs` only for the outside-window trials,
 * `pingIntervalMs` (engine.io's heartbeat, default 25 s) only where the heartbeat is measured
 * (bench/connections.bench.ts runs every system's heartbeat at the same interval).
 */
export async function startSocketIo(
  recoveryMs = SIO_RECOVERY_MS,
  pingIntervalMs?: number,
): Promise<SocketIo> {
  const { Server } = await import('socket.io');
  const http = createHttpServer();
  const io = new Server(http, {
    connectionStateRecovery: { maxDisconnectionDuration: recoveryMs },
    transports: ['websocket'],
    ...(pingIntervalMs === undefined ? {} : { pingInterval: pingIntervalMs }),
  });
  const adapter = io.of('/').adapter as unknown as {
    constructor: { name: string };
    packets?: unknown[];
    sessions?: Map<string, unknown>;
  };
  if (adapter.constructor.name !== 'SessionAwareAdapter' || !Array.isArray(adapter.packets))
    throw new Error(`Socket.IO recovery is not active (adapter ${adapter.constructor.name})`);
  const port = await listenHttp(http);
  return {
    io,
    url: `http://127.0.0.1:${port}`,
    port,
    storedPackets: () => adapter.packets?.length ?? -1,
    recoverySessions: () => adapter.sessions?.size ?? -1,
    close: () =>
      new Promise<void>((r) => {
        void io.close(() => r());
        setTimeout(r, 500).unref();
      }),
  };
}

/** Socket.IO on Redis: the name of its stream under `prefix` (the parent reads it). */
export const sioRedisStream = (prefix: string): string => `${prefix}:stream`;

export interface SocketIoRedis {
  io: SioServer;
  url: string;
  port: number;
}

/** Socket.IO with connection-state recovery on the Redis streams adapter (node-redis). */
export async function startSocketIoRedis(
  redisUrl: string,
  prefix: string,
  recoveryMs = SIO_RECOVERY_MS,
): Promise<SocketIoRedis> {
  const { Server } = await import('socket.io');
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-streams-adapter');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const http = createHttpServer();
  const io = new Server(http, {
    adapter: createAdapter(redis, {
      streamName: sioRedisStream(prefix),
      channelPrefix: `${prefix}:ch`,
      sessionKeyPrefix: `${prefix}:session:`,
    }),
    connectionStateRecovery: { maxDisconnectionDuration: recoveryMs },
    transports: ['websocket'],
  });
  const name = (io.of('/').adapter as unknown as { constructor: { name: string } }).constructor
    .name;
  if (name !== 'RedisStreamsAdapter')
    throw new Error(`Socket.IO is not on the Redis streams adapter (adapter ${name})`);
  const port = await listenHttp(http);
  return { io, url: `http://127.0.0.1:${port}`, port };
}
