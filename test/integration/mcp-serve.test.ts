/**
 * `resilient-ws mcp-serve` with real processes (built code in dist/: `npm run build` first):
 * the CLI, the SDK-built example server (dist/examples/mcp-slow-server.js) or a scriptable
 * raw JSON-RPC child (test/support/mcp-raw-child.ts), and protocol-level clients over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { rawLog, writeRawChild } from '../support/mcp-raw-child.js';
import { eventually, RawClient, sleep, type Frame } from '../support/raw-client.js';

const BIN = fileURLToPath(new URL('../../bin/resilient-ws.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../dist/examples/mcp-slow-server.js', import.meta.url));

type Json = Record<string, unknown>;

/** `value` at a path of fields and indexes (undefined when absent). */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Json)[p] : undefined;
  return v;
}

interface McpServe {
  child: ChildProcess;
  url: string;
  http: string;
  /** The JSON log lines written so far (stdout). */
  logs(): Json[];
  output(): string;
}

const started: ChildProcess[] = [];
/** PIDs of MCP server children seen in the logs: killed after each test if still there. */
const grandchildren = new Set<number>();

afterEach(async () => {
  for (const c of started.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 8000);
    await once(c, 'exit');
    clearTimeout(timer);
  }
  for (const pid of grandchildren) if (alive(pid)) process.kill(pid, 'SIGKILL');
  grandchildren.clear();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startMcpServe(
  flags: string[],
  command: string[],
  env: Record<string, string> = {},
): Promise<McpServe> {
  const child = spawn(
    process.execPath,
    [BIN, 'mcp-serve', '--port', '0', ...flags, '--', ...command],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  started.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const logs = (): Json[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Json)
      .map((rec) => {
        if (typeof rec.pid === 'number' && rec.msg === 'mcp server started')
          grandchildren.add(rec.pid);
        return rec;
      });
  const output = (): string => `${out}\n--- stderr ---\n${err}`;
  await eventually(() => /listening on ws:/.test(err), 10_000, `the listening line; ${output()}`);
  const m = /resilient-ws listening on (ws:\/\/\S+) \(HTTP (http:\/\/\S+)\)/.exec(err)!;
  return { child, url: m[1]!, http: m[2]!, logs, output };
}

const INIT = (id: number | string): Json => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 't', version: '1' },
  },
});
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };
const call = (id: number | string, method: string, params: Json = {}): Json => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

/** A resilient-ws session speaking JSON-RPC, at the protocol level (no SDK logic). */
class Session {
  private n = 0;
  sid = '';
  key = '';

  constructor(public client: RawClient) {}

  static async open(url: string): Promise<Session> {
    const s = new Session(await RawClient.connect(url));
    const welcome = await s.client.hello();
    s.sid = welcome.sid as string;
    s.key = welcome.key as string;
    return s;
  }

  /** Sends one JSON-RPC message; resolves with the `ok` (or `nack`) frame. */
  async send(data: Json): Promise<Frame> {
    const id = `c${++this.n}`;
    this.client.send({ t: 'msg', id, data });
    return this.client.next((f) => (f.t === 'ok' || f.t === 'nack') && f.id === id);
  }

  msgs(): Frame[] {
    return this.client.msgs();
  }

  /** Responses (no method) to JSON-RPC id `id` received so far. */
  responses(id: number | string): Json[] {
    return this.msgs()
      .map((f) => f.data as Json)
      .filter((d) => d.method === undefined && d.id === id);
  }

  async response(id: number | string, timeoutMs = 5000): Promise<Json> {
    await eventually(() => this.responses(id).length > 0, timeoutMs, `the response to ${id}`);
    return this.responses(id)[0]!;
  }

  progress(token: string | number): Frame[] {
    return this.msgs().filter(
      (f) =>
        at(f.data, 'method') === 'notifications/progress' &&
        at(f.data, 'params', 'progressToken') === token,
    );
  }

  lastSeq(): number {
    return Math.max(0, ...this.msgs().map((f) => f.seq as number));
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'rws-mcp-serve-'));
}

function exampleLog(path: string): Json[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Json);
  } catch {
    return [];
  }
}

const logged = (srv: McpServe, msg: string): Json[] => srv.logs().filter((r) => r.msg === msg);

