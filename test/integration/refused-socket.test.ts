/**
 * Regression: a socket refused after the upgrade (draining, subprotocol; the connection
 * limits refuse before it, with an HTTP error: admission.test.ts)
 * still reads until the peer's close; a protocol error from it (invalid UTF-8) must not crash
 * the server (an 'error' event without a listener would).
 */
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient, within, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => {
  uncaught.push(e);
};
afterEach(() => {
  process.off('uncaughtException', onUncaught);
});

it('a refused connection (unsupported subprotocol) that sends invalid UTF-8 does not crash the server', async () => {
  process.on('uncaughtException', onUncaught);
  const { server, info } = await startServer();
  const first = await RawClient.connect(info.url);
  const w = (await first.hello()) as Frame & { sid: string };
  expect(server.connectionCount).toBe(1);

  // The header is given as is, so that `ws` opens although the server answers without a
  // subprotocol (it refuses the socket after the upgrade, with 1008).
  const ws = new WebSocket(info.url, { headers: { 'sec-websocket-protocol': 'other' } });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const sent = new Promise<Error | undefined>((resolve) =>
    ws.once('open', () => {
      // Text frame with invalid UTF-8: the server's receiver fails with 1007. It leaves
      // before the client reads the server's close frame (that one is read after 'open').
      ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false }, (e) => resolve(e ?? undefined));
    }),
  );
  expect(await within(sent, 5000, 'the invalid frame to be written')).toBeUndefined();
  // Precondition: the socket really was refused (not served, not failed for another reason).
  expect(await within(closed, 5000, 'the refusal')).toEqual({
    code: 1008,
    reason: 'unsupported subprotocol; use rws.v1',
  });
  // The server lives on: the first client still gets its messages.
  await server.send(w.sid, 'still serving');
  expect(await first.next((f) => f.t === 'msg')).toMatchObject({ seq: 1, data: 'still serving' });
  expect(server.connectionCount).toBe(1);
  expect(uncaught.map((e) => String(e))).toEqual([]); // without the early 'error' listener: ['Error: Invalid WebSocket frame: invalid UTF-8 sequence']
  first.close();
});
