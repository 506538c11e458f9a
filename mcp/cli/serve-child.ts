/**
 * One stdio MCP server as a child process of `resilient-ws mcp-serve`: JSON-RPC messages in
 * as lines on its stdin (awaiting drain), lines of its stdout parsed and handed on (or
 * dropped, with the reason), its stderr logged line by line (rate-limited), and the MCP stdio
 * shutdown: close stdin, SIGTERM after a grace period, SIGKILL after another.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import {
  LineSplitter,
  parseLine,
  type Classified,
  truncatedResponseId,
  type DropReason,
  type JsonRpcId,
  type JsonRpcObject,
} from './serve-jsonrpc.js';

export interface ChildCommand {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface StdioChildOptions extends ChildCommand {
  /** Longest stdout line accepted, in bytes; a longer one is dropped (`too_long`). */
  maxLineBytes: number;
  /** Bound to the child's session (`sid`, or `shared`); the child adds `pid`. */
  log: Logger;
  /** How long after stdin is closed the child gets SIGTERM (default 2000 ms). */
  termAfterMs?: number;
  /** How long after SIGTERM it gets SIGKILL (default 2000 ms). */
  killAfterMs?: number;
  /** Most stderr lines logged per second; more are counted and reported (default 50). */
  stderrLinesPerSecond?: number;
  onMessage(message: Classified): void;
  /** A stdout line was dropped; `responseTo`: for a response too long, its id if it shows. */
  onDrop(reason: DropReason, bytes: number, preview: string, responseTo?: JsonRpcId): void;
  /** Once, when the process has exited and its output is read (also after a spawn failure). */
  onClose(info: ExitInfo): void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error (command not found, not executable), when it never ran. */
  error?: Error;
}

/** Longest stderr line logged, in characters; the rest is cut. */
const MAX_STDERR_LINE = 4096;

export class StdioChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** Resolves once the process runs; rejects when it cannot be started. */
  readonly started: Promise<void>;
  /** Resolves after onClose. */
  readonly closed: Promise<ExitInfo>;
  private readonly log: Logger;
  private stopping: Promise<ExitInfo> | undefined;
  private isClosed = false;
  private timers: NodeJS.Timeout[] = [];
  private stderrWindow = 0;
  private stderrInWindow = 0;
  private stderrSuppressed = 0;

  constructor(private readonly o: StdioChildOptions) {
    const child = spawn(o.command, [...o.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: o.env ?? process.env,
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
    });
    this.process = child;
    this.log = o.log.child({ pid: child.pid });
    let resolveClosed!: (info: ExitInfo) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    const close = (info: ExitInfo): void => {
      if (this.isClosed) return;
      this.isClosed = true;
      for (const t of this.timers) clearTimeout(t);
      this.timers = [];
      stdout.end();
      if (this.stderrSuppressed > 0)
        this.log.info({ suppressed: this.stderrSuppressed }, 'mcp server stderr lines not logged');
      this.o.onClose(info);
      resolveClosed(info);
    };
    this.started = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        reject(error);
        // A spawn failure may never be followed by 'close'.
        if (child.pid === undefined) close({ code: null, signal: null, error });
      });
    });
    this.started.catch(() => undefined);
    child.on('error', (error) => {
      if (child.pid !== undefined)
        this.log.warn({ error: error.message }, 'mcp server process error');
    });
    // EPIPE when the child is gone: its exit is what matters, reported by 'close'.
    child.stdin.on('error', (error) =>
      this.log.debug({ error: error.message }, 'mcp server stdin error'),
    );
    const stdout = new LineSplitter(
      o.maxLineBytes,
      (line) => {
        const parsed = parseLine(line);
        if (typeof parsed === 'string')
          o.onDrop(parsed, Buffer.byteLength(line), line.slice(0, 120));
        else o.onMessage(parsed);
      },
      (bytes, head, tail) =>
        o.onDrop('too_long', bytes, head.slice(0, 120), truncatedResponseId(head, tail)),
    );
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    const stderr = new LineSplitter(
      // Longer stderr lines are not worth keeping whole: cut below, dropped past 1 MiB.
      1024 * 1024,
      (line) => this.stderrLine(line),
      (bytes) => this.stderrLine(`[a stderr line of ${bytes} bytes was not logged]`),
    );
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stderr.on('end', () => stderr.end());
    // 'close': the process exited and its stdio streams are done, so every line is read.
    child.once('close', (code, signal) => close({ code, signal }));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get exited(): boolean {
    return this.isClosed;
  }

  /** Writes one message as a line; resolves once written (after `drain` when the pipe is full). */
  async write(message: JsonRpcObject): Promise<void> {
    await this.started;
    const stdin = this.process.stdin;
    if (this.isClosed || stdin.destroyed || stdin.writableEnded)
      throw new Error('the MCP server is not running');
    if (stdin.write(JSON.stringify(message) + '\n')) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        stdin.off('drain', onDrain);
        stdin.off('close', onClose);
        stdin.off('error', done);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error('the MCP server closed its stdin'));
      stdin.on('drain', onDrain);
      stdin.on('close', onClose);
      stdin.on('error', done);
    });
  }

  /** Writes one message now, without waiting for drain (cancellations before stdin closes). */
  send(message: JsonRpcObject): boolean {
    const stdin = this.process.stdin;
    if (this.isClosed || stdin.destroyed || stdin.writableEnded) return false;
    stdin.write(JSON.stringify(message) + '\n');
    return true;
  }

  /** Stop reading stdout (backpressure: the child blocks on a full pipe) and start again. */
  pauseOutput(): void {
    this.process.stdout.pause();
  }

  resumeOutput(): void {
    this.process.stdout.resume();
  }

  /**
   * The MCP stdio shutdown: close stdin (a well-behaved server exits), SIGTERM after
   * `termAfterMs`, SIGKILL after `killAfterMs` more. Resolves when the process is gone.
   */
  stop(): Promise<ExitInfo> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = this.closed;
    if (this.isClosed) return this.stopping;
    this.process.stdin.end();
    const term = this.o.termAfterMs ?? 2000;
    const kill = this.o.killAfterMs ?? 2000;
    this.timers.push(
      setTimeout(() => {
        this.log.debug({ afterMs: term }, 'mcp server still running after stdin closed: SIGTERM');
        this.signal('SIGTERM');
        this.timers.push(
          setTimeout(() => {
            this.log.warn({ afterMs: kill }, 'mcp server ignored SIGTERM: SIGKILL');
            this.signal('SIGKILL');
          }, kill),
        );
      }, term),
    );
    return this.stopping;
  }

  /** SIGKILL now (the parent is exiting and cannot wait). */
  killNow(): void {
    if (!this.isClosed) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.process.kill(signal);
    } catch {
      // already gone
    }
  }

  private stderrLine(line: string): void {
    const now = Date.now();
    if (now - this.stderrWindow >= 1000) {
      this.stderrWindow = now;
      this.stderrInWindow = 0;
    }
    if (this.stderrInWindow >= (this.o.stderrLinesPerSecond ?? 50)) {
      this.stderrSuppressed++;
      return;
    }
    this.stderrInWindow++;
    const fields: Record<string, unknown> = {
      line: line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line,
    };
    if (this.stderrSuppressed > 0) {
      fields.suppressed = this.stderrSuppressed;
      this.stderrSuppressed = 0;
    }
    this.log.info(fields, 'mcp server stderr');
  }
}
