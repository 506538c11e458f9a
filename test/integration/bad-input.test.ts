/**
 * Hostile and broken input through a real server on port 0 (issue 13, part 4): raw WebSocket
 * clients send what no good client sends, and each gets the answer docs/protocol.md and
 * docs/security.md "Hostile input" document (the table there is this file's cases). After
 * every case the server is healthy (/healthz, a new client gets its welcome and its answer),
 * and a bystander session, connected throughout, has received every message sent to it, in
 * order, and still gets its own client messages answered.
 */
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ResilientClient } from '../../client/index.js';
import { createServer, type ListenInfo, type RwsServer } from '../../src/index.js';
import { RawClient, eventually, sleep, within, type Frame } from '../support/raw-client.js';

type Welcome = Frame & { sid: string; key: string; last: number };

/** The limits of the shared server, small enough to reach in a test. */
const LIMITS = {
  maxFrame: 64 * 1024,
  maxBadFrames: 16,
  maxJsonDepth: 32,
  clientRate: 50,
  clientBurst: 10,
  clientRateMaxWait: 1000,
  // Above clientBurst: a burst that passes the rate fits in the queue.
  maxPendingClientMessages: 12,
  helloTimeout: 500,
  maxConnections: 24,
  maxConnectionsPerIp: 8,
  // Client IPs come from X-Forwarded-For, so one test can be many addresses.
  trustProxyHops: 1,
};

/** While set, a message with data `{hold: true}` waits for it (to fill the pending queue). */
let gate: Promise<void> | undefined;

/** What the handler saw, in the order it ran (`{seq: n}` messages only). */
const handled: number[] = [];

/** The handler: echoes (a `{hold: true}` after the gate opens). */
async function handler({ data }: { data: unknown }): Promise<unknown> {
  if (typeof data === 'object' && data !== null && (data as { hold?: unknown }).hold === true)
    await gate;
  if (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { seq?: unknown }).seq === 'number'
  )
    handled.push((data as { seq: number }).seq);
  return { echo: data };
}

const ip = (n: number) => ({ 'x-forwarded-for': `10.0.0.${n}` });
let nextIp = 100;
/** A client IP no other test uses. */
const freshIp = () => ip(nextIp++);

/**
 * A session connected from before the first case to after the last. Every 20 ms the server
 * sends it a stored message; `check` waits for all of them, in order and without holes,
 * acks them, and has it send a client message of its own.
 */
class Bystander {
  private sent = 0;
  private asked = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;

  private constructor(
    private readonly server: RwsServer,
    readonly client: RawClient,
    readonly sid: string,
  ) {}

  static async start(server: RwsServer, info: ListenInfo): Promise<Bystander> {
    const client = await RawClient.connect(info.url, 'rws.v1', ip(1));
    const w = (await client.hello()) as Welcome;
    const b = new Bystander(server, client, w.sid);
    b.timer = setInterval(() => {
      const n = ++b.sent;
      b.server.send(b.sid, { n }).catch((e: unknown) => (b.failure ??= e));
    }, 20);
    return b;
  }

  async check(): Promise<void> {
    expect(this.failure).toBeUndefined();
    const upTo = this.sent;
    await this.client.messagesUpTo(upTo, 5000);
    const msgs = this.client.msgs();
    expect(msgs.map((m) => m.seq)).toEqual(msgs.map((_, i) => i + 1));
    expect(msgs.map((m) => (m.data as { n: number }).n)).toEqual(msgs.map((_, i) => i + 1));
    this.client.send({ t: 'ack', seq: msgs.length });
    const id = `b${++this.asked}`;
    this.client.send({ t: 'msg', id, data: id });
    expect(await this.client.next((f) => f.t === 'ok' && f.id === id)).toEqual({
      t: 'ok',
      id,
      data: { echo: id },
    });
    expect(this.client.ws.readyState).toBe(WebSocket.OPEN);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.check();
    this.client.close();
  }
}

let server: RwsServer;
let info: ListenInfo;
let bystander: Bystander;
/** Raw clients a case opened: closed after it, so the connection limits start afresh. */
const opened: RawClient[] = [];

async function connect(headers: Record<string, string> = freshIp()): Promise<RawClient> {
  const c = await RawClient.connect(info.url, 'rws.v1', headers);
  opened.push(c);
  return c;
}

