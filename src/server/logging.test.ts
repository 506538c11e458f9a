import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { RwsError } from '../errors.js';
import { Emitter } from '../events.js';
import {
  REDACT_MAX_DEPTH,
  attachLogger,
  createLogger,
  logRequest,
  redactSecrets,
  requestId,
} from './logging.js';

const SECRETS = ['resume-key-5f1e', 'hello-token-9a2b', 'Bearer admin-tok-77c3', 'sess=cookie-41d'];

function capture(level = 'trace', format: 'json' | 'pretty' = 'json') {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level, format, destination });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, text: () => chunks.join(''), lines };
}

function request(
  headers: Record<string, string>,
  url = '/api/sessions/s1/messages',
): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.url = url;
  req.headers = headers;
  return req;
}

describe('createLogger', () => {
  it('writes JSON lines with the service name and the level', () => {
    const { log, lines } = capture('info');
    log.info({ sid: 's1' }, 'hello');
    log.debug('not at info');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 30, service: 'resilient-ws', sid: 's1', msg: 'hello' }),
    ]);
  });

  it('never writes keys, tokens, cookies or Authorization headers, even at trace', () => {
    const { log, text, lines } = capture('trace');
    const hello = {
      t: 'hello',
      v: 1,
      token: SECRETS[1],
      resume: { sid: 's1', key: SECRETS[0], ack: 3 },
    };
    log.trace({ frame: hello }, 'hello frame');
    log.trace({ resume: hello.resume, key: SECRETS[0] }, 'resume');
    log.trace({ token: SECRETS[1], adminToken: SECRETS[2] }, 'tokens');
    const req = request({ authorization: SECRETS[2]!, cookie: SECRETS[3]!, 'x-request-id': 'r-1' });
    log.trace({ req }, 'request object');
    log.trace({ headers: req.headers }, 'raw headers');
    log.trace({ http: { headers: req.headers } }, 'nested headers');
    log.trace({ err: Object.assign(new Error('boom'), { token: SECRETS[1] }) }, 'error');
    for (const secret of SECRETS) expect(text()).not.toContain(secret.replace('Bearer ', ''));
    expect(lines()[0]).toMatchObject({
      frame: { resume: { sid: 's1', key: '[redacted]', ack: 3 } },
    });
    expect(lines()[3]).toMatchObject({
      req: { id: 'r-1', method: 'POST', path: '/api/sessions/s1/messages' },
    });
  });

  it('logs a request path without its query string (it may carry a token)', () => {
    const { log, text } = capture('trace');
    log.trace({ req: request({}, '/ws?token=query-secret-1') }, 'upgrade');
    expect(text()).toContain('"path":"/ws"');
    expect(text()).not.toContain('query-secret-1');
  });

  it('pretty format writes readable lines, redacted too', () => {
    const { log, text } = capture('info', 'pretty');
    log.info({ sid: 's9', key: SECRETS[0] }, 'pretty hello');
    expect(text()).toContain('pretty hello');
    expect(text()).toContain('s9');
    expect(text()).not.toContain(SECRETS[0]);
    expect(text().trimStart().startsWith('{')).toBe(false);
  });
});

describe('requestId', () => {
  it('honours a safe x-request-id, and returns the same id for the same request', () => {
    const req = request({ 'x-request-id': 'abc-123_x.y:z' });
    expect(requestId(req)).toBe('abc-123_x.y:z');
    expect(requestId(req)).toBe('abc-123_x.y:z');
  });

  it.each([['a'.repeat(129)], ['has space'], ['line\nbreak'], ['"quoted"'], ['']])(
    'replaces an unsafe or oversized header %j with a generated id',
    (header) => {
      const req = request({ 'x-request-id': header });
      const id = requestId(req);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(requestId(req)).toBe(id);
    },
  );

  it('generates distinct ids when there is no header', () => {
    expect(requestId(request({}))).not.toBe(requestId(request({})));
  });
});

describe('logRequest', () => {
  it('writes one debug line with id, method, path, status and duration', () => {
    const { log, lines } = capture('debug');
    const req = request({ 'x-request-id': 'rq-9', authorization: SECRETS[2]! }, '/api/x?token=t');
    logRequest(log, req, 202, 3.5);
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 20,
        reqId: 'rq-9',
        method: 'POST',
        path: '/api/x',
        status: 202,
        ms: 3.5,
        msg: 'http request',
      }),
    ]);
    expect(JSON.stringify(lines())).not.toContain('admin-tok');
  });

  it('writes nothing at info', () => {
    const { log, lines } = capture('info');
    logRequest(log, request({}), 200, 1);
    expect(lines()).toEqual([]);
  });
});

