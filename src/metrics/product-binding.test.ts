import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { bindProductMetrics, type StoreFigures } from './product-binding.js';
import { PRODUCT_METRICS } from './product-metrics.js';
import { Registry } from './registry.js';

function setup() {
  const clock = new ManualClock(1_700_000_000_000);
  const events = new Emitter<CoreEvents>();
  const registry = new Registry({ clock });
  const state = {
    connections: 0,
    attached: 0,
    store: undefined as StoreFigures | undefined,
    dlq: 0,
    dlqEvicted: 0,
    dlqBytes: undefined as number | undefined,
    breakers: [] as Array<{ name: string; state: string }>,
    sent: { messages: 0, bytes: 0 },
  };
  const off = bindProductMetrics(registry, events, {
    connections: () => state.connections,
    attachedSessions: () => state.attached,
    store: () => state.store,
    dlqSize: () => state.dlq,
    dlqEvicted: () => state.dlqEvicted,
    dlqBytes: () => state.dlqBytes,
    breakers: () => state.breakers,
    sent: () => state.sent,
    now: () => clock.now(),
  });
  /** value of `name` with these label values (histograms: their count). */
  const value = (name: string, ...labels: string[]): number | undefined => {
    const f = registry.collect().find((x) => x.name === name);
    return f?.series.find((s) => s.labelValues.join() === labels.join())?.value;
  };
  const sum = (name: string): number | undefined =>
    registry.collect().find((x) => x.name === name)?.series[0]?.sum;
  return { clock, events, registry, state, off, value, sum };
}

const sid = 's1';

