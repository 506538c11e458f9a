/**
 * The runnable examples still run: the echo server and the Node client, built, as child
 * processes talking over loopback.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = (name: string): string =>
  fileURLToPath(new URL(`../../dist/examples/${name}`, import.meta.url));

describe('examples', () => {
  it('echo-server answers node-client, which then says bye', async () => {
    const server = spawn(process.execPath, [dist('echo-server.js'), '0'], { stdio: 'pipe' });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (ws:\/\/\S+)/.exec(out);
          if (m !== null) resolve(m[1]!);
        });
        server.on('exit', (code) => reject(new Error(`echo-server exited with ${code}`)));
      });
      const client = spawn(process.execPath, [dist('node-client.js'), url], { stdio: 'pipe' });
      let out = '';
      client.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = (await once(client, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(out).toContain('message 1: {"welcome":"hello from the server"}');
      expect(out).toMatch(/answer: \{"echo":\{"text":"hi"\},"sid":"[\w-]{22}"\}/);
      expect(out).toContain('closed 1000');
    } finally {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });
});