describe('attachLogger', () => {
  const resume = (sid: string): CoreEvents['resume'] => ({
    sid,
    resumed: true,
    recovered: false,
    reason: 'gap',
    missing: 2,
    replayed: 0,
  });

  it('logs nothing per message at info, and session ids as fields', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('info');
    attachLogger(events, log, { clock: new ManualClock() });
    events.emit('send', { sid: 's1', seq: 1, bytes: 10 });
    events.emit('ack', { sid: 's1', seq: 1, removed: 1, latencyMs: 1 });
    events.emit('message', { sid: 's1', id: 'm1', data: { secret: 1 } });
    events.emit('clientMessage', { sid: 's1', id: 'm1', dup: false, ok: true });
    events.emit('upstream', { outcome: 'ok', status: 200, attempts: 1, durationMs: 3 });
    events.emit('session', { sid: 's1', resumed: false });
    expect(lines()).toEqual([]);
    events.emit('resume', resume('s1'));
    expect(lines()).toEqual([
      expect.objectContaining({ level: 30, sid: 's1', reason: 'gap', msg: 'partial resume' }),
    ]);
  });

  it('logs per-message events only at trace, with ids and never data', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('trace');
    attachLogger(events, log, { clock: new ManualClock() });
    events.emit('send', { sid: 's1', seq: 7, bytes: 10 });
    events.emit('message', { sid: 's1', id: 'm1', data: { card: '4111' } });
    expect(lines()).toEqual([expect.objectContaining({ sid: 's1', seq: 7, msg: 'send' })]);
  });

  it('rate-limits repeated warnings and reports how many were suppressed', () => {
    const events = new Emitter<CoreEvents>();
    const clock = new ManualClock();
    const { log, lines } = capture('info');
    const attached = attachLogger(events, log, { clock, repeatWindowMs: 10_000 });
    for (let i = 0; i < 100; i++)
      events.emit('upstream', {
        outcome: 'timeout',
        status: undefined,
        attempts: 3,
        durationMs: 10,
      });
    events.emit('upstream', { outcome: 'failed', status: 502, attempts: 3, durationMs: 10 });
    expect(lines().map((l) => [l.outcome, l.repeated])).toEqual([
      ['timeout', undefined],
      ['failed', undefined],
    ]);
    clock.advance(10_000);
    expect(lines()[2]).toMatchObject({ level: 40, outcome: 'timeout', repeated: 99 });
    events.emit('frameError', { sid: 's2', code: 'bad_frame' });
    events.emit('frameError', { sid: 's3', code: 'bad_frame' });
    attached.detach();
    expect(lines().slice(3)).toEqual([
      expect.objectContaining({ sid: 's2', code: 'bad_frame', msg: 'frame refused' }),
      expect.objectContaining({ sid: 's3', repeated: 1 }),
    ]);
    events.emit('frameError', { sid: 's4', code: 'bad_frame' });
    expect(lines()).toHaveLength(5);
  });

  it('warns when a breaker opens and logs errors with their where', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('info');
    attachLogger(events, log, { clock: new ManualClock() });
    events.emit('breaker', { name: 'upstream', from: 'closed', to: 'open', reason: 'failures' });
    events.emit('breaker', { name: 'upstream', from: 'open', to: 'half_open', reason: 'timer' });
    events.emit('error', { where: 'sweeper', error: new Error('store down') });
    events.emit('shutdown', { timeoutMs: 1000 });
    expect(lines().map((l) => [l.level, l.msg])).toEqual([
      [40, 'circuit breaker state changed'],
      [30, 'circuit breaker state changed'],
      [50, 'background operation failed'],
      [30, 'shutdown started'],
    ]);
    expect(lines()[2]).toMatchObject({ where: 'sweeper', err: { message: 'store down' } });
  });
});

