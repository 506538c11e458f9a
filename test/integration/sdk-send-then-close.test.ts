/**
 * Regression (SDK + server): `client.send(x); await client.close()` — the server handles and
 * answers x before it forgets the session on `bye`, so the send resolves.
 */
import { expect, it } from 'vitest';
import { ResilientClient } from '../../client/index.js';
import { startServer } from '../support/server.js';

it('a send immediately followed by close() is handled and answered', async () => {
  const seen: unknown[] = [];
  const { info } = await startServer({
    onMessage: (m) => {
      seen.push(m.data);
      return 'ok';
    },
  });
  const client = new ResilientClient(info.url, { backoff: { baseMs: 5, capMs: 20 } });
  await new Promise<void>((resolve) => {
    client.on('open', () => resolve());
    client.connect();
  });
  const p = client.send('last words').then(
    (v) => `ok ${String(v)}`,
    (e: unknown) => `rejected ${(e as Error).message}`,
  );
  await client.close();
  const outcome = await p;
  // The bug was seen = [] (the server forgot the session on bye before running the handler).
  expect({ seen, outcome }).toEqual({ seen: ['last words'], outcome: 'ok ok' });
});