async function session(): Promise<{ c: RawClient; w: Welcome }> {
  const c = await connect();
  return { c, w: (await c.hello()) as Welcome };
}

/** The close code and the error frame sent with it. */
async function closedWith(c: RawClient): Promise<{ code: number; error: Frame | undefined }> {
  const { code } = await within(c.closed, 5000, 'the close');
  return { code, error: c.frames.filter((f) => f.t === 'error').at(-1) };
}

const error = (code: string) => ({ t: 'error', code, message: expect.any(String) as unknown });

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${info.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** /healthz answers, and a new client gets its welcome and its answer. */
async function expectHealthy(): Promise<void> {
  const health = await fetch(`${info.httpUrl}/healthz`);
  expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
  const c = await RawClient.connect(info.url, 'rws.v1', ip(2));
  try {
    expect(await c.hello()).toMatchObject({ t: 'welcome', resumed: false });
    c.send({ t: 'msg', id: 'h', data: 'hi' });
    expect(await c.next((f) => f.t === 'ok')).toEqual({ t: 'ok', id: 'h', data: { echo: 'hi' } });
  } finally {
    c.close();
    await c.closed;
  }
}

beforeAll(async () => {
  server = createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    onMessage: handler,
    // `user:<name>` is that user; no token, no user (every other case here).
    authenticate: (hello) =>
      hello.token?.startsWith('user:') === true ? { user: hello.token.slice(5) } : true,
    ...LIMITS,
  });
  info = await server.listen();
  bystander = await Bystander.start(server, info);
});

afterEach(async () => {
  for (const c of opened.splice(0)) {
    c.destroy();
    await c.closed;
  }
  await eventually(() => server.connectionCount === 1, 5000, 'only the bystander left');
  await expectHealthy();
  await bystander.check();
});

afterAll(async () => {
  await bystander.stop();
  await server.close();
});

