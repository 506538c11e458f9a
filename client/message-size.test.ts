/**
 * Regression: one oversized send cannot get the client closed with 1009 (terminal, which
 * would reject every other pending send). A `msg` frame whose UTF-8 size is over
 * `options.maxMessageBytes` (default 1 MiB, the server's default `maxFrame`) is refused at
 * once with `message_too_large` and never reaches the socket; batches of frames stay within
 * the bound too.
 */
import { expect, it } from 'vitest';
import { ResilientClient } from './client.js';
import { isClientError } from './errors.js';
import { connected, setup, tick } from './test-support/harness.js';

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  const error: unknown = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  return isClientError(error) ? error.code : error;
}

/** The size of the frame `send(data)` makes with id c<n>. */
const frameBytes = (data: string, n = 1): number =>
  new TextEncoder().encode(JSON.stringify({ t: 'msg', id: `c${n}`, data })).length;

it('rejects a send over maxMessageBytes at once; it never reaches the socket and the client goes on', async () => {
  const h = setup({ maxMessageBytes: 1000 });
  const sock = connected(h);
  const big = h.client.send('x'.repeat(1000));
  const small = h.client.send('small');
  const error: unknown = await big.catch((e: unknown) => e);
  expect(isClientError(error) && error.code).toBe('message_too_large');
  expect(isClientError(error) && error.details).toEqual({
    id: 'c1',
    bytes: frameBytes('x'.repeat(1000)),
    max: 1000,
  });
  await tick();
  expect(sock.framesOf('msg')).toEqual([{ t: 'msg', id: 'c2', data: 'small' }]);
  sock.receive({ t: 'ok', id: 'c2', data: 'fine' });
  await expect(small).resolves.toBe('fine');
  expect(h.client.state).toBe('open');
});

it('counts UTF-8 bytes, not characters, and accepts a frame of exactly maxMessageBytes', async () => {
  const data = 'é'.repeat(100); // 200 bytes of UTF-8 in 100 characters
  const exact = frameBytes(data);
  const h = setup({ maxMessageBytes: exact });
  const sock = connected(h);
  void h.client.send(data).catch(() => undefined);
  await tick();
  expect(sock.framesOf('msg')).toHaveLength(1);
  // One byte more (c2 has the same length as c1) is too much.
  expect(await codeOf(h.client.send(`${data}x`))).toBe('message_too_large');
  // Far fewer characters than bytes: the length alone does not decide.
  expect(await codeOf(h.client.send('€'.repeat(Math.ceil(exact / 3))))).toBe('message_too_large');
});

it('also refuses an oversized send while disconnected (it is never queued)', async () => {
  const h = setup({ maxMessageBytes: 100 });
  expect(await codeOf(h.client.send('y'.repeat(200)))).toBe('message_too_large');
  const sock = connected(h);
  await tick();
  expect(sock.framesOf('msg')).toEqual([]);
});

it('defaults to 1 MiB', async () => {
  const h = setup();
  const sock = connected(h);
  const overhead = frameBytes('');
  void h.client.send('a'.repeat(1_048_576 - overhead)).catch(() => undefined);
  expect(await codeOf(h.client.send('a'.repeat(1_048_576)))).toBe('message_too_large');
  await tick();
  expect(sock.framesOf('msg')).toHaveLength(1);
});

it('keeps batches of several frames within maxMessageBytes', async () => {
  const h = setup({ maxMessageBytes: 3000 });
  const sock = connected(h);
  // Each frame is under the bound, but five of them together (about 5 × 1.9 KB) are not.
  for (let i = 0; i < 5; i++) void h.client.send('€'.repeat(600)).catch(() => undefined);
  await tick();
  expect(sock.framesOf('msg')).toHaveLength(5);
  const sizes = sock.sent.map((m) => new TextEncoder().encode(m).length);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(3000);
});

it('validates maxMessageBytes like the other options', () => {
  const bad = (value: unknown): string => {
    try {
      new ResilientClient('ws://x', { maxMessageBytes: value as number });
    } catch (error) {
      return isClientError(error) ? `${error.code}: ${error.message}` : String(error);
    }
    return 'no error';
  };
  expect(bad(0)).toBe('invalid_option: options.maxMessageBytes must be an integer >= 1, got 0');
  expect(bad(1.5)).toMatch(/options\.maxMessageBytes/);
  expect(bad('1000')).toMatch(/options\.maxMessageBytes/);
  expect(bad(Infinity)).toMatch(/options\.maxMessageBytes/);
  expect(bad(64 * 1024)).toBe('no error');
});
