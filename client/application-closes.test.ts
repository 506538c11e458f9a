/**
 * Close codes reserved for applications (docs/protocol.md §11): the SDK treats them by the
 * range they sit in. 4400–4499: reconnect and resume, unanswered sends go out again.
 * 4900–4999: stop for good, pending sends reject with `closed_<code>`, the session is kept
 * (as after 1008: the application, not the key, ended this connection).
 */
import { describe, expect, it } from 'vitest';
import { isClientError } from './errors.js';
import { connected, msg, setup, tick, welcome } from './test-support/harness.js';

describe('application close codes', () => {
  it.each([4400, 4450, 4499])(
    'reconnects and resumes after %i, resending what was not answered',
    async (code) => {
      const h = setup();
      const first = connected(h);
      first.receive(msg(1));
      const pending = h.client.send('x');
      await tick();
      first.serverClose(code, 'app says retry');
      expect(h.events.of('close')).toEqual([]);
      expect(h.events.of('reconnecting')).toMatchObject([
        { attempt: 1, lastCloseCode: code, reason: 'app says retry' },
      ]);
      h.clock.advance(250);
      expect(h.server.sockets).toHaveLength(2);
      const second = h.server.last();
      second.accept();
      expect(second.framesOf('hello')).toEqual([
        { t: 'hello', v: 1, resume: { sid: 's1', key: 'k1', ack: 1 } },
      ]);
      welcome(second, { resumed: true, recovered: true, reason: undefined, last: 1 });
      expect(second.framesOf('msg')).toEqual([{ t: 'msg', id: 'c1', data: 'x' }]);
      second.receive({ t: 'ok', id: 'c1', data: 'done' });
      await expect(pending).resolves.toBe('done');
    },
  );

  it.each([4900, 4950, 4999])(
    'stops for good after %i, rejects pending sends and keeps the session',
    async (code) => {
      const h = setup();
      const sock = connected(h);
      const pending = h.client.send('x');
      await tick();
      sock.serverClose(code, 'app says stop');
      expect(h.events.of('close')).toEqual([
        { code, reason: 'app says stop', willReconnect: false },
      ]);
      expect(h.client.state).toBe('closed');
      const error: unknown = await pending.catch((e: unknown) => e);
      expect(isClientError(error) && error.code).toBe(`closed_${code}`);
      expect(h.client.session).toEqual({ sid: 's1', key: 'k1', ack: 0 });
      h.clock.advance(60_000);
      expect(h.server.sockets).toHaveLength(1);
    },
  );
});