describe('frames that are not text JSON', () => {
  it('a binary message is decoded as UTF-8 and handled like text', async () => {
    const c = await connect();
    c.sendRaw(Buffer.from(JSON.stringify({ t: 'hello', v: 1 })));
    expect(await c.next((f) => f.t === 'welcome')).toMatchObject({ resumed: false });
    c.sendRaw(Buffer.from(JSON.stringify({ t: 'msg', id: 'b1', data: 'bin' })));
    expect(await c.next((f) => f.t === 'ok')).toEqual({ t: 'ok', id: 'b1', data: { echo: 'bin' } });
  });

  it('a binary message with invalid UTF-8: replacement characters, then the usual checks', async () => {
    const { c } = await session();
    const head = Buffer.from('{"t":"msg","id":"u1","data":"');
    c.sendRaw(Buffer.concat([head, Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
    expect(await c.next((f) => f.t === 'ok')).toEqual({
      t: 'ok',
      id: 'u1',
      data: { echo: '\ufffd\ufffd' },
    });
    c.sendRaw(Buffer.from([0xc3, 0x28, 0xff]));
    expect(await c.next((f) => f.t === 'error')).toEqual(error('bad_frame'));
  });

  it('a text message with invalid UTF-8 is closed by the WebSocket layer with 1007', async () => {
    const { c } = await session();
    c.ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect((await within(c.closed, 5000, 'the close')).code).toBe(1007);
  });

  it('not JSON, not an object, no t, an unknown t, an empty message: errors, the connection stays', async () => {
    const { c } = await session();
    for (const text of ['{nope', '[1,2]', '"msg"', '{"x":1}', '{"t":"subscribe"}', '', '\n\n'])
      c.sendRaw(text);
    c.send({ t: 'ping' });
    await c.next((f) => f.t === 'pong');
    expect(c.frames.filter((f) => f.t === 'error').map((f) => f.code)).toEqual([
      'bad_frame',
      'bad_frame',
      'bad_frame',
      'bad_frame',
      'unknown_type',
      'bad_frame',
      'bad_frame',
    ]);
  });

  it('a message over maxFrame is closed with 1009; the session can be resumed', async () => {
    const { c, w } = await session();
    c.sendRaw(JSON.stringify({ t: 'msg', id: 'big', data: 'x'.repeat(LIMITS.maxFrame) }));
    expect((await within(c.closed, 5000, 'the close')).code).toBe(1009);
    const again = await connect();
    expect(await again.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: true,
      recovered: true,
    });
  });
});

describe('ids', () => {
  it('a msg id over 128 characters, up to the frame limit: bad_frame, the connection stays', async () => {
    const { c } = await session();
    c.send({ t: 'msg', id: 'i'.repeat(129), data: 1 });
    c.send({ t: 'msg', id: 'i'.repeat(60 * 1024), data: 1 });
    c.send({ t: 'msg', id: '', data: 1 });
    c.send({ t: 'msg', id: 42, data: 1 });
    c.send({ t: 'msg', id: 'fine', data: 1 });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'fine' });
    const errors = c.frames.filter((f) => f.t === 'error');
    expect(errors).toEqual(Array.from({ length: 4 }, () => error('bad_frame')));
    expect(errors[0]!.message).toContain('1-128 characters');
  });

  it('a resume sid or key over 128 characters: hello_required, 4501', async () => {
    for (const resume of [
      { sid: 's'.repeat(129), key: 'k', ack: 0 },
      { sid: 's', key: 'k'.repeat(40 * 1024), ack: 0 },
    ]) {
      const c = await connect();
      c.send({ t: 'hello', v: 1, resume });
      expect(await closedWith(c)).toEqual({ code: 4501, error: error('hello_required') });
      expect(c.frames.find((f) => f.t === 'error')!.message).toContain('1-128 characters');
    }
  });

  it('a resume of a sid that never existed gets a new session, not an error', async () => {
    const c = await connect();
    expect(await c.hello({ sid: 'no-such-sid', key: 'k', ack: 0 })).toMatchObject({
      resumed: false,
      reason: 'unknown_session',
    });
  });

  it('HTTP: a sid over 128 characters in a path or a query: 400 bad_request', async () => {
    const long = 's'.repeat(129);
    for (const [method, path] of [
      ['GET', `/api/sessions/${long}`],
      ['DELETE', `/api/sessions/${long}`],
      ['POST', `/api/sessions/${long}/messages`],
      ['GET', `/api/dlq?sid=${long}`],
      ['GET', `/api/events?sid=${long}`],
    ] as const) {
      const res = await fetch(`${info.httpUrl}${path}`, {
        method,
        ...(method === 'POST'
          ? { headers: { 'content-type': 'application/json' }, body: '{"data":1}' }
          : {}),
      });
      expect([method, path.slice(0, 20), res.status, await res.json()]).toEqual([
        method,
        path.slice(0, 20),
        400,
        { error: { code: 'bad_request', message: expect.stringContaining('128') as unknown } },
      ]);
    }
  });
});

describe('deep JSON', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const msgText = (id: string, data: string) => `{"t":"msg","id":"${id}","data":${data}}`;

  it('msg data nested maxJsonDepth levels is handled; deeper gets nack too_deep', async () => {
    const before = await metric('rws_client_messages_refused_total', 'code="too_deep"');
    const { c } = await session();
    c.sendRaw(msgText('at', deep(32)));
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({ id: 'at' });
    c.sendRaw(msgText('over', deep(33)));
    // 30 000 levels: far deeper than any recursion could go.
    c.sendRaw(msgText('far', deep(30_000)));
    const nacks = [await c.next((f) => f.t === 'nack'), await c.next((f) => f.t === 'nack')];
    expect(nacks).toEqual(
      ['over', 'far'].map((id) => ({
        t: 'nack',
        id,
        code: 'too_deep',
        message: expect.stringContaining('32 levels') as unknown,
        retryable: false,
      })),
    );
    expect(await metric('rws_client_messages_refused_total', 'code="too_deep"')).toBe(before + 2);
  });

  it('deep unknown fields of other frames are dropped like any unknown field', async () => {
    const { c } = await session();
    c.sendRaw(`{"t":"ping","x":${deep(30_000)}}`);
    expect(await c.next((f) => f.t === 'pong')).toEqual({ t: 'pong' });
    c.sendRaw(`{"t":"hello","v":1,"x":${deep(30_000)}}`);
    expect(await c.next((f) => f.t === 'error')).toEqual(error('bad_frame'));
  });

  it('HTTP: a deep publish body is refused with 400 bad_data', async () => {
    const res = await fetch(`${info.httpUrl}/api/sessions/${bystander.sid}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"data":${deep(30_000)}}`,
    });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'bad_data',
    ]);
  });
});

