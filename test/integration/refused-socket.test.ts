/**
 * Regression: a socket refused after the upgrade (maxConnections, draining, subprotocol)
 * still reads until the peer's close; a protocol error from it (invalid UTF-8) must not crash
 * the server (an 'error' event without a listener would).
 */
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient, sleep } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => {
  uncaught.push(e);
};
afterEach(() => {
  process.off('uncaughtException', onUncaught);
});

it('a refused connection (maxConnections) that sends invalid UTF-8 does not crash the server', async () => {
  process.on('uncaughtException', onUncaught);
  const { info } = await startServer({ maxConnections: 1 });
  const first = await RawClient.connect(info.url);
  await first.hello();

  const ws = new WebSocket(info.url, 'rws.v1');
  ws.on('error', () => undefined);
  ws.on('open', () => {
    // Text frame with invalid UTF-8: the server's receiver fails with 1007.
    ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
  });
  await new Promise((r) => ws.once('close', r));
  await sleep(50);
  expect(uncaught.map((e) => String(e))).toEqual([]); // fails: [ 'Error: Invalid UTF-8 sequence' ] (unhandled 'error' event)
});