describe('resilient-ws mcp-serve with the SDK example server', () => {
  it('initialize, tools/list, tools/call slow: one result, progress keyed and increasing; while the client is away only the latest progress is kept', async () => {
    const exLog = join(tmp(), 'example.log');
    const srv = await startMcpServe([], ['node', EXAMPLE], { MCP_EXAMPLE_LOG: exLog });
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    expect(at(await a.response(1), 'result', 'serverInfo', 'name')).toBe('mcp-slow-server');
    await a.send(INITIALIZED);
    await a.send(call(2, 'tools/list'));
    expect(await a.response(2)).toMatchObject({ result: { tools: [{ name: 'slow' }] } });

    const steps = { name: 'slow', arguments: { steps: 5, delayMs: 40 } };
    expect(
      (await a.send(call(3, 'tools/call', { ...steps, _meta: { progressToken: 'tok-a' } }))).t,
    ).toBe('ok');
    expect((await a.response(3)).result).toEqual({ content: [{ type: 'text', text: 'done: 5' }] });
    await sleep(100);
    expect(a.responses(3)).toHaveLength(1);
    const live = a.progress('tok-a');
    expect(live.map((f) => f.key)).toEqual(live.map(() => 'mcp:p:string:tok-a'));
    const values = live.map((f) => at(f.data, 'params', 'progress') as number);
    expect(values.at(-1)).toBe(5);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!);

    // Away during a call: the progress is kept by key (latest wins), the result once.
    const ack = a.lastSeq();
    await a.send(
      call(4, 'tools/call', {
        name: 'slow',
        arguments: { steps: 10, delayMs: 30 },
        _meta: { progressToken: 'tok-b' },
      }),
    );
    a.client.destroy();
    await eventually(
      () => exampleLog(exLog).filter((e) => e.method === 'tools/call').length === 2,
      5000,
      'the second call to reach the server',
    );
    await sleep(800); // 10 steps × 30 ms, done while the client is away
    const b = new Session(await RawClient.connect(srv.url));
    const welcome = await b.client.hello({ sid: a.sid, key: a.key, ack });
    expect(welcome).toMatchObject({ resumed: true, recovered: true });
    expect(at(await b.response(4), 'result', 'content', 0, 'text')).toBe('done: 10');
    await sleep(100);
    expect(b.responses(4)).toHaveLength(1);
    const replayed = b.progress('tok-b');
    expect(replayed.map((f) => at(f.data, 'params', 'progress'))).toEqual([10]);

    const seen = exampleLog(exLog);
    expect(seen.map((e) => [e.method, e.id, e.tool])).toEqual([
      ['initialize', 1, undefined],
      ['tools/list', 2, undefined],
      ['tools/call', 3, 'slow'],
      ['tools/call', 4, 'slow'],
    ]);
    expect(new Set(seen.map((e) => e.pid)).size).toBe(1);
  });

  it('starts one child per session, at its first message (not at connect)', async () => {
    const exLog = join(tmp(), 'example.log');
    const srv = await startMcpServe([], ['node', EXAMPLE], { MCP_EXAMPLE_LOG: exLog });
    const a = await Session.open(srv.url);
    const b = await Session.open(srv.url);
    await sleep(300);
    expect(logged(srv, 'mcp server started')).toEqual([]);
    await a.send(INIT(1));
    await b.send(INIT(1));
    await a.response(1);
    await b.response(1);
    const pids = exampleLog(exLog).map((e) => e.pid as number);
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    const starts = logged(srv, 'mcp server started');
    expect(starts.map((r) => r.sid).sort()).toEqual([a.sid, b.sid].sort());
    expect(new Set(starts.map((r) => r.pid))).toEqual(new Set(pids));
  });

  it('ending the session (admin DELETE) cancels the call in flight and stops the child', async () => {
    const exLog = join(tmp(), 'example.log');
    const srv = await startMcpServe([], ['node', EXAMPLE], { MCP_EXAMPLE_LOG: exLog });
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    await a.send(INITIALIZED);
    await a.send(
      call(9, 'tools/call', {
        name: 'slow',
        arguments: { steps: 200, delayMs: 50 },
        _meta: { progressToken: 1 },
      }),
    );
    await eventually(() => a.progress(1).length > 0, 5000, 'the first progress');
    const pid = exampleLog(exLog)[0]!.pid as number;
    expect(alive(pid)).toBe(true);
    const res = await fetch(`${srv.http}/api/sessions/${a.sid}`, { method: 'DELETE' });
    expect(res.ok).toBe(true);
    expect((await a.client.closed).code).toBe(1000);
    await eventually(() => !alive(pid), 5000, 'the child to exit');
    expect(exampleLog(exLog).at(-1)).toEqual({
      pid,
      method: 'notifications/cancelled',
      requestId: 9,
    });
    await eventually(
      () => logged(srv, 'mcp server exited').some((r) => r.pid === pid),
      2000,
      'the exit log line',
    );
  });

  it('a session reaped at its TTL stops its child', async () => {
    const exLog = join(tmp(), 'example.log');
    const srv = await startMcpServe(
      ['--session-ttl', '500ms', '--sweep-interval', '100ms'],
      ['node', EXAMPLE],
      {
        MCP_EXAMPLE_LOG: exLog,
      },
    );
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    const pid = exampleLog(exLog)[0]!.pid as number;
    a.client.destroy();
    await sleep(200);
    expect(alive(pid)).toBe(true); // detached, not yet reaped
    await eventually(() => !alive(pid), 5000, 'the child of the reaped session to exit');
  });
});

