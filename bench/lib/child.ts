/**
 * Peer processes of the benchmarks: one way to start a child (pinned to a CPU with `taskset`
 * where it exists, docs/performance.md "Why these methods") and one request/response protocol over
 * IPC between the parent and it.
 *
 * Protocol: the child calls `serveRpc(handlers, ready)`; it sends `{ ready }` once, then
 * answers each `{ id, op, arg }` with `{ id, result }` or `{ id, error }`. The op `exit` is
 * built in: the child runs its `onExit` (closing its servers), answers, and exits. A child
 * also exits when its parent goes away (IPC disconnect), so nothing outlives a run.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';

let pinnable: boolean | undefined;

/** Whether `taskset` can pin processes here (probed once per process). */
export function canPin(): boolean {
  pinnable ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return pinnable;
}

/** Pins this process (all its threads) to `cpu`; false without taskset. */
export function pinSelf(cpu: number): boolean {
  return (
    canPin() && spawnSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)]).status === 0
  );
}

export interface ChildOptions {
  /** The CPU to pin the child to (ignored without taskset). */
  cpu: number;
  /** Node options before the script, e.g. `--expose-gc`. */
  execArgv?: string[];
  /** For error messages; default the script's arguments. */
  name?: string;
}

/** Starts `node [execArgv] script ...args` and returns the parent's handle on it. */
export function startChild<R = unknown>(
  script: string,
  args: string[],
  options: ChildOptions,
): Peer<R> {
  const execArgv = options.execArgv ?? [];
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
  const child = canPin()
    ? spawn(
        'taskset',
        ['-c', String(options.cpu), process.execPath, ...execArgv, script, ...args],
        { stdio: [...stdio] },
      )
    : fork(script, args, { stdio: [...stdio], execArgv });
  return new Peer<R>(options.name ?? args.join(' '), child);
}

interface Request {
  id: number;
  op: string;
  arg: unknown;
}

interface Reply {
  id?: number;
  result?: unknown;
  error?: string;
  ready?: unknown;
}

// Each handler declares its own argument type; the parent's call supplies it.
type Handlers = Record<string, (arg: never) => unknown>;

export interface ServeOptions {
  /** Runs on the `exit` op before the child exits (e.g. closes its servers). */
  onExit?: () => Promise<unknown>;
}

/** Child side: answers the parent's requests with `handlers`, after saying it is `ready`. */
export function serveRpc(
  handlers: Handlers,
  ready: unknown = {},
  options: ServeOptions = {},
): void {
  const all: Record<string, (arg: unknown) => unknown> = {
    ...(handlers as Record<string, (arg: unknown) => unknown>),
    exit: async () => {
      await options.onExit?.();
      setImmediate(() => process.exit(0));
      return true;
    },
  };
  process.on('message', (m: Request) => {
    const h = all[m.op];
    Promise.resolve()
      .then(() => {
        if (h === undefined) throw new Error(`unknown op ${m.op}`);
        return h(m.arg);
      })
      .then(
        (result) => process.send!({ id: m.id, result } satisfies Reply),
        (e: unknown) =>
          process.send!({
            id: m.id,
            error: e instanceof Error ? (e.stack ?? e.message) : String(e),
          } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready } satisfies Reply);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Parent side of one child process: requests with ids, answered in any order. */
export class Peer<R = unknown> {
  /** What the child said when it became ready. */
  readonly ready: Promise<R>;
  private next = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let resolveReady!: (v: R) => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise<R>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    // A rejection nobody awaited yet must not end the parent; call() reports it.
    this.ready.catch(() => undefined);
    child.on('message', (m: Reply) => {
      if (m.id === undefined) {
        resolveReady(m.ready as R);
        return;
      }
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(`${name}: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      const e = new Error(`${name} exited (${code ?? signal})`);
      rejectReady(e);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(e);
      }
      this.pending.clear();
    });
  }

  call<T>(op: string, arg: unknown = {}, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited (op ${op})`));
    const timeoutMs = options.timeoutMs ?? 120_000;
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, op, arg } satisfies Request);
    });
  }

  /** Asks the child to exit (its `onExit` runs), then kills it by its handle after 3 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await Promise.race([this.call('exit', {}, { timeoutMs: 3000 }).catch(() => undefined), gone]);
    await Promise.race([gone, sleep(3000)]);
    if (!this.exited) {
      this.child.kill('SIGKILL');
      await gone;
    }
  }
}