describe('acks', () => {
  it('negative, fractional, string, unsafe or missing seq: bad_frame, the connection stays', async () => {
    const { c } = await session();
    for (const seq of [-1, 1.5, '1', 2 ** 53, null]) c.send({ t: 'ack', seq });
    c.send({ t: 'ack' });
    c.send({ t: 'ping' });
    await c.next((f) => f.t === 'pong');
    expect(c.frames.filter((f) => f.t === 'error')).toEqual(
      Array.from({ length: 6 }, () => error('bad_frame')),
    );
  });

  it('a live ack beyond last: bad_ack, the connection stays and the outbox is unchanged', async () => {
    const { c, w } = await session();
    await server.send(w.sid, 'one');
    await c.next((f) => f.t === 'msg');
    c.send({ t: 'ack', seq: 5 });
    expect(await c.next((f) => f.t === 'error')).toEqual(error('bad_ack'));
    expect((await server.store.getSession(w.sid))?.depth).toBe(1);
    c.send({ t: 'ack', seq: 1 });
    await eventually(async () => (await server.store.getSession(w.sid))?.depth === 0);
  });

  it('a resume ack beyond last: bad_ack, 4501; the session still resumes correctly', async () => {
    const { c, w } = await session();
    c.destroy();
    await c.closed;
    const bad = await connect();
    bad.send({ t: 'hello', v: 1, resume: { sid: w.sid, key: w.key, ack: 99 } });
    expect(await closedWith(bad)).toEqual({ code: 4501, error: error('bad_ack') });
    const good = await connect();
    expect(await good.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: true,
      recovered: true,
    });
  });
});

