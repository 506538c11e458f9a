/**
 * A server node as a child process, started through the CLI (`bin/resilient-ws.js serve`, the
 * built code in dist/: run `npm run build` first). `startNode` waits for the "listening" line
 * on stderr and returns the node's URLs and PID; `stop()` sends SIGTERM and waits for the exit,
 * `kill()` sends SIGKILL (no shutdown at all, as a crash would). Only the processes started here
 * are ever signalled, by their PID: `stopAllNodes()` kills whatever a test left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const LISTENING = /resilient-ws listening on (ws:\/\/\S+) \(HTTP (http:\/\/\S+)\)/;

export interface NodeProcessOptions {
  /** The node's name (`--node`). */
  node: string;
  /** `--store`, a redis:// URL. */
  store: string;
  /** `--redis-prefix`. */
  prefix: string;
  /** More flags, e.g. `['--node-timeout', '2s']`. */
  args?: string[];
  /** How long to wait for the listening line (default 15 s). */
  startTimeoutMs?: number;
}

export class NodeProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly url: string,
    readonly httpUrl: string,
    private readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the process wrote on stdout and stderr so far (for failure messages). */
  get log(): string {
    return this.output();
  }

  static async start(o: NodeProcessOptions): Promise<NodeProcess> {
    const args = [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--store',
      o.store,
      '--redis-prefix',
      o.prefix,
      '--node',
      o.node,
      '--log-level',
      'warn',
      ...(o.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let out = '';
    const collect = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const urls = await new Promise<[string, string]>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new Error(`node ${o.node}: no listening line within the timeout; output: ${out}`));
      }, o.startTimeoutMs ?? 15_000);
      const onData = (): void => {
        const m = LISTENING.exec(out);
        if (m === null) return;
        done();
        resolve([m[1]!, m[2]!]);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        fail(new Error(`node ${o.node} exited (${code ?? signal}) before listening: ${out}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        child.off('exit', onExit);
      };
      const fail = (e: Error): void => {
        done();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(e);
      };
      child.stderr.on('data', onData);
      child.once('exit', onExit);
    });
    return new NodeProcess(o.node, child, urls[0], urls[1], () => out);
  }

  /** SIGTERM (a graceful shutdown: clients closed with 1001) and wait for the exit. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) process.kill(this.pid, 'SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL (a crash: no close frames, no shutdown) and wait for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }
}

const running = new Set<ChildProcess>();

/** SIGKILL every node process started here that still runs, and wait for them to exit. */
export async function stopAllNodes(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}
