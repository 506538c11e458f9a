import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { createObservability, type ObservabilityOptions } from './observability.js';

interface Reply {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

async function get(
  serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  accept?: string,
  method = 'GET',
): Promise<Reply> {
  const reply: Reply = { status: 0, headers: {}, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string | number>) {
      reply.status = status;
      reply.headers = { ...reply.headers, ...headers };
      return res;
    },
    setHeader(k: string, v: string) {
      reply.headers[k] = v;
    },
    end(body?: string) {
      reply.body = body ?? '';
    },
  };
  const req = { method, url: '/metrics', headers: accept === undefined ? {} : { accept } };
  await serve(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  return reply;
}

function options(over: Partial<ObservabilityOptions> = {}): ObservabilityOptions {
  return {
    enabled: true,
    maxLabelSets: 100,
    events: new Emitter<CoreEvents>(),
    connections: () => 2,
    attachedSessions: () => 1,
    storeStats: () =>
      Promise.resolve({ sessions: 3, messages: 5, bytes: 500, oldestAt: undefined }),
    dlqSize: () => 4,
    breakers: () => [{ name: 'upstream', state: 'closed' }],
    sent: () => ({ messages: 0, bytes: 0 }),
    clock: new ManualClock(),
    ...over,
  };
}

describe('createObservability', () => {
  it('serves Prometheus text by default and OpenMetrics when asked', async () => {
    const o = createObservability(options());
    try {
      const text = await get(o.serveMetrics);
      expect(text.status).toBe(200);
      expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(text.headers['content-length']).toBe(Buffer.byteLength(text.body));
      expect(text.body).toContain('# TYPE rws_messages_sent_total counter\n');
      expect(text.body).toContain('rws_sessions{state="detached"} 2\n');
      expect(text.body).toContain('rws_outbox_messages 5\n');
      expect(text.body).toContain('rws_dlq_messages 4\n');
      expect(text.body).toContain('rws_breaker_state{breaker="upstream",state="closed"} 1\n');
      expect(text.body).toMatch(/\nrws_process_resident_memory_bytes \d+\n/);
      const om = await get(o.serveMetrics, 'application/openmetrics-text; version=1.0.0');
      expect(om.headers['content-type']).toBe(
        'application/openmetrics-text; version=1.0.0; charset=utf-8',
      );
      expect(om.body).toContain('# TYPE rws_messages_sent counter\n');
      expect(om.body).toContain('rws_messages_sent_created ');
      expect(om.body.endsWith('# EOF\n')).toBe(true);
      const head = await get(o.serveMetrics, undefined, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
    } finally {
      o.close();
    }
  });

  it('gives the same figures as JSON: counters, gauges, histograms with quantiles', async () => {
    const events = new Emitter<CoreEvents>();
    const o = createObservability(options({ events }));
    try {
      for (let i = 0; i < 100; i++)
        events.emit('ack', { sid: 's', seq: i + 1, removed: 1, latencyMs: 20 });
      events.emit('drop', { sid: 's', reason: 'overflow', count: 2 });
      const s = (await o.stats()) as {
        counters: Record<string, unknown>;
        gauges: Record<string, unknown>;
        histograms: Record<
          string,
          {
            count: number;
            sum: number;
            p50: number;
            p99: number;
            bounds: number[];
            counts: number[];
          }
        >;
      };
      expect(s.counters.rws_messages_acked_total).toBe(100);
      expect(s.counters.rws_messages_dropped_total).toMatchObject({ overflow: 2, ttl: 0 });
      expect(s.gauges.rws_connections).toBe(2);
      expect(s.gauges.rws_sessions).toEqual({ attached: 1, detached: 2 });
      const ack = s.histograms.rws_ack_latency_seconds!;
      expect(ack.count).toBe(100);
      expect(ack.sum).toBeCloseTo(2);
      expect(ack.p50).toBeGreaterThan(0.01);
      expect(ack.p50).toBeLessThanOrEqual(0.025);
      // The buckets: upper bounds, and per-bucket (not cumulative) counts with +Inf last.
      expect(ack.bounds.length).toBeGreaterThan(1);
      expect(ack.bounds.every((b, i) => i === 0 || b > ack.bounds[i - 1]!)).toBe(true);
      expect(ack.counts).toHaveLength(ack.bounds.length + 1);
      const at = ack.bounds.findIndex((b) => b >= 0.02);
      expect(ack.counts[at]).toBe(100);
      expect(ack.counts.reduce((a, b) => a + b, 0)).toBe(100);
      for (let i = 0; i < 3; i++)
        events.emit('ack', { sid: 's', seq: 101 + i, removed: 1, latencyMs: 1e9 });
      const later = (await o.stats()) as typeof s;
      const after = later.histograms.rws_ack_latency_seconds!;
      expect(after.counts.at(-1)).toBe(3); // above every bound: the +Inf bucket
      expect(after.counts[at]).toBe(100);
      const send = s.histograms.rws_send_duration_seconds!;
      expect(send).toMatchObject({ count: 0, sum: 0, p50: null, p99: null });
      expect(send.counts).toEqual(new Array<number>(send.bounds.length + 1).fill(0));
    } finally {
      o.close();
    }
  });

  it('a failing store leaves its gauges without a sample and the scrape still answers', async () => {
    const o = createObservability(
      options({ storeStats: () => Promise.reject(new Error('redis down')) }),
    );
    try {
      const r = await get(o.serveMetrics);
      expect(r.status).toBe(200);
      expect(r.body).not.toMatch(/\nrws_outbox_messages /);
      expect(r.body).toContain('rws_sessions{state="attached"} 1\n');
    } finally {
      o.close();
    }
  });

  it('reads the dead-letter store once per scrape, awaiting it, and prefers it to dlqSize', async () => {
    let reads = 0;
    const o = createObservability(
      options({
        dlqStats: () => {
          reads++;
          return Promise.resolve({ size: 7, bytes: 700, evicted: reads });
        },
      }),
    );
    try {
      const first = await get(o.serveMetrics);
      expect(reads).toBe(1);
      expect(first.body).toContain('rws_dlq_messages 7\n');
      expect(first.body).toContain('rws_dlq_evicted_total 1\n');
      expect(first.body).toContain('rws_dlq_bytes 700\n');
      const s = (await o.stats()) as {
        counters: Record<string, unknown>;
        gauges: Record<string, unknown>;
      };
      expect(reads).toBe(2);
      expect(s.gauges.rws_dlq_messages).toBe(7);
      expect(s.counters.rws_dlq_evicted_total).toBe(2);
    } finally {
      o.close();
    }
  });

  it('a dead-letter store that cannot answer leaves its metrics without a sample', async () => {
    for (const dlqStats of [
      () => Promise.reject(new Error('redis down')),
      () => {
        throw new Error('closed');
      },
    ]) {
      const o = createObservability(options({ dlqStats }));
      try {
        const r = await get(o.serveMetrics);
        expect(r.status).toBe(200);
        expect(r.body).not.toMatch(/\nrws_dlq_messages /);
        expect(r.body).not.toMatch(/\nrws_dlq_evicted_total /);
        expect(r.body).not.toMatch(/\nrws_dlq_bytes /);
        expect(r.body).toContain('# TYPE rws_dlq_messages gauge\n');
        // The session store's figures are read all the same.
        expect(r.body).toContain('rws_outbox_messages 5\n');
      } finally {
        o.close();
      }
    }
  });

  it('close() unsubscribes from every event and is idempotent', () => {
    const events = new Emitter<CoreEvents>();
    const o = createObservability(options({ events }));
    expect(events.has('sendTiming')).toBe(true);
    expect(events.has('send')).toBe(false); // sends are counted from the outbox's fields
    o.close();
    o.close();
    for (const e of ['sendTiming', 'ack', 'drop', 'resume', 'connection', 'error'] as const)
      expect(events.has(e)).toBe(false);
  });

  it('disabled: subscribes to nothing and /metrics answers 404 metrics_disabled', async () => {
    const events = new Emitter<CoreEvents>();
    const o = createObservability(options({ enabled: false, events }));
    for (const e of ['sendTiming', 'ack', 'drop', 'resume', 'connection'] as const)
      expect(events.has(e)).toBe(false);
    const r = await get(o.serveMetrics);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'metrics_disabled' } });
    expect(await o.stats()).toEqual({ enabled: false });
    o.close();
  });
});