describe('floods of frames', () => {
  it('more bad frames than maxBadFrames: each answered, then too_many_errors and 4501', async () => {
    const { c } = await session();
    c.sendRaw(Array.from({ length: 40 }, () => '{bad').join('\n'));
    expect(await closedWith(c)).toEqual({ code: 4501, error: error('too_many_errors') });
    expect(c.frames.filter((f) => f.t === 'error' && f.code === 'bad_frame')).toHaveLength(16);
  });

  it('a flood of hellos: the first gets welcome, each other one bad_frame, then 4501', async () => {
    const c = await connect();
    c.sendRaw(Array.from({ length: 30 }, () => '{"t":"hello","v":1}').join('\n'));
    expect(await closedWith(c)).toEqual({ code: 4501, error: error('too_many_errors') });
    expect(c.frames.filter((f) => f.t === 'welcome')).toHaveLength(1);
    expect(c.frames.filter((f) => f.t === 'error' && f.code === 'bad_frame')).toHaveLength(16);
  });

  it('more than 1000 frames between hello and welcome: too_many_frames, 4501', async () => {
    const c = await connect();
    const pings = Array.from({ length: 1001 }, () => '{"t":"ping"}');
    c.sendRaw(['{"t":"hello","v":1}', ...pings].join('\n'));
    expect(await closedWith(c)).toEqual({ code: 4501, error: error('too_many_frames') });
  });

  it('a flood of pings is answered, one pong each, and the connection stays', async () => {
    const { c } = await session();
    c.sendRaw(Array.from({ length: 5000 }, () => '{"t":"ping"}').join('\n'));
    await eventually(() => c.frames.filter((f) => f.t === 'pong').length === 5000, 5000, 'pongs');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('frames before hello: hello_required, 4501; no hello at all: hello_timeout, 4501', async () => {
    const early = await connect();
    early.send({ t: 'msg', id: 'm', data: 1 });
    expect(await closedWith(early)).toEqual({ code: 4501, error: error('hello_required') });
    const silent = await connect();
    expect(await closedWith(silent)).toEqual({ code: 4501, error: error('hello_timeout') });
  });
});

describe('client message limits', () => {
  it('over the rate: nack rate_limited with growing retryAfterMs; retried when told, handled', async () => {
    const before = await metric('rws_client_messages_refused_total', 'code="rate_limited"');
    const { c } = await session();
    const n = LIMITS.clientBurst + 5;
    c.sendRaw(
      Array.from({ length: n }, (_, i) => `{"t":"msg","id":"r${i}","data":${i}}`).join('\n'),
    );
    await eventually(() => c.frames.filter((f) => f.t === 'ok' || f.t === 'nack').length === n);
    const nacks = c.frames.filter((f) => f.t === 'nack');
    expect(nacks.map((f) => [f.id, f.code, f.retryable])).toEqual(
      [10, 11, 12, 13, 14].map((i) => [`r${i}`, 'rate_limited', true]),
    );
    // One interval (1/50 s) apart, the first within one interval.
    const waits = nacks.map((f) => f.retryAfterMs as number);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(20);
    for (let i = 1; i < waits.length; i++) expect(waits[i]! - waits[i - 1]!).toBeCloseTo(20, -1);
    expect(await metric('rws_client_messages_refused_total', 'code="rate_limited"')).toBe(
      before + 5,
    );
    // Each retried at its time is handled.
    for (const f of nacks) {
      await sleep(f.retryAfterMs as number);
      c.send({ t: 'msg', id: f.id, data: 'again' });
    }
    await eventually(() => c.frames.filter((f) => f.t === 'ok').length === n, 5000, 'oks');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a client that keeps sending past its rate after nacks: error rate_limited, 4003', async () => {
    const before = await metric('rws_frame_errors_total', 'code="rate_limited"');
    const { c, w } = await session();
    // 1000 ms of promised waits at 50/s is 50 refusals; send more, and keep sending.
    for (let round = 0; round < 10 && c.ws.readyState === WebSocket.OPEN; round++) {
      c.sendRaw(
        Array.from({ length: 40 }, (_, i) => `{"t":"msg","id":"f${round}-${i}","data":1}`).join(
          '\n',
        ),
      );
      await sleep(50);
    }
    expect(await closedWith(c)).toEqual({ code: 4003, error: error('rate_limited') });
    expect(await metric('rws_frame_errors_total', 'code="rate_limited"')).toBe(before + 1);
    // 4003 is retryable: the session resumes.
    const again = await connect();
    expect(await again.hello({ sid: w.sid, key: w.key, ack: 0 })).toMatchObject({
      resumed: true,
    });
  });

  it('the SDK honours retryAfterMs: a burst over the rate all gets through, in order, no close', async () => {
    // Its own backoff would wait 20 s and more before a retry; the server asks for ~20 ms.
    const client = new ResilientClient(info.url, { backoff: { baseMs: 20_000, capMs: 30_000 } });
    const closes: unknown[] = [];
    client.on('close', (e) => closes.push(e));
    client.connect();
    try {
      const started = Date.now();
      const n = 40;
      handled.length = 0;
      // Four waves of 10, 30 ms apart: later waves arrive while earlier refusals wait.
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        if (i > 0 && i % 10 === 0) await sleep(30);
        sends.push(client.send({ seq: i }));
      }
      const answers = await Promise.all(sends);
      expect(answers).toEqual(Array.from({ length: n }, (_, i) => ({ echo: { seq: i } })));
      // About 600 ms at 50/s; the SDK's own backoff would take minutes.
      expect(Date.now() - started).toBeLessThan(15_000);
      // Refused messages keep their place: the handler ran them in the order they were sent.
      expect(handled).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(closes).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('more than maxPendingClientMessages queued for a session: nack overloaded', async () => {
    const before = await metric('rws_client_messages_refused_total', 'code="overloaded"');
    let open = (): void => undefined;
    gate = new Promise((resolve) => (open = resolve));
    try {
      const { c } = await session();
      const held = (from: number, to: number) =>
        Array.from(
          { length: to - from },
          (_, i) => `{"t":"msg","id":"p${from + i}","data":{"hold":true}}`,
        ).join('\n');
      // The burst (10) passes the rate and waits behind the first; after 150 ms the rate has
      // room for 5 more, and the queue (12) for 2 of them.
      c.sendRaw(held(0, LIMITS.clientBurst));
      await sleep(150);
      c.sendRaw(held(LIMITS.clientBurst, LIMITS.clientBurst + 5));
      await eventually(() => c.frames.filter((f) => f.t === 'nack').length === 3, 5000, 'nacks');
      expect(c.frames.filter((f) => f.t === 'nack')).toEqual(
        ['p12', 'p13', 'p14'].map((id) => ({
          t: 'nack',
          id,
          code: 'overloaded',
          message: expect.stringContaining('maxPendingClientMessages') as unknown,
          retryable: true,
        })),
      );
      open();
      await eventually(() => c.frames.filter((f) => f.t === 'ok').length === 12, 5000, 'oks');
      expect(await metric('rws_client_messages_refused_total', 'code="overloaded"')).toBe(
        before + 3,
      );
    } finally {
      open();
      gate = undefined;
    }
  });

  it("another user's session: a resume with its sid and key gets a session of its own; the first is untouched", async () => {
    const alice = await connect();
    const aw = await alice.hello(undefined, { token: 'user:alice' });
    await server.send(String(aw.sid), 'for alice');
    await alice.next((f) => f.t === 'msg');
    alice.destroy();
    await eventually(() => !server.isAttached(String(aw.sid)), 2000, 'alice detached');
    await server.send(String(aw.sid), 'while away');
    const stolen = { sid: String(aw.sid), key: String(aw.key), ack: 0 };
    for (const token of ['user:mallory', undefined]) {
      const thief = await connect();
      const tw = await thief.hello(stolen, token === undefined ? {} : { token });
      expect(tw).toMatchObject({ resumed: false, reason: 'unknown_session' });
      expect(tw.sid).not.toBe(aw.sid);
      // Its messages go to its own session; nothing of alice's reaches it.
      thief.send({ t: 'msg', id: 'x', data: 'from mallory' });
      expect(await thief.next((f) => f.t === 'ok')).toMatchObject({ id: 'x' });
      expect(thief.msgs()).toEqual([]);
      thief.close();
    }
    expect(await server.store.getSession(String(aw.sid))).toMatchObject({
      user: 'alice',
      attached: false,
      depth: 2,
    });
    const back = await connect();
    expect(await back.hello({ ...stolen, ack: 1 }, { token: 'user:alice' })).toMatchObject({
      sid: aw.sid,
      resumed: true,
      recovered: true,
    });
    expect((await back.next((f) => f.t === 'msg')).data).toBe('while away');
    back.close();
  });
});

describe('floods of connections', () => {
  /** Opens /ws from `headers`: the socket, or the HTTP status that refused it. */
  function attempt(headers: Record<string, string>): Promise<WebSocket | number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(info.url, 'rws.v1', { headers });
      ws.on('error', () => undefined);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
  }

  async function flood(headers: () => Record<string, string>, max: number) {
    const open: WebSocket[] = [];
    let refused: number | undefined;
    for (let i = 0; i < max && refused === undefined; i++) {
      const r = await attempt(headers());
      if (typeof r === 'number') refused = r;
      else open.push(r);
    }
    return { open, refused };
  }

  async function closeAll(sockets: WebSocket[]): Promise<void> {
    await Promise.all(
      sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.terminate()))),
    );
  }

  it('from one IP past maxConnectionsPerIp: HTTP 429 too_many_connections_from_ip', async () => {
    const from = freshIp();
    const { open, refused } = await flood(() => from, 50);
    expect([open.length, refused]).toEqual([LIMITS.maxConnectionsPerIp, 429]);
    await bystander.check();
    await closeAll(open);
  });

  it('from many IPs past maxConnections: HTTP 503 too_many_connections', async () => {
    const { open, refused } = await flood(freshIp, 100);
    // The bystander holds one connection.
    expect([open.length + 1, refused]).toEqual([LIMITS.maxConnections, 503]);
    await bystander.check();
    await closeAll(open);
  });
});

describe('HTTP bodies', () => {
  it('a body that is not application/json: 415; over maxFrame: 413', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${info.httpUrl}/api/broadcast`,
          { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await post({}, '{"data":1}')).toBe(415);
    expect(await post({ 'content-type': 'text/plain' }, '{"data":1}')).toBe(415);
    const big = JSON.stringify({ data: 'x'.repeat(LIMITS.maxFrame) });
    expect(await post({ 'content-type': 'application/json' }, big)).toBe(413);
  });
});