describe('product metrics', () => {
  it('registers every metric of the reference table', () => {
    const { registry } = setup();
    const names = registry.collect().map((f) => f.name);
    for (const m of Object.values(PRODUCT_METRICS)) expect(names).toContain(m.name);
  });

  it.each<[string, (e: Emitter<CoreEvents>) => void, string, string[], number]>([
    [
      'connection',
      (e) => e.emit('connection', { remote: '1.2.3.4' }),
      'rws_connections_accepted_total',
      [],
      1,
    ],
    [
      'disconnect',
      (e) => e.emit('disconnect', { sid, code: 1000, reason: '' }),
      'rws_disconnects_total',
      [],
      1,
    ],
    [
      'send latency (sampled sendTiming)',
      (e) => e.emit('sendTiming', { durationMs: 0.01 }),
      'rws_send_duration_seconds',
      [],
      1,
    ],
    [
      'ack',
      (e) => e.emit('ack', { sid, seq: 3, removed: 3, latencyMs: 20 }),
      'rws_messages_acked_total',
      [],
      3,
    ],
    [
      'ack latency',
      (e) => e.emit('ack', { sid, seq: 3, removed: 3, latencyMs: 20 }),
      'rws_ack_latency_seconds',
      [],
      1,
    ],
    [
      'ack latency unknown',
      (e) => e.emit('ack', { sid, seq: 3, removed: 3, latencyMs: undefined }),
      'rws_ack_latency_seconds',
      [],
      0,
    ],
    [
      'replay',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: true,
          recovered: true,
          reason: undefined,
          missing: 0,
          replayed: 4,
        }),
      'rws_messages_replayed_total',
      [],
      4,
    ],
    [
      'resume recovered',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: true,
          recovered: true,
          reason: undefined,
          missing: 0,
          replayed: 0,
        }),
      'rws_resumes_total',
      ['recovered'],
      1,
    ],
    [
      'resume gap',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: true,
          recovered: false,
          reason: 'gap',
          missing: 2,
          replayed: 0,
        }),
      'rws_resumes_total',
      ['gap'],
      1,
    ],
    [
      'resume epoch',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: true,
          recovered: false,
          reason: 'epoch_changed',
          missing: 0,
          replayed: 0,
        }),
      'rws_resumes_total',
      ['epoch_changed'],
      1,
    ],
    [
      'resume unknown',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: false,
          recovered: false,
          reason: 'unknown_session',
          missing: 0,
          replayed: 0,
        }),
      'rws_resumes_total',
      ['unknown_session'],
      1,
    ],
    [
      'new session',
      (e) =>
        e.emit('resume', {
          sid,
          resumed: false,
          recovered: false,
          reason: 'new_session',
          missing: 0,
          replayed: 0,
        }),
      'rws_resumes_total',
      ['new_session'],
      1,
    ],
    [
      'drop overflow',
      (e) => e.emit('drop', { sid, reason: 'overflow', count: 2 }),
      'rws_messages_dropped_total',
      ['overflow'],
      2,
    ],
    [
      'drop ttl',
      (e) => e.emit('drop', { sid, reason: 'ttl', count: 1 }),
      'rws_messages_dropped_total',
      ['ttl'],
      1,
    ],
    [
      'drop reaped',
      (e) => e.emit('drop', { sid, reason: 'session_reaped', count: 5 }),
      'rws_messages_dropped_total',
      ['session_reaped'],
      5,
    ],
    [
      'drop closed',
      (e) => e.emit('drop', { sid, reason: 'session_closed', count: 1 }),
      'rws_messages_dropped_total',
      ['session_closed'],
      1,
    ],
    ['expire', (e) => e.emit('expire', { sid, count: 3 }), 'rws_messages_expired_total', [], 3],
    [
      'client ok',
      (e) => e.emit('clientMessage', { sid, id: 'm', dup: false, ok: true }),
      'rws_client_messages_total',
      ['ok'],
      1,
    ],
    [
      'client nack',
      (e) => e.emit('clientMessage', { sid, id: 'm', dup: false, ok: false }),
      'rws_client_messages_total',
      ['nack'],
      1,
    ],
    [
      'client dup',
      (e) => e.emit('clientMessage', { sid, id: 'm', dup: true, ok: true }),
      'rws_client_messages_total',
      ['duplicate'],
      1,
    ],
    [
      'dedup inbound',
      (e) => e.emit('clientMessage', { sid, id: 'm', dup: true, ok: true }),
      'rws_dedup_hits_total',
      ['inbound'],
      1,
    ],
    [
      'dedup outbound',
      (e) => e.emit('duplicateSend', { sid, id: 'i', seq: 1 }),
      'rws_dedup_hits_total',
      ['outbound'],
      1,
    ],
    [
      'heartbeat',
      (e) => e.emit('heartbeatTimeout', { sid }),
      'rws_heartbeat_timeouts_total',
      [],
      1,
    ],
    ['reap', (e) => e.emit('reap', { sid, leftover: 2 }), 'rws_sessions_reaped_total', [], 1],
    ['end', (e) => e.emit('end', { sid, by: 'bye' }), 'rws_sessions_ended_total', ['bye'], 1],
    [
      'breaker',
      (e) =>
        e.emit('breaker', { name: 'upstream', from: 'closed', to: 'open', reason: 'failures' }),
      'rws_breaker_transitions_total',
      ['upstream', 'open'],
      1,
    ],
    [
      'upstream',
      (e) =>
        e.emit('upstream', {
          outcome: 'timeout',
          status: undefined,
          attempts: 3,
          durationMs: 1500,
        }),
      'rws_upstream_requests_total',
      ['timeout'],
      1,
    ],
    [
      'upstream attempts',
      (e) => e.emit('upstream', { outcome: 'ok', status: 200, attempts: 3, durationMs: 15 }),
      'rws_upstream_attempts_total',
      [],
      3,
    ],
    [
      'upstream latency',
      (e) => e.emit('upstream', { outcome: 'ok', status: 200, attempts: 1, durationMs: 15 }),
      'rws_upstream_request_duration_seconds',
      [],
      1,
    ],
    [
      'frame error',
      (e) => e.emit('frameError', { sid, code: 'bad_frame' }),
      'rws_frame_errors_total',
      ['bad_frame'],
      1,
    ],
    [
      'background error',
      (e) => e.emit('error', { where: 'sweep', error: new Error('x') }),
      'rws_background_errors_total',
      ['sweep'],
      1,
    ],
  ])('%s moves its metric', (_name, fire, metric, labels, expected) => {
    const { events, value } = setup();
    const before = value(metric, ...labels) ?? 0;
    fire(events);
    expect((value(metric, ...labels) ?? 0) - before).toBe(expected);
  });

  it('histograms record in base units (seconds)', () => {
    const { events, sum } = setup();
    events.emit('ack', { sid, seq: 1, removed: 1, latencyMs: 250 });
    events.emit('sendTiming', { durationMs: 2 });
    events.emit('upstream', { outcome: 'ok', status: 200, attempts: 1, durationMs: 1500 });
    expect(sum('rws_ack_latency_seconds')).toBeCloseTo(0.25);
    expect(sum('rws_send_duration_seconds')).toBeCloseTo(0.002);
    expect(sum('rws_upstream_request_duration_seconds')).toBeCloseTo(1.5);
  });

  it('sends are counted from the outbox totals at scrape time, not by a per-send event', () => {
    const { events, state, value } = setup();
    expect(events.has('send')).toBe(false);
    state.sent = { messages: 42, bytes: 4200 };
    expect(value('rws_messages_sent_total')).toBe(42);
    expect(value('rws_messages_sent_bytes_total')).toBe(4200);
  });

  it('gauges read the server state at scrape time', () => {
    const { clock, state, value } = setup();
    expect(value('rws_outbox_messages')).toBeUndefined(); // store not read yet: no sample
    state.connections = 3;
    state.attached = 2;
    state.dlq = 7;
    state.dlqEvicted = 3;
    expect(value('rws_dlq_bytes')).toBeUndefined(); // the store did not tell: no sample
    state.dlqBytes = 2048;
    state.store = { sessions: 5, messages: 40, bytes: 4000, oldestAt: clock.now() };
    state.breakers = [{ name: 'upstream', state: 'half_open' }];
    clock.advance(1500);
    expect(value('rws_connections')).toBe(3);
    expect(value('rws_sessions', 'attached')).toBe(2);
    expect(value('rws_sessions', 'detached')).toBe(3);
    expect(value('rws_outbox_messages')).toBe(40);
    expect(value('rws_outbox_bytes')).toBe(4000);
    expect(value('rws_outbox_oldest_message_age_seconds')).toBe(1.5);
    expect(value('rws_dlq_messages')).toBe(7);
    expect(value('rws_dlq_evicted_total')).toBe(3);
    expect(value('rws_dlq_bytes')).toBe(2048);
    expect(value('rws_breaker_state', 'upstream', 'half_open')).toBe(1);
    expect(value('rws_breaker_state', 'upstream', 'closed')).toBe(0);
    state.store = { sessions: 1, messages: 0, bytes: 0, oldestAt: undefined };
    expect(value('rws_outbox_oldest_message_age_seconds')).toBe(0);
    expect(value('rws_sessions', 'detached')).toBe(0); // clamped, never negative
  });

  it('unsubscribes: after off() events move nothing and the emitter has no listeners', () => {
    const { events, off, value } = setup();
    off();
    events.emit('sendTiming', { durationMs: 0.01 });
    expect(value('rws_send_duration_seconds')).toBe(0);
    for (const e of ['send', 'sendTiming', 'ack', 'drop', 'connection', 'resume', 'error'] as const)
      expect(events.has(e)).toBe(false);
  });

  it('per-session values never become label values: many sessions, one series each', () => {
    const { events, registry } = setup();
    for (let i = 0; i < 1000; i++) {
      const s = `session-${i}`;
      events.emit('ack', { sid: s, seq: 1, removed: 1, latencyMs: 1 });
      events.emit('drop', { sid: s, reason: 'ttl', count: 1 });
      events.emit('frameError', { sid: s, code: 'bad_frame' });
    }
    const text = JSON.stringify(registry.collect());
    expect(text).not.toContain('session-');
  });
});