describe('log sampling (attachLogger with sample)', () => {
  type Line = Record<string, unknown> & { sampled?: { every: number; suppressed: number } };
  const accounted = (lines: Line[]) => lines.reduce((n, l) => n + 1 + l.sampled!.suppressed, 0);

  it('samples the debug lines of a configured kind, 1 in N, with the suppressed count', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('debug');
    const attached = attachLogger(events, log, {
      clock: new ManualClock(),
      sample: { session: 10 },
    });
    for (let i = 0; i < 25; i++) events.emit('session', { sid: `s${i}`, resumed: false });
    events.emit('disconnect', { sid: 's0', code: 1000, reason: '' });
    expect(lines().map((l) => [l.msg, l.sid, l.sampled])).toEqual([
      ['session attached', 's0', { every: 10, suppressed: 0 }],
      ['session attached', 's10', { every: 10, suppressed: 9 }],
      ['session attached', 's20', { every: 10, suppressed: 9 }],
      ['connection closed', 's0', undefined],
    ]);
    attached.detach();
    const attachedLines = lines().filter((l) => l.msg === 'session attached') as Line[];
    expect(attachedLines.at(-1)).toMatchObject({ sid: 's24', sampled: { suppressed: 3 } });
    expect(accounted(attachedLines)).toBe(25);
  });

  // drop and upstream write debug lines (dead-lettered, rejected) and warnings (overflow,
  // failed calls) under one kind: sampling the kind thins the debug lines only.
  it('never samples the warnings of a sampled kind: every one is written or counted in repeated', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('debug');
    const attached = attachLogger(events, log, {
      clock: new ManualClock(),
      sample: { drop: 3, upstream: 3 },
    });
    for (let i = 0; i < 10; i++) {
      events.emit('drop', { sid: `s${i}`, reason: 'ttl', count: 1 });
      events.emit('drop', { sid: `s${i}`, reason: 'overflow', count: 1 });
      events.emit('upstream', { outcome: 'rejected', status: 422, attempts: 1, durationMs: 1 });
      events.emit('upstream', { outcome: 'failed', status: 502, attempts: 3, durationMs: 1 });
    }
    attached.detach();
    const all = lines() as Line[];
    for (const msg of ['outbox overflow', 'upstream call failed']) {
      const warns = all.filter((l) => l.msg === msg);
      expect(warns.every((l) => l.level === 40 && l.sampled === undefined)).toBe(true);
      expect(warns.reduce((n, l) => n + ((l.repeated as number | undefined) ?? 1), 0)).toBe(10);
    }
    for (const msg of ['messages dead-lettered', 'upstream rejected a message']) {
      const routine = all.filter((l) => l.msg === msg);
      expect(routine.map((l) => l.sampled!.suppressed)).toEqual([0, 2, 2, 2]);
      expect(accounted(routine)).toBe(10);
    }
  });

  it('samples per-message trace lines and HTTP request lines (logRequest of the attached logger)', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('trace');
    const attached = attachLogger(events, log, {
      clock: new ManualClock(),
      sample: { send: 100, httpRequest: 2 },
    });
    for (let seq = 1; seq <= 150; seq++) events.emit('send', { sid: 's1', seq, bytes: 1 });
    for (let i = 0; i < 3; i++) attached.logRequest(request({}), 202, 1);
    expect(lines().map((l) => [l.msg, l.seq, l.sampled])).toEqual([
      ['send', 1, { every: 100, suppressed: 0 }],
      ['send', 101, { every: 100, suppressed: 99 }],
      ['http request', undefined, { every: 2, suppressed: 0 }],
      ['http request', undefined, { every: 2, suppressed: 1 }],
    ]);
    attached.detach();
    expect(lines().at(-1)).toMatchObject({ msg: 'send', seq: 150, sampled: { suppressed: 48 } });
  });

  it('writes a count that no line carried after a window, at most two windows late', () => {
    const events = new Emitter<CoreEvents>();
    const clock = new ManualClock();
    const { log, lines } = capture('debug');
    attachLogger(events, log, { clock, repeatWindowMs: 10_000, sample: { end: 50 } });
    for (let i = 0; i < 4; i++) events.emit('end', { sid: `s${i}`, by: 'bye' });
    expect(lines()).toHaveLength(1);
    clock.advance(20_000);
    expect(lines().map((l) => [l.sid, l.sampled])).toEqual([
      ['s0', { every: 50, suppressed: 0 }],
      ['s3', { every: 50, suppressed: 2 }],
    ]);
  });

  it('without sample, lines are as they were: no sampled field', () => {
    const events = new Emitter<CoreEvents>();
    const { log, lines } = capture('debug');
    const attached = attachLogger(events, log, { clock: new ManualClock() });
    for (let i = 0; i < 3; i++) events.emit('session', { sid: `s${i}`, resumed: true });
    attached.logRequest(request({}), 200, 1);
    expect(lines().map((l) => [l.msg, l.sampled])).toEqual([
      ['session attached', undefined],
      ['session attached', undefined],
      ['session attached', undefined],
      ['http request', undefined],
    ]);
  });
});

