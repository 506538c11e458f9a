/**
 * /metrics on a real server (loopback, port 0): real traffic moves the product metrics,
 * content negotiation, the admin token, RWS_METRICS=false, and `promtool check metrics` on
 * the live exposition (Debian package `prometheus`).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RawClient, eventually, type Frame } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

type Welcome = Frame & { sid: string; key: string };

async function scrape(
  httpUrl: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(`${httpUrl}/metrics`, { headers });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

/** The value of one sample line of the text format (`name{labels}`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function hasTool(name: string): boolean {
  return spawnSync('which', [name]).status === 0;
}

describe('GET /metrics', () => {
  it('product metrics move with real traffic', async () => {
    const { info } = await startServer({ messageTtl: 60_000 });
    const c = await RawClient.connect(info.url);
    const w = (await c.hello()) as Welcome;
    for (let i = 0; i < 3; i++)
      expect(
        (await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: i })).status,
      ).toBe(202);
    // Outbound idempotency: a repeated id is a dedup hit.
    await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 'x', id: 'once' });
    await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 'x', id: 'once' });
    await c.messagesUpTo(4);
    c.send({ t: 'ack', seq: 2 });
    c.send({ t: 'msg', id: 'm1', data: 'hi' });
    c.send({ t: 'msg', id: 'm1', data: 'hi' }); // inbound dedup
    await c.next((f) => f.t === 'ok' && f.dup === true);
    c.sendRaw('not json'); // frame error
    await c.next((f) => f.t === 'error');
    c.close();
    await c.closed;
    // Resume: the 2 unacked messages are replayed.
    const c2 = await RawClient.connect(info.url);
    await c2.hello({ sid: w.sid, key: w.key, ack: 2 });
    await c2.messagesUpTo(2);

    let text = '';
    await eventually(
      async () => {
        text = (await scrape(info.httpUrl)).body;
        return sample(text, 'rws_messages_acked_total') === 2;
      },
      5000,
      'acked count',
    );
    expect(sample(text, 'rws_connections')).toBe(1);
    expect(sample(text, 'rws_connections_accepted_total')).toBe(2);
    expect(sample(text, 'rws_disconnects_total')).toBe(1);
    expect(sample(text, 'rws_sessions{state="attached"}')).toBe(1);
    expect(sample(text, 'rws_messages_sent_total')).toBe(4);
    expect(sample(text, 'rws_messages_sent_bytes_total')).toBeGreaterThan(0);
    // The store-append time is sampled (1 append in 16): none of these 5 appends yet.
    expect(sample(text, 'rws_send_duration_seconds_count')).toBe(0);
    expect(sample(text, 'rws_ack_latency_seconds_count')).toBe(1);
    expect(sample(text, 'rws_messages_replayed_total')).toBe(2);
    expect(sample(text, 'rws_resumes_total{outcome="new_session"}')).toBe(1);
    expect(sample(text, 'rws_resumes_total{outcome="recovered"}')).toBe(1);
    expect(sample(text, 'rws_dedup_hits_total{direction="outbound"}')).toBe(1);
    expect(sample(text, 'rws_dedup_hits_total{direction="inbound"}')).toBe(1);
    expect(sample(text, 'rws_client_messages_total{outcome="ok"}')).toBe(1);
    expect(sample(text, 'rws_frame_errors_total{code="bad_frame"}')).toBe(1);
    expect(sample(text, 'rws_outbox_messages')).toBe(2);
    expect(sample(text, 'rws_outbox_oldest_message_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'rws_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toContain(w.sid); // never a per-session label value

    // 128 more stored sends: appends 6..133, so the 128th append was timed (1 in 128).
    for (let i = 0; i < 128; i++)
      await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: i });
    text = (await scrape(info.httpUrl)).body;
    expect(sample(text, 'rws_messages_sent_total')).toBe(132);
    expect(sample(text, 'rws_send_duration_seconds_count')).toBe(1);
    c2.close();
  });

  it('negotiates OpenMetrics 1.0 from the Accept header, text 0.0.4 otherwise', async () => {
    const { info } = await startServer();
    const text = await scrape(info.httpUrl);
    expect(text.status).toBe(200);
    expect(text.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toContain('# TYPE rws_messages_sent_total counter\n');
    const om = await scrape(info.httpUrl, {
      accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    });
    expect(om.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body).toContain('# TYPE rws_messages_sent counter\n');
    expect(om.body).toMatch(/\nrws_messages_sent_created \d+(\.\d+)?\n/);
    expect(om.body.endsWith('\n# EOF\n')).toBe(true);
  });

  it('needs the admin token when one is configured', async () => {
    const { info } = await startServer({ adminToken: 'secret-token-123' });
    expect((await scrape(info.httpUrl)).status).toBe(401);
    const ok = await scrape(info.httpUrl, { authorization: 'Bearer secret-token-123' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('rws_connections ');
  });

  it('metrics: false answers 404 metrics_disabled', async () => {
    const { server, info } = await startServer({ metrics: false });
    const r = await scrape(info.httpUrl);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'metrics_disabled' } });
    // Nothing subscribed on the send path (the event log listens to rarer events: `resume`, …).
    for (const e of ['sendTiming', 'ack', 'send'] as const) expect(server.has(e)).toBe(false);
  });

  const promtool = hasTool('promtool');
  if (!promtool && process.env.CI !== 'true')
    console.warn('SKIPPED: promtool not found (apt-get install prometheus); CI=true fails instead');
  it.skipIf(!promtool && process.env.CI !== 'true')(
    'promtool check metrics accepts the live exposition',
    async () => {
      expect(promtool, 'promtool is required under CI (Debian package prometheus)').toBe(true);
      const { info } = await startServer();
      const c = await RawClient.connect(info.url);
      const w = (await c.hello()) as Welcome;
      await postJson(`${info.httpUrl}/api/sessions/${w.sid}/messages`, { data: 'x' });
      c.sendRaw('{"t":"nope"}');
      await c.next((f) => f.t === 'error');
      const { body } = await scrape(info.httpUrl);
      expect(body).toContain('rws_frame_errors_total{code=');
      // The standard process names (Prometheus client guidelines) are checked too.
      expect(body).toContain('# TYPE process_cpu_seconds_total counter');
      expect(body).toMatch(/\nprocess_start_time_seconds \S+\n/);
      const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
      c.close();
    },
  );
});
