/**
 * Regression: a bracketed IPv6 host (`[::1]`, as URLs write it) is accepted as loopback and
 * bound as the bare address, by the library and by the CLI.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type RwsServer } from '../../src/index.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const servers: RwsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('bracketed IPv6 host', () => {
  it('createServer({ host: "[::1]" }) either refuses the value or listens on ::1', async () => {
    const server = createServer({ host: '[::1]', port: 0, logLevel: 'silent' });
    servers.push(server);
    const info = await server.listen();
    expect(info.host).toBe('::1');
  });

  it('`serve --host [::1]` does not die with a getaddrinfo stack trace (exit 1)', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--host', '[::1]', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', RWS_LOG_LEVEL: 'info' },
      stdio: 'pipe',
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const result = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('running'), 3000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(`exit ${code}`);
      });
    });
    if (child.exitCode === null) child.kill('SIGKILL');
    // Either it listens, or it is rejected as bad configuration (exit 2, naming the key).
    if (result !== 'running') {
      expect(result).toBe('exit 2');
      expect(out).toMatch(/host/);
    }
    expect(out).not.toContain('ENOTFOUND');
  });
});
