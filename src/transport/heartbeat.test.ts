/**
 * The one heartbeat timer, driven by a ManualClock over a Hub with fake transports.
 * Options: interval 1000 ms, timeout 500 ms, hello timeout 2000 ms, so the timer ticks
 * every 125 ms.
 */
import { describe, expect, it } from 'vitest';
import { HubHarness, type HarnessOptions } from '../session/test-support/hub-harness.js';
import type { FakeTransport } from '../session/test-support/fake-transport.js';
import { heartbeatTick, startHeartbeat, type HeartbeatOptions } from './heartbeat.js';

const OPTIONS: HeartbeatOptions = { intervalMs: 1000, timeoutMs: 500, helloTimeoutMs: 2000 };

function setup(options: HarnessOptions = {}) {
  const h = new HubHarness(options);
  const timer = startHeartbeat(h.hub, h.clock, OPTIONS);
  /** Move time forward tick by tick, ending each event-loop turn as a real server would. */
  const elapse = async (ms: number, each?: () => void): Promise<void> => {
    const step = heartbeatTick(OPTIONS);
    for (let done = 0; done < ms; done += step) {
      h.clock.advance(Math.min(step, ms - done));
      each?.();
      await h.settle();
    }
  };
  return { h, timer, elapse };
}

const pings = (t: FakeTransport): number => t.framesOf('ping').length;

describe('heartbeatTick', () => {
  it('is a quarter of the shortest deadline, between 5 ms and 1 s', () => {
    expect(heartbeatTick(OPTIONS)).toBe(125);
    expect(heartbeatTick({ intervalMs: 25_000, timeoutMs: 10_000, helloTimeoutMs: 10_000 })).toBe(
      1000,
    );
    expect(heartbeatTick({ intervalMs: 8, timeoutMs: 8, helloTimeoutMs: 8 })).toBe(5);
  });
});