describe('breaker state changes', () => {
  const breaker = (events: Emitter<CoreEvents>) => (from: string, to: string, reason: string) =>
    events.emit('breaker', { name: 'upstream', from, to, reason });

  // Breaker lines used to be rate-limited by breaker and target state: a transition back to a
  // state seen in the last 10 s was held back, then written later as a `repeated` line
  // carrying that old state, after the line of the current one.
  it('are never rate-limited: the last breaker line states the current state', () => {
    const events = new Emitter<CoreEvents>();
    const clock = new ManualClock();
    const { log, lines } = capture('info');
    const attached = attachLogger(events, log, { clock, repeatWindowMs: 10_000 });
    const change = breaker(events);
    change('closed', 'open', 'failures');
    clock.advance(1000);
    change('open', 'half_open', 'open_elapsed');
    change('half_open', 'open', 'probe_failed');
    clock.advance(1000);
    change('open', 'half_open', 'open_elapsed');
    change('half_open', 'closed', 'probes_succeeded');
    clock.advance(30_000);
    attached.detach();
    const breakerLines = lines().filter((l) => l.msg === 'circuit breaker state changed');
    expect(breakerLines.map((l) => [l.level, l.from, l.to, l.repeated])).toEqual([
      [40, 'closed', 'open', undefined],
      [30, 'open', 'half_open', undefined],
      [40, 'half_open', 'open', undefined],
      [30, 'open', 'half_open', undefined],
      [30, 'half_open', 'closed', undefined],
    ]);
  });

  it('a breaker re-opening within the window is logged when it happens', () => {
    const events = new Emitter<CoreEvents>();
    const clock = new ManualClock();
    const { log, lines } = capture('info');
    attachLogger(events, log, { clock, repeatWindowMs: 10_000 });
    const change = breaker(events);
    change('closed', 'open', 'failures');
    clock.advance(1000);
    change('open', 'half_open', 'open_elapsed');
    change('half_open', 'open', 'probe_failed');
    expect(lines().at(-1)).toMatchObject({ level: 40, from: 'half_open', to: 'open' });
  });
});

describe('redaction at any depth', () => {
  // Redaction used to stop at `*.*.key`: an error whose details carried a hello frame
  // (err.details.frame.resume.key, err.details.frame.token) wrote both in clear.
  it('redacts a resume key and a token inside an error reported by the error event', () => {
    const events = new Emitter<CoreEvents>();
    const { log, text, lines } = capture('info');
    attachLogger(events, log, { clock: new ManualClock() });
    const frame = {
      t: 'hello',
      v: 1,
      token: 'hello-token-deep-1',
      resume: { sid: 's1', key: 'resume-key-deep-2', ack: 0 },
    };
    events.emit('error', {
      where: 'handshake',
      error: new RwsError('internal', 'hello failed', { details: { frame } }),
    });
    expect(text()).not.toContain('resume-key-deep-2');
    expect(text()).not.toContain('hello-token-deep-1');
    expect(lines()[0]).toMatchObject({
      msg: 'background operation failed',
      where: 'handshake',
      err: {
        message: 'hello failed',
        details: {
          frame: { t: 'hello', token: '[redacted]', resume: { sid: 's1', key: '[redacted]' } },
        },
      },
    });
  });

  it('redacts secret fields however deep and whatever their case, in objects, arrays and errors', () => {
    const { log, text, lines } = capture('info');
    const deep = { a: { b: { c: { d: { e: { Authorization: 'deep-auth-1', ok: 1 } } } } } };
    log.info(
      {
        deep,
        list: [{ x: [{ PASSWORD: 'deep-pass-2' }] }],
        error: Object.assign(new Error('nested'), {
          details: { headers: { Cookie: 'deep-cookie-3', 'X-Admin-Token': 'deep-admin-4' } },
        }),
        wrapped: {
          cause: new RwsError('internal', 'inner', { details: { adminToken: 'deep-5' } }),
        },
      },
      'deep',
    );
    log.info({ err: new Error('top', { cause: { apiKey: 'kept', Key: 'deep-key-6' } }) }, 'cause');
    for (const secret of ['deep-auth-1', 'deep-pass-2', 'deep-cookie-3', 'deep-admin-4', 'deep-5'])
      expect(text()).not.toContain(secret);
    expect(text()).not.toContain('deep-key-6');
    expect(lines()[0]).toMatchObject({
      deep: { a: { b: { c: { d: { e: { Authorization: '[redacted]', ok: 1 } } } } } },
      list: [{ x: [{ PASSWORD: '[redacted]' }] }],
      error: { type: 'Error', message: 'nested', details: { headers: { Cookie: '[redacted]' } } },
      wrapped: { cause: { type: 'RwsError', message: 'inner' } },
    });
  });

  it('never writes what lies below the depth bound, and survives cycles', () => {
    let nested: Record<string, unknown> = { token: 'too-deep-token' };
    for (let i = 0; i < REDACT_MAX_DEPTH + 5; i++) nested = { next: nested };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const { log, text, lines } = capture('info');
    log.info({ nested, cyclic }, 'bounded');
    expect(text()).not.toContain('too-deep-token');
    expect(text()).toContain('[too deep]');
    expect(lines()[0]).toMatchObject({ cyclic: { name: 'loop', self: '[circular]' } });
  });

  it('leaves the logged objects themselves untouched', () => {
    const frame = { token: 'caller-token', when: new Date(0) };
    const copy = redactSecrets({ frame }) as { frame: Record<string, unknown> };
    expect(copy.frame).toEqual({ token: '[redacted]', when: new Date(0) });
    expect(frame.token).toBe('caller-token');
  });
});