describe('resilient-ws mcp-serve with a raw JSON-RPC child', () => {
  async function rawServe(
    flags: string[] = [],
    env: Record<string, string> = {},
  ): Promise<{ srv: McpServe; log: string }> {
    const dir = tmp();
    const log = join(dir, 'raw.log');
    const srv = await startMcpServe(flags, ['node', writeRawChild(dir)], { RAW_LOG: log, ...env });
    return { srv, log };
  }

  it('drops and counts stdout lines that are not JSON-RPC, never forwards them; stderr goes to the logs with sid and pid', async () => {
    const { srv } = await rawServe();
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    const pid = at(await a.response(1), 'result', 'pid') as number;
    await a.send(call(2, 'noise'));
    expect((await a.response(2)).result).toEqual({});
    await a.send(call(3, 'stderr', { text: 'hello from stderr 42' }));
    await a.response(3);
    await sleep(100);
    // Only the three responses reached the client.
    expect(a.msgs().map((f) => at(f.data, 'id'))).toEqual([1, 2, 3]);
    const drops = logged(srv, 'mcp-serve: MCP server stdout line dropped (not a JSON-RPC message)');
    expect(drops.map((r) => [r.sid, r.pid, r.reason, r.linesDropped])).toEqual([
      [a.sid, pid, 'not_json', 1],
      [a.sid, pid, 'not_jsonrpc', 2],
    ]);
    expect(drops[0]!.level).toBe(40);
    expect(drops[0]!.preview).toBe('this line is not JSON');
    const stderr = logged(srv, 'mcp server stderr');
    expect(stderr.map((r) => [r.sid, r.pid, r.line])).toEqual([
      [a.sid, pid, `raw-child: started pid ${pid}`],
      [a.sid, pid, 'hello from stderr 42'],
    ]);
    // The count is in the stats line written at shutdown too.
    srv.child.kill('SIGTERM');
    await once(srv.child, 'exit');
    const stats = logged(srv, 'mcp-serve: MCP servers stopped')[0]!;
    expect(stats).toMatchObject({
      linesDropped: 2,
      linesDroppedByReason: { not_json: 1, not_jsonrpc: 1, too_long: 0 },
    });
  });

  it('a child exiting mid-call answers every open request with a JSON-RPC error, then ends the session', async () => {
    const { srv } = await rawServe();
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    await a.send(call(7, 'hang'));
    await a.send(call(8, 'exit', { code: 3 }));
    for (const id of [7, 8])
      expect(await a.response(id)).toEqual({
        jsonrpc: '2.0',
        id,
        error: { code: -32000, message: 'MCP server exited (code 3)' },
      });
    // The session ends once the errors are acked (or after 2 s, for a client that never acks).
    const t0 = Date.now();
    a.client.send({ t: 'ack', seq: a.lastSeq() });
    const ended = await a.client.next((f) => f.t === 'error');
    expect(ended).toMatchObject({ code: 'session_ended', message: 'MCP server exited (code 3)' });
    expect((await a.client.closed).code).toBe(1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(logged(srv, 'mcp server exited')[0]).toMatchObject({ sid: a.sid, code: 3 });
  });

  it('a command that cannot be started answers the request with an error and ends the session', async () => {
    const srv = await startMcpServe([], [join(tmp(), 'no-such-command')]);
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    expect(at(await a.response(1), 'error', 'message')).toMatch(
      /^MCP server could not be started: spawn .*no-such-command ENOENT$/,
    );
    expect(await a.client.next((f) => f.t === 'error')).toMatchObject({ code: 'session_ended' });
    // Not a JSON-RPC message: refused before anything runs.
    const b = await Session.open(srv.url);
    expect(await b.send({ jsonrpc: '2.0', batch: true })).toMatchObject({
      t: 'nack',
      code: 'invalid_jsonrpc',
    });
  });

  it('does not forward a request id the session already used (in flight or answered)', async () => {
    const { srv, log } = await rawServe();
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    await a.send(call(5, 'echo', { n: 1 }));
    await a.response(5);
    await a.send(call(5, 'echo', { n: 2 })); // answered already
    await a.send(call(6, 'hang'));
    await a.send(call(6, 'hang')); // in flight
    await a.send(call(10, 'echo'));
    await a.response(10);
    expect(rawLog(log).map((e) => [e.msg.method, e.msg.id])).toEqual([
      ['initialize', 1],
      ['echo', 5],
      ['hang', 6],
      ['echo', 10],
    ]);
    expect(a.responses(5)).toHaveLength(1);
    const dup = logged(
      srv,
      'mcp-serve: a request id the session already used was not forwarded again',
    );
    expect(dup[0]).toMatchObject({ sid: a.sid, id: 5 });
  });

  it('drops progress that comes after its response; a token used again is live again', async () => {
    const { srv } = await rawServe();
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    await a.send(call(2, 'late', { _meta: { progressToken: 'q' } }));
    await a.response(2);
    await a.send(call(3, 'progress', { steps: 2, delayMs: 10, _meta: { progressToken: 'q' } }));
    await a.response(3);
    await sleep(100);
    expect(a.progress('q').map((f) => at(f.data, 'params', 'progress'))).toEqual([1, 2]);
  });

  it('answers a response too large for maxFrame with a JSON-RPC error instead of hanging', async () => {
    const { srv } = await rawServe(['--max-frame', '64kb']);
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    await a.send(call(2, 'big', { bytes: 200_000 }));
    const r = await a.response(2);
    expect(at(r, 'error', 'code')).toBe(-32000);
    expect(at(r, 'error', 'message')).toMatch(/larger than resilient-ws may send/);
    await a.send(call(3, 'big', { bytes: 1000 }));
    expect(at(await a.response(3), 'result', 'text')).toHaveLength(1000);
  });

  it('never drops an answer when the client outbox is full: the sends wait for acks', async () => {
    const { srv } = await rawServe(['--outbox-max', '3']);
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    await a.response(1);
    const ids = [10, 11, 12, 13, 14, 15];
    for (const id of ids) await a.send(call(id, 'echo'));
    await sleep(300);
    expect(a.msgs()).toHaveLength(3); // nothing acked: the outbox holds 3
    await eventually(
      () => logged(srv, 'mcp-serve: client outbox full, waiting').length === 1,
      2000,
      'the outbox-full warning',
    );
    // Each ack makes room; every answer arrives, once, in order.
    await eventually(
      () => {
        a.client.send({ t: 'ack', seq: a.lastSeq() });
        return a.msgs().length === 7;
      },
      5000,
      'all answers',
    );
    expect(a.msgs().map((f) => at(f.data, 'id'))).toEqual([1, ...ids]);
  });

  it('a child that ignores stdin EOF and SIGTERM gets SIGKILL when its session ends', async () => {
    const { srv } = await rawServe([], { RAW_IGNORE_EOF: '1', RAW_IGNORE_TERM: '1' });
    const a = await Session.open(srv.url);
    await a.send(INIT(1));
    const pid = at(await a.response(1), 'result', 'pid') as number;
    await fetch(`${srv.http}/api/sessions/${a.sid}`, { method: 'DELETE' });
    await sleep(1500);
    expect(alive(pid)).toBe(true); // stdin closed; SIGTERM comes after 2 s
    await eventually(() => !alive(pid), 6000, 'SIGKILL');
    // The server's log lines reach this process a little after the child is gone.
    await eventually(
      () => logged(srv, 'mcp server exited').length > 0,
      5000,
      'the exit to be logged',
    );
    expect(logged(srv, 'mcp server ignored SIGTERM: SIGKILL')).toHaveLength(1);
    expect(logged(srv, 'mcp server exited').at(-1)).toMatchObject({ pid, signal: 'SIGKILL' });
  });

  it('--shared: one child; ids and progress tokens rewritten and restored; initialize answered from the first', async () => {
    const { srv, log } = await rawServe(['--shared']);
    const a = await Session.open(srv.url);
    const b = await Session.open(srv.url);
    await a.send(INIT(1));
    const ia = await a.response(1);
    await b.send(INIT(1));
    const ib = await b.response(1);
    expect(ia.result).toEqual(ib.result);
    expect(at(ia, 'result', 'initializeCount')).toBe(1);
    await a.send(INITIALIZED);
    await b.send(INITIALIZED);

    await a.send(call(2, 'echo', { _meta: { progressToken: 'p' } }));
    await b.send(call(2, 'echo', { _meta: { progressToken: 'p' } }));
    const ea = await a.response(2);
    const eb = await b.response(2);
    // Each got its own answer under its own id; the child saw two different ids and tokens.
    expect(at(ea, 'result', 'id')).not.toBe(at(eb, 'result', 'id'));
    expect(at(ea, 'result', 'params', '_meta', 'progressToken')).toBe(at(ea, 'result', 'id'));

    await a.send(call(3, 'progress', { steps: 3, delayMs: 20, _meta: { progressToken: 'p' } }));
    expect((await a.response(3)).result).toEqual({ done: 3 });
    await sleep(50);
    expect(a.progress('p').map((f) => [f.key, at(f.data, 'params', 'progress')])).toEqual([
      ['mcp:p:string:p', 1],
      ['mcp:p:string:p', 2],
      ['mcp:p:string:p', 3],
    ]);
    expect(b.progress('p')).toEqual([]);

    // A server → client request has no route: the child gets -32601, the client nothing.
    await a.send(call(4, 'ask'));
    expect(at(await a.response(4), 'result', 'answer', 'error', 'code')).toBe(-32601);
    expect(a.msgs().filter((f) => at(f.data, 'method') === 'sampling/createMessage')).toEqual([]);

    // A notification goes to every initialized session.
    await b.send(call(5, 'notify'));
    await b.response(5);
    const note = (s: Session): number =>
      s.msgs().filter((f) => at(f.data, 'method') === 'notifications/message').length;
    await eventually(
      () => note(a) === 1 && note(b) === 1,
      2000,
      'the notification in both sessions',
    );

    const seen = rawLog(log);
    expect(seen.filter((e) => e.msg.method === 'initialize')).toHaveLength(1);
    expect(seen.filter((e) => e.msg.method === 'notifications/initialized')).toHaveLength(1);
    expect(new Set(seen.map((e) => e.pid)).size).toBe(1);
    const pid = seen[0]!.pid;

    // A session ending leaves the shared child running; its request in flight is cancelled.
    await a.send(call(6, 'hang'));
    a.client.send({ t: 'bye' });
    await a.client.closed;
    await eventually(
      () => rawLog(log).some((e) => e.msg.method === 'notifications/cancelled'),
      2000,
      'the cancellation',
    );
    expect(alive(pid)).toBe(true);
    await b.send(call(7, 'echo'));
    expect(at(await b.response(7), 'result', 'pid')).toBe(pid);

    // The shared child exiting ends every session that used it; the next one starts a new child.
    const c = await Session.open(srv.url);
    await c.send(INIT(1));
    await c.response(1);
    await b.send(call(8, 'hang'));
    await c.send(call(9, 'exit', { code: 4 }));
    expect(at(await b.response(8), 'error', 'message')).toBe('MCP server exited (code 4)');
    for (const s of [b, c])
      expect(await s.client.next((f) => f.t === 'error', 5000)).toMatchObject({
        code: 'session_ended',
      });
    const d = await Session.open(srv.url);
    await d.send(INIT(1));
    const again = await d.response(1);
    expect(at(again, 'result', 'pid')).not.toBe(pid);
    expect(at(again, 'result', 'initializeCount')).toBe(1);
  });
});
