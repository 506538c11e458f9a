/**
 * A real Prometheus (Debian package `prometheus`) scrapes a real server every second and its
 * HTTP API returns a product series. Prometheus asks for OpenMetrics first, so this also
 * proves that its parser accepts our OpenMetrics output (a failed parse marks the target
 * down with lastError set).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawClient, sleep, type Frame } from '../support/raw-client.js';
import { postJson, startServer } from '../support/server.js';

const available = spawnSync('which', ['prometheus']).status === 0;
const required = process.env.CI === 'true';
if (!available && !required)
  console.warn('SKIPPED: prometheus not found (apt-get install prometheus); CI=true fails instead');

let prometheus: ChildProcess | undefined;
let dir: string | undefined;
afterAll(() => {
  if (prometheus?.pid !== undefined && prometheus.exitCode === null) process.kill(prometheus.pid);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

interface TargetsResult {
  data: { activeTargets: { health: string; lastError: string }[] };
}

describe('a real Prometheus', () => {
  it.skipIf(!available && !required)(
    'scrapes /metrics and serves a product series through its HTTP API',
    async () => {
      expect(available, 'prometheus is required under CI (Debian package prometheus)').toBe(true);
      const { info } = await startServer({ adminToken: 'scrape-token-123' });
      const c = await RawClient.connect(info.url);
      const w = (await c.hello()) as Frame & { sid: string };
      for (let i = 0; i < 3; i++)
        await postJson(
          `${info.httpUrl}/api/sessions/${w.sid}/messages`,
          { data: i },
          {
            authorization: 'Bearer scrape-token-123',
          },
        );

      dir = mkdtempSync(join(tmpdir(), 'rws-prom-'));
      const port = await freePort();
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: rws',
          '    authorization:',
          '      credentials: scrape-token-123',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${info.port}']`,
          '',
        ].join('\n'),
      );
      const log: string[] = [];
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
      prometheus.stderr?.on('data', (d: Buffer) => log.push(d.toString()));

      const api = `http://127.0.0.1:${port}/api/v1`;
      const deadline = Date.now() + 30_000;
      let found: QueryResult['data']['result'] = [];
      while (Date.now() < deadline && found.length === 0) {
        if (prometheus.exitCode !== null) break;
        try {
          const r = await fetch(
            `${api}/query?query=${encodeURIComponent('rws_messages_sent_total')}`,
          );
          if (r.ok) found = ((await r.json()) as QueryResult).data.result;
        } catch {
          // not listening yet
        }
        if (found.length === 0) await sleep(250);
      }
      expect(
        found,
        `no series within 30 s; prometheus log:\n${log.join('').slice(-3000)}`,
      ).not.toEqual([]);
      expect(found[0]!.metric).toMatchObject({ job: 'rws', instance: `127.0.0.1:${info.port}` });
      expect(Number(found[0]!.value[1])).toBe(3);
      const targets = (await (await fetch(`${api}/targets`)).json()) as TargetsResult;
      expect(targets.data.activeTargets[0]).toMatchObject({ health: 'up', lastError: '' });
      c.close();
    },
  );
});
