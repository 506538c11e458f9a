/**
 * One time format across the admin API (docs/protocol.md §12, "Times and durations"): every
 * point in time is an ISO 8601 UTC string, every duration a whole number of ms in a field
 * named `…Ms`, and no field counts seconds. The answers of every admin route with a time in
 * them are walked, so a field added later in another format fails here. The `metrics` of
 * `/api/stats` are left out: they mirror `/metrics`, whose units are in the metric names.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { getJson, postJson, startServer } from '../support/server.js';

type Json = Record<string, unknown>;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Names of points in time: `at`, `…At`, `…Until`, `lastSeen`. */
const TIME = /^(at|lastSeen)$|At$|Until$/;

/** Every time and duration field under `value`, checked; answers `route.path` → field names. */
function walk(value: unknown, where: string, seen: Set<string>, problems: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${where}[${i}]`, seen, problems));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Json)) {
    const path = `${where}.${key}`;
    if (key === 'metrics' && !where.includes('.')) continue; // `/api/stats` metrics
    if (TIME.test(key)) {
      seen.add(key);
      // null: documented as "none yet" (a breaker's `openUntil` unless open, `lastChange`).
      if (v !== null && !(typeof v === 'string' && ISO_UTC.test(v)))
        problems.push(`${path} = ${JSON.stringify(v)}: not an ISO 8601 UTC time`);
    } else if (key.endsWith('Ms')) {
      seen.add(key);
      if (v !== null && !(typeof v === 'number' && Number.isInteger(v) && v >= 0))
        problems.push(`${path} = ${JSON.stringify(v)}: not a whole number of ms`);
    } else if (/seconds?$/i.test(key) && !/PerSecond$/.test(key)) {
      problems.push(`${path}: a duration in seconds (the admin API counts ms, "…Ms")`);
    }
    walk(v, path, seen, problems);
  }
}

/** The first `data:` event of the stats stream. */
async function firstStreamEvent(url: string): Promise<Json> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before its first event');
      text += new TextDecoder().decode(value);
      const m = /^data: (.*)$/m.exec(text);
      if (m !== null && text.includes('\n\n', m.index)) return JSON.parse(m[1]!) as Json;
    }
  } finally {
    controller.abort();
  }
}

describe('admin API times', () => {
  it('every time is ISO 8601 UTC and every duration whole ms (`…Ms`), on every route', async () => {
    const { info } = await startServer({
      outboxMax: 1,
      overflow: 'drop-oldest',
      // An upstream that refuses connections: the first client message opens the breaker.
      upstreamUrl: 'http://127.0.0.1:9/none',
      upstreamRetries: 0,
      breakerFailureThreshold: 1,
      breakerOpenDuration: '1m',
    });
    const api = (path: string) => `${info.httpUrl}${path}`;
    const live = await RawClient.connect(info.url);
    const { sid } = (await live.hello()) as Frame & { sid: string };
    const away = await RawClient.connect(info.url);
    const detached = ((await away.hello()) as Frame & { sid: string }).sid;
    away.close();
    // Two messages into an outbox of one: a dead letter (overflow).
    for (const d of ['m1', 'm2']) await postJson(api(`/api/sessions/${sid}/messages`), { data: d });
    live.send({ t: 'msg', id: 'c1', data: 'x' });
    await live.next((f) => (f.t === 'ok' || f.t === 'nack') && f.id === 'c1');
    await eventually(async () => {
      const s = (await getJson(api(`/api/sessions/${detached}`))).body;
      return s.expiresAt !== undefined;
    });
    const dlq = (await getJson(api('/api/dlq'))).body;
    const entry = (dlq.entries as Json[])[0]!;

    const answers: Record<string, unknown> = {
      stats: (await getJson(api('/api/stats'))).body,
      sessions: (await getJson(api('/api/sessions'))).body,
      sessionsByAge: (await getJson(api('/api/sessions?sort=age'))).body,
      session: (await getJson(api(`/api/sessions/${sid}`))).body,
      detachedSession: (await getJson(api(`/api/sessions/${detached}`))).body,
      dlq,
      dlqEntry: (await getJson(api(`/api/dlq/${String(entry.id)}`))).body,
      breakers: (await getJson(api('/api/breakers'))).body,
      events: (await getJson(api('/api/events'))).body,
      nodes: (await getJson(api('/api/nodes'))).body,
      streamStats: await firstStreamEvent(api('/api/stats/stream')),
    };
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const [route, body] of Object.entries(answers)) walk(body, route, seen, problems);
    expect(problems).toEqual([]);
    // The walk was not vacuous: each kind of field was there to check.
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'at',
        'createdAt',
        'expiresAt',
        'intervalMs',
        'lastSeen',
        'oldestAgeMs',
        'openUntil',
        'uptimeMs',
      ]),
    );
    const breaker = (answers.breakers as { breakers: Json[] }).breakers[0]!;
    expect(breaker).toMatchObject({
      state: 'open',
      openUntil: expect.stringMatching(ISO_UTC) as unknown,
    });
    expect((breaker.lastChange as Json).at).toMatch(ISO_UTC);
    expect(entry.at).toMatch(ISO_UTC);
    live.close();
  });
});
