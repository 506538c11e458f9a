/**
 * The event log on its own (an emitter and a manual clock): which core events become which
 * entries, the bounded ring and its `evicted` count, `list` filters (after, types, sid,
 * limit: the newest, newest last), `since` and its missed count, and no listener on the
 * send path.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { EventLog } from './event-log.js';

function setup(capacity?: number) {
  const events = new Emitter<CoreEvents>();
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const log = new EventLog(events, clock, capacity);
  return { events, clock, log };
}

const resume = (sid: string, recovered: boolean, missing = 0): CoreEvents['resume'] => ({
  sid,
  resumed: true,
  recovered,
  reason: recovered ? undefined : 'gap',
  missing,
  replayed: 2,
});

describe('EventLog', () => {
  it('logs the notable core events as entries with increasing ids and ISO times', () => {
    const { events, clock, log } = setup();
    events.emit('resume', resume('s1', true));
    clock.advance(1500);
    events.emit('resume', resume('s2', false, 3));
    events.emit('resume', {
      sid: 's3',
      resumed: true,
      recovered: false,
      reason: 'epoch_changed',
      missing: 0,
      replayed: 0,
    });
    events.emit('breaker', { name: 'upstream', from: 'closed', to: 'open', reason: 'failures' });
    events.emit('drop', { sid: 's1', reason: 'overflow', count: 4 });
    events.emit('drop', { sid: 's1', reason: 'ttl', count: 2 });
    events.emit('reap', { sid: 's4', leftover: 7 });
    events.emit('takeover', { sid: 's1', node: 'node-b' });
    events.emit('end', { sid: 's2', by: 'admin' });
    events.emit('heartbeatTimeout', { sid: 's5' });
    events.emit('heartbeatTimeout', { sid: undefined });
    const T = '2026-01-01T12:00:01.500Z';
    expect(log.list({ limit: 100 })).toEqual([
      {
        id: 1,
        at: '2026-01-01T12:00:00.000Z',
        type: 'resume',
        sid: 's1',
        detail: { recovered: true, missing: 0, replayed: 2 },
      },
      {
        id: 2,
        at: '2026-01-01T12:00:01.500Z',
        type: 'gap',
        sid: 's2',
        detail: { recovered: false, reason: 'gap', missing: 3, replayed: 2 },
      },
      {
        id: 3,
        at: '2026-01-01T12:00:01.500Z',
        type: 'gap',
        sid: 's3',
        detail: { recovered: false, reason: 'epoch_changed', missing: 0, replayed: 0 },
      },
      {
        id: 4,
        at: '2026-01-01T12:00:01.500Z',
        type: 'breaker',
        detail: { name: 'upstream', from: 'closed', to: 'open', reason: 'failures' },
      },
      { id: 5, at: T, type: 'overflow', sid: 's1', detail: { count: 4 } },
      { id: 6, at: T, type: 'expired', sid: 's1', detail: { count: 2 } },
      { id: 7, at: T, type: 'reap', sid: 's4', detail: { leftover: 7 } },
      { id: 8, at: T, type: 'takeover', sid: 's1', detail: { node: 'node-b' } },
      { id: 9, at: T, type: 'end', sid: 's2', detail: { by: 'admin' } },
      { id: 10, at: T, type: 'heartbeat_timeout', sid: 's5', detail: {} },
      { id: 11, at: T, type: 'heartbeat_timeout', detail: {} },
    ]);
    expect(log.lastId).toBe(11);
  });

  it('leaves out new sessions, other drops and everything on the send path', () => {
    const { events, log } = setup();
    events.emit('resume', {
      sid: 'n',
      resumed: false,
      recovered: false,
      reason: 'new_session',
      missing: 0,
      replayed: 0,
    });
    events.emit('drop', { sid: 's', reason: 'session_reaped', count: 1 });
    events.emit('drop', { sid: 's', reason: 'session_closed', count: 1 });
    events.emit('expire', { sid: 's', count: 1 }); // also a drop with reason ttl: logged once there
    expect(log.list({ limit: 10 })).toEqual([]);
    // Not listening: the core skips building these events at all.
    expect(events.has('send')).toBe(false);
    expect(events.has('ack')).toBe(false);
    expect(events.has('sendTiming')).toBe(false);
    log.close();
    expect(events.has('resume')).toBe(false);
    events.emit('reap', { sid: 's', leftover: 0 });
    expect(log.lastId).toBe(0);
  });

  it('is a bounded ring: the oldest entries are pushed out and counted in evicted', () => {
    const { log } = setup(5);
    for (let i = 1; i <= 12; i++) log.add('reap', `s${i}`, { leftover: i });
    expect(log.length).toBe(5);
    expect(log.evicted).toBe(7);
    expect(log.list({ limit: 100 }).map((e) => e.id)).toEqual([8, 9, 10, 11, 12]);
    expect(log.list({ limit: 2 }).map((e) => e.id)).toEqual([11, 12]);
  });

  it('filters by after, types and sid, and answers the newest `limit` matches, newest last', () => {
    const { log } = setup();
    for (let i = 1; i <= 10; i++) log.add(i % 2 === 0 ? 'reap' : 'end', `s${i % 3}`, {});
    expect(log.list({ after: 7, limit: 100 }).map((e) => e.id)).toEqual([8, 9, 10]);
    expect(log.list({ types: ['reap'], limit: 3 }).map((e) => e.id)).toEqual([6, 8, 10]);
    expect(log.list({ types: ['reap', 'end'], limit: 100 })).toHaveLength(10);
    expect(log.list({ sid: 's1', limit: 100 }).map((e) => e.id)).toEqual([1, 4, 7, 10]);
    expect(log.list({ sid: 's1', types: ['end'], after: 1, limit: 100 }).map((e) => e.id)).toEqual([
      7,
    ]);
    expect(log.list({ types: ['gap'], limit: 100 })).toEqual([]);
    expect(log.list({ after: 10, limit: 100 })).toEqual([]);
  });

  it('since(id, max): the entries after id, at most max (the newest), and how many were missed', () => {
    const { log } = setup(8);
    expect(log.since(0, 3)).toEqual({ events: [], missed: 0 });
    for (let i = 0; i < 4; i++) log.add('reap', 's', {});
    expect(log.since(1, 100)).toMatchObject({
      events: [{ id: 2 }, { id: 3 }, { id: 4 }],
      missed: 0,
    });
    expect(log.since(0, 3)).toMatchObject({ events: [{ id: 2 }, { id: 3 }, { id: 4 }], missed: 1 });
    expect(log.since(4, 3)).toEqual({ events: [], missed: 0 });
    // Entries already pushed out of the ring count as missed too.
    for (let i = 0; i < 10; i++) log.add('reap', 's', {});
    const { events, missed } = log.since(2, 100);
    expect(events.map((e) => e.id)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
    expect(missed).toBe(4);
  });
});