describe('startHeartbeat', () => {
  it('uses one timer for any number of connections', async () => {
    const { h, elapse } = setup();
    expect(h.clock.pendingTimers).toBe(1);
    const clients = await Promise.all(Array.from({ length: 100 }, () => h.session()));
    expect(h.clock.pendingTimers).toBe(1);
    await elapse(1000, () => {
      for (const c of clients) c.t.peerSends({ t: 'pong' });
    });
    expect(h.clock.pendingTimers).toBe(1);
    for (const c of clients) expect(pings(c.t)).toBe(1);
  });

  it('writes at most pingsPerTurn pings in one turn; the rest of the tick follow in the next turns', async () => {
    const h = new HubHarness();
    startHeartbeat(h.hub, h.clock, { ...OPTIONS, pingsPerTurn: 10 });
    const clients = await Promise.all(Array.from({ length: 25 }, () => h.session()));
    for (const c of clients) c.t.take();
    // Every connection's ping is due at the tick of 875 ms; the tick of 1000 ms comes while
    // they are still being written (no turn between): it pings nobody twice.
    h.clock.advance(1000);
    h.hub.scheduler.run(); // the turn's writes reach the transports
    expect(clients.filter((c) => pings(c.t) === 1)).toHaveLength(10);
    await h.settle();
    for (const c of clients) expect(pings(c.t)).toBe(1);
  });

  it('cancelling it also stops the pings of a tick still being written', async () => {
    const h = new HubHarness();
    const timer = startHeartbeat(h.hub, h.clock, { ...OPTIONS, pingsPerTurn: 10 });
    const clients = await Promise.all(Array.from({ length: 25 }, () => h.session()));
    for (const c of clients) c.t.take();
    h.clock.advance(875); // every connection's ping is due: 10 now, the rest in later turns
    timer.cancel();
    await h.settle();
    expect(clients.filter((c) => pings(c.t) === 1)).toHaveLength(10);
  });

  it('cancelling the handle stops it', async () => {
    const { h, timer, elapse } = setup();
    const { t } = await h.session();
    timer.cancel();
    expect(h.clock.pendingTimers).toBe(0);
    await elapse(5000);
    expect(pings(t)).toBe(0);
    expect(t.closed).toBeUndefined();
  });

  it('pings at the last tick before an interval in which the server sent nothing is up', async () => {
    const { h, elapse } = setup();
    const { t } = await h.session();
    await elapse(750);
    expect(pings(t)).toBe(0);
    await elapse(125);
    expect(pings(t)).toBe(1);
    expect(t.messages.at(-1)).toBe('{"t":"ping"}');
  });

  it('pings before a peer that pings after an interval of its own silence (the SDK): it only answers', async () => {
    const { h, elapse } = setup();
    const { t } = await h.session();
    // The peer answers each ping and pings once it has sent nothing for an interval, counted
    // from its last frame, as the SDK does; it never gets to ping, so each interval costs
    // one exchange, at the server's tick.
    let lastOut = h.clock.now();
    let answered = 0;
    let peerPings = 0;
    await elapse(10_000, () => {
      const now = h.clock.now();
      if (pings(t) > answered) {
        answered = pings(t);
        t.peerSends({ t: 'pong' });
        lastOut = now;
      } else if (now - lastOut >= 1000) {
        t.peerSends({ t: 'ping' });
        peerPings++;
        lastOut = now;
      }
    });
    expect(peerPings).toBe(0);
    // One ping every interval − tick (875 ms): at most interval / (interval − tick) per interval.
    expect(pings(t)).toBe(Math.floor(10_000 / 875));
    expect(t.closed).toBeUndefined();
  });

  it('does not ping while the server keeps sending', async () => {
    const { h, elapse } = setup();
    const { t, sid } = await h.session();
    for (let i = 0; i < 6; i++) {
      await elapse(500);
      await h.hub.send(sid, i);
      t.peerSends({ t: 'ack', seq: i + 1 });
      await h.settle();
    }
    expect(pings(t)).toBe(0);
    expect(t.closed).toBeUndefined();
  });

  it('closes 4000 after interval + timeout without any frame from the peer', async () => {
    const { h, elapse } = setup();
    const timeouts = h.record('heartbeatTimeout');
    const { t, sid } = await h.session();
    await elapse(1375);
    expect(t.closed).toBeUndefined();
    expect(pings(t)).toBe(1);
    await elapse(125);
    expect(t.closed).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    expect(timeouts).toEqual([{ sid }]);
  });

  it('what the server sends does not count as activity from the peer', async () => {
    const { h, elapse } = setup();
    const { t, sid } = await h.session();
    for (let i = 0; i < 3; i++) {
      await elapse(500);
      await h.hub.send(sid, i);
      await h.settle();
    }
    expect(t.closed?.code).toBe(4000);
  });

  it('any frame from the peer keeps the connection open', async () => {
    const { h, elapse } = setup();
    const { t } = await h.session();
    const frames: string[] = ['{"t":"pong"}', '{"t":"ping"}', '{"t":"ack","seq":0}', 'not json'];
    for (const text of frames) {
      await elapse(1250);
      t.peerSendsRaw(text);
      await h.settle();
    }
    expect(t.closed).toBeUndefined();
    await elapse(1500);
    expect(t.closed?.code).toBe(4000);
  });

  it('a connection timed out detaches its session when its close completes', async () => {
    const { h, elapse } = setup();
    const { t, sid } = await h.session();
    await elapse(1500);
    expect(t.closed?.code).toBe(4000);
    t.fireClose();
    await h.settle();
    expect(await h.store.getSession(sid)).toMatchObject({ attached: false });
  });

  it('closes 4501 with hello_timeout a connection that sent no hello in time', async () => {
    const { h, elapse } = setup();
    const errors = h.record('frameError');
    const t = h.connect();
    await elapse(1875);
    expect(t.closed).toBeUndefined();
    await elapse(125);
    expect(t.frames).toEqual([
      { t: 'error', code: 'hello_timeout', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4501);
    expect(errors).toEqual([{ sid: undefined, code: 'hello_timeout' }]);
  });

  it('a hello in time is not timed out, and a silent pre-hello connection is not pinged', async () => {
    const { h, elapse } = setup();
    const late = h.connect();
    const early = h.connect();
    await elapse(1000);
    expect(pings(late)).toBe(0);
    early.peerSends({ t: 'hello', v: 1 });
    await h.settle();
    await elapse(1250);
    expect(early.welcome.resumed).toBe(false);
    expect(early.closed).toBeUndefined();
    expect(late.closed?.code).toBe(4501);
  });

  it('closes 4003 with unavailable a connection whose hello the store did not answer in time', async () => {
    // An authentication (or store) call that never answers.
    const { h, elapse } = setup({ hub: { authenticate: () => new Promise<boolean>(() => {}) } });
    const t = h.connect();
    await elapse(500);
    t.peerSends({ t: 'hello', v: 1 });
    await elapse(1875);
    expect(t.closed).toBeUndefined();
    await elapse(125);
    expect(t.frames).toEqual([
      { t: 'error', code: 'unavailable', message: expect.any(String) as string },
    ]);
    expect(t.closed?.code).toBe(4003);
  });
});
