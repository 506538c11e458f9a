/** Shared setup for the client's unit tests: a client on a fake socket and a manual clock. */
import { ResilientClient } from '../client.js';
import type { ClientEvents } from '../events.js';
import type { ClientOptions } from '../options.js';
import { fakeServer, type FakeServer, type FakeWebSocket } from './fake-websocket.js';
import { ManualClock } from './manual-clock.js';

export const WELCOME = {
  t: 'welcome',
  v: 1,
  sid: 's1',
  key: 'k1',
  epoch: 'e1',
  resumed: false,
  recovered: false,
  reason: 'new_session',
  last: 0,
  hb: 25_000,
} as const;

export const msg = (seq: number, data: unknown = `m${seq}`): Record<string, unknown> => ({
  t: 'msg',
  seq,
  data,
});

/** Lets queued microtasks (the batched writes of `send`) run. */
export const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export interface EventLog {
  /** Every event in order, as [name, payload]. */
  all: [keyof ClientEvents, unknown][];
  of<K extends keyof ClientEvents>(name: K): ClientEvents[K][];
}

export function recordEvents(client: ResilientClient): EventLog {
  const all: [keyof ClientEvents, unknown][] = [];
  const names = [
    'open',
    'message',
    'resumed',
    'gap',
    'reconnecting',
    'sessionEnded',
    'sessionLost',
    'close',
    'error',
  ] as const;
  for (const name of names) client.on(name, (payload) => all.push([name, payload]));
  return {
    all,
    of: <K extends keyof ClientEvents>(name: K) =>
      all.filter(([n]) => n === name).map(([, p]) => p as ClientEvents[K]),
  };
}

export interface Harness {
  client: ResilientClient;
  clock: ManualClock;
  server: FakeServer;
  events: EventLog;
}

/** A client (not yet connected) with a fake socket, a manual clock, random 0.5 and ids c1, c2… */
export function setup(options: ClientOptions = {}, server = fakeServer()): Harness {
  const clock = new ManualClock();
  const client = new ResilientClient('ws://server.test/ws', {
    WebSocket: server.WebSocket,
    clock,
    random: () => 0.5,
    idPrefix: 'c',
    ...options,
  });
  return { client, clock, server, events: recordEvents(client) };
}

/** Plays the server's side of the handshake on `sock`. */
export function welcome(sock: FakeWebSocket, overrides: Record<string, unknown> = {}): void {
  sock.accept();
  sock.receive({ ...WELCOME, ...overrides });
}

/** connect() and complete the handshake; returns the socket. */
export function connected(h: Harness, overrides: Record<string, unknown> = {}): FakeWebSocket {
  h.client.connect();
  const sock = h.server.last();
  welcome(sock, overrides);
  return sock;
}
