/**
 * The message handler of `resilient-ws mcp-serve`: each resilient-ws session speaks JSON-RPC
 * to a stdio MCP server run as a child process, one child per session (spawned at the
 * session's first message) or, with `shared`, one child for every session (ids and progress
 * tokens rewritten per session). Plain JSON-RPC: no MCP SDK at run time.
 *
 * - Client → child: each client message is one JSON-RPC message, written to the child's
 *   stdin as one line; the handler resolves once it is written (never waits for the answer),
 *   so requests run concurrently and `notifications/cancelled` is never stuck behind them.
 * - Child → client: each stdout line that is a JSON-RPC message is sent to the session
 *   (stored, in order; `notifications/progress` keyed per token, latest value wins); other
 *   lines are dropped and counted, never forwarded.
 * - Lifetime: session end or reap → `notifications/cancelled` for the requests in flight,
 *   stdin closed, SIGTERM, SIGKILL. Child exit while the session lives → a JSON-RPC error
 *   for each request in flight, then the session is ended (the client starts again).
 */
import type { Logger } from 'pino';
import { systemClock } from '../../src/clock.js';
import type { RwsServer } from '../../src/server/server.js';
import { RepeatLimiter, type LineLevel } from '../../src/server/log-limiter.js';
import { NackError, type ClientMessage } from '../../src/session/client-messages.js';
import { StdioChild, type ChildCommand, type ExitInfo } from './serve-child.js';
import { Outbound } from './serve-outbound.js';
import {
  BoundedSet,
  cancelledRequestId,
  classify,
  errorResponse,
  idKey,
  MAX_KEY_LENGTH,
  notifiedProgressToken,
  progressKey,
  progressTokenOf,
  RPC,
  withParam,
  withProgressToken,
  type Classified,
  type DropReason,
  type JsonRpcId,
  type JsonRpcObject,
} from './serve-jsonrpc.js';

/** What the host uses of the server (a fake in unit tests). */
export type McpHostServer = Pick<RwsServer, 'send' | 'endSession' | 'isAttached' | 'on'>;

export interface McpHostOptions {
  /** The stdio MCP server to run. */
  command: ChildCommand;
  /** One child for every session (stateless servers only); default: one per session. */
  shared?: boolean;
  /** Longest stdout line accepted, in bytes (the CLI passes `maxFrame`). */
  maxLineBytes: number;
  log: Logger;
  /** Requests of one session in flight at once; more are answered with an error. Default 4096. */
  maxInFlight?: number;
  /** Stdin closed → SIGTERM after this long (default 2000 ms); SIGKILL `killAfterMs` later. */
  termAfterMs?: number;
  killAfterMs?: number;
  /** After a child exit, how long the JSON-RPC errors may take to be acked before the session
   *  ends (only when the client is attached; default 2000 ms). */
  exitAckWaitMs?: number;
}

export interface McpHostStats {
  childrenStarted: number;
  childrenRunning: number;
  /** Stdout lines of the children that were not JSON-RPC messages, never forwarded. */
  linesDropped: number;
  linesDroppedByReason: Record<DropReason, number>;
  /** Requests whose id the session had already sent (in flight or answered): not forwarded. */
  duplicateRequests: number;
  /** Sessions ended because their MCP server exited (or could not be started). */
  sessionsEndedByExit: number;
}

interface InFlight {
  /** The id the client gave. */
  id: JsonRpcId;
  /** The id the child saw (the same one, except with `shared`). */
  upstreamId: JsonRpcId;
  /** The progress token the client gave, when it asked for progress. */
  token?: JsonRpcId;
}

/** Messages waiting for `server.send` past which the child's stdout is paused. */
const BACKLOG_PAUSE = 64;
const BACKLOG_RESUME = 8;
/** `shared`: a session this far behind is ended rather than stall every other session. */
const SHARED_BACKLOG_LIMIT = 1024;
/** Ids (and progress tokens) remembered per session after their request finished. */
const RECENT_IDS = 1024;
/** Wait between two tries of a send refused because the client's outbox is full. */
const MAX_END_REASON = 256;
/** Ended sessions remembered, to refuse a late message of one rather than start a child. */
const ENDED_SIDS = 4096;

interface Session {
  sid: string;
  outbound: Outbound;
  inFlight: Map<string, InFlight>;
  /** Ids of requests that finished (answered or cancelled): a repeat is not forwarded. */
  recent: BoundedSet<string>;
  /** Ids the client cancelled: a late response is dropped. */
  cancelled: BoundedSet<string>;
  /** Progress tokens (idKey) of finished requests: a late progress is dropped. */
  doneTokens: BoundedSet<string>;
  child: StdioChild | undefined;
  /** running: child started or starting; exited: it exited, the session is being ended. */
  phase: 'new' | 'running' | 'exited';
  /** `shared`: this session's initialize was answered. */
  initialized: boolean;
  paused: boolean;
  /** Highest seq the client acked. */
  acked: number;
  ackWaiter: (() => void) | undefined;
}

type InitState =
  | { state: 'none' }
  | { state: 'pending'; upstreamId: number; waiters: { s: Session; id: JsonRpcId }[] }
  | { state: 'done'; result: unknown };

export class McpHost {
  private readonly sessions = new Map<string, Session>();
  /** Sessions that ended: a message of one handled late (its claim passed first) is refused. */
  private readonly ended = new BoundedSet<string>(ENDED_SIDS);
  private readonly children = new Set<StdioChild>();
  private readonly limiter: RepeatLimiter;
  private readonly maxInFlight: number;
  private readonly counts: McpHostStats = {
    childrenStarted: 0,
    childrenRunning: 0,
    linesDropped: 0,
    linesDroppedByReason: { not_json: 0, not_jsonrpc: 0, too_long: 0 },
    duplicateRequests: 0,
    sessionsEndedByExit: 0,
  };
  private stopping = false;
  private readonly offs: (() => void)[];
  private readonly exitHook = (): void => {
    for (const c of this.children) c.killNow();
  };
  // `shared` mode: the one child, its id routes and the cached initialize result.
  private shared: StdioChild | undefined;
  private nextId = 1;
  private readonly routes = new Map<number, { s: Session; f: InFlight }>();
  private init: InitState = { state: 'none' };
  private initializedForwarded = false;

  constructor(
    readonly server: McpHostServer,
    private readonly o: McpHostOptions,
  ) {
    this.maxInFlight = o.maxInFlight ?? 4096;
    this.limiter = new RepeatLimiter(
      (line) => o.log[line.level](line.fields, line.msg),
      systemClock,
    );
    this.offs = [
      server.on('end', (e) => this.sessionGone(e.sid)),
      server.on('reap', (e) => this.sessionGone(e.sid)),
      server.on('ack', (e) => {
        const s = this.sessions.get(e.sid);
        if (s === undefined) return;
        s.acked = Math.max(s.acked, e.seq);
        s.ackWaiter?.();
      }),
      // Shutdown: children exiting now are not failures; stop them while the server closes.
      server.on('shutdown', () => void this.stop()),
    ];
    // A parent that exits without stop() (a second signal) still takes its children along.
    process.on('exit', this.exitHook);
  }

  /** The client-message handler (`server.onMessage(m => host.handle(m))`). */
  async handle(m: ClientMessage): Promise<void> {
    const c = classify(m.data);
    if (c === undefined)
      throw new NackError(
        'invalid_jsonrpc',
        'mcp-serve: each message must be one JSON-RPC 2.0 message object (no batches)',
      );
    if (this.stopping)
      throw new NackError('draining', 'mcp-serve is shutting down', { retryable: true });
    if (!this.sessions.has(m.sid) && this.ended.has(m.sid))
      throw new NackError('unknown_session', 'the session no longer exists');
    const s = this.session(m.sid);
    if (s.phase === 'exited')
      throw new NackError(
        'mcp_server_exited',
        'the MCP server of this session exited: start a new session and initialize again',
      );
    if (this.o.shared === true) return this.handleShared(s, c);
    if (c.kind === 'request') {
      if (!this.admit(s, c.id)) return;
      const token = progressTokenOf(c.message);
      // A token used again by a new request is live again.
      if (token !== undefined) s.doneTokens.delete(idKey(token));
      s.inFlight.set(idKey(c.id), {
        id: c.id,
        upstreamId: c.id,
        ...(token === undefined ? {} : { token }),
      });
    } else if (c.kind === 'notification' && c.method === 'notifications/cancelled') {
      const rid = cancelledRequestId(c.message);
      if (rid !== undefined && s.inFlight.has(idKey(rid))) {
        this.finish(s, idKey(rid));
        s.cancelled.add(idKey(rid));
      }
    }
    const child = s.child ?? this.startChild(s);
    try {
      await child.write(c.message);
    } catch {
      // The child is gone: its exit answers the requests in flight and ends the session.
    }
  }

  stats(): McpHostStats {
    return {
      ...this.counts,
      linesDroppedByReason: { ...this.counts.linesDroppedByReason },
    };
  }

  private stopped: Promise<void> | undefined;

  /**
   * Stops every child (requests in flight cancelled, stdin closed, SIGTERM, SIGKILL) and
   * resolves when all are gone. Called on the server's `shutdown` and by the CLI after close.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const s of this.sessions.values()) s.outbound.gone = true;
      const children = [...this.children];
      for (const s of this.sessions.values()) this.cancelInFlight(s);
      await Promise.all(children.map((c) => c.stop()));
      for (const off of this.offs) off();
      process.off('exit', this.exitHook);
      this.limiter.flush();
      this.o.log.info({ ...this.stats() }, 'mcp-serve: MCP servers stopped');
    })();
    return this.stopped;
  }

  /** Rate-limited log line (one per key per 10 s, with a count of the others). */
  limited(key: string, level: LineLevel, fields: Record<string, unknown>, msg: string): void {
    if (this.o.log.isLevelEnabled(level)) this.limiter.log(key, { level, fields, msg });
  }

  private session(sid: string): Session {
    let s = this.sessions.get(sid);
    if (s !== undefined) return s;
    const created: Session = {
      sid,
      outbound: new Outbound(this, sid, (pending) => this.backlog(created, pending)),
      inFlight: new Map(),
      recent: new BoundedSet(RECENT_IDS),
      cancelled: new BoundedSet(RECENT_IDS),
      doneTokens: new BoundedSet(RECENT_IDS),
      child: undefined,
      phase: 'new',
      initialized: false,
      paused: false,
      acked: 0,
      ackWaiter: undefined,
    };
    s = created;
    this.sessions.set(sid, s);
    return s;
  }

  /** A request may go on: not a repeat of an id in flight or recently answered, and room. */
  private admit(s: Session, id: JsonRpcId): boolean {
    const k = idKey(id);
    if (s.inFlight.has(k) || s.recent.has(k)) {
      this.counts.duplicateRequests++;
      this.limited(
        'duplicate',
        'warn',
        { sid: s.sid, id, duplicateRequests: this.counts.duplicateRequests },
        'mcp-serve: a request id the session already used was not forwarded again',
      );
      return false;
    }
    if (s.inFlight.size >= this.maxInFlight) {
      s.outbound.push(
        errorResponse(id, {
          code: RPC.serverError,
          message: `too many requests in flight for this session (${this.maxInFlight})`,
        }),
      );
      return false;
    }
    return true;
  }

  /** The request `k` is over (answered or cancelled). */
  private finish(s: Session, k: string): InFlight | undefined {
    const f = s.inFlight.get(k);
    if (f === undefined) return undefined;
    s.inFlight.delete(k);
    s.recent.add(k);
    if (f.token !== undefined) s.doneTokens.add(idKey(f.token));
    return f;
  }

  private backlog(s: Session, pending: number): void {
    if (this.o.shared === true) {
      if (pending > SHARED_BACKLOG_LIMIT && !s.outbound.gone) {
        s.outbound.gone = true;
        this.o.log.warn(
          { sid: s.sid, pending },
          'mcp-serve --shared: client too far behind, ending its session',
        );
        void this.endSession(s, 'the client fell too far behind the shared MCP server');
      }
      return;
    }
    const child = s.child;
    if (child === undefined) return;
    if (!s.paused && pending > BACKLOG_PAUSE) {
      s.paused = true;
      child.pauseOutput();
    } else if (s.paused && pending <= BACKLOG_RESUME) {
      s.paused = false;
      child.resumeOutput();
    }
  }

  private spawn(
    label: string,
    onMessage: (c: Classified) => void,
    onClose: (child: StdioChild, info: ExitInfo) => void,
  ): StdioChild {
    const onTooLarge = (id: JsonRpcId, bytes: number): void =>
      onMessage({
        kind: 'response',
        id,
        message: errorResponse(id, {
          code: RPC.serverError,
          message: `the MCP server's response (${bytes} bytes) is larger than resilient-ws may send (maxFrame)`,
        }),
      });
    const log = this.o.log.child(this.o.shared === true ? { mcp: 'shared' } : { sid: label });
    const child: StdioChild = new StdioChild({
      ...this.o.command,
      maxLineBytes: this.o.maxLineBytes,
      log,
      ...(this.o.termAfterMs === undefined ? {} : { termAfterMs: this.o.termAfterMs }),
      ...(this.o.killAfterMs === undefined ? {} : { killAfterMs: this.o.killAfterMs }),
      onMessage,
      onDrop: (reason, bytes, preview, responseTo) => {
        this.counts.linesDropped++;
        this.counts.linesDroppedByReason[reason]++;
        this.limited(
          `drop:${reason}`,
          'warn',
          {
            ...(this.o.shared === true ? {} : { sid: label }),
            pid: child.pid,
            reason,
            bytes,
            ...(preview === '' ? {} : { preview }),
            linesDropped: this.counts.linesDropped,
          },
          'mcp-serve: MCP server stdout line dropped (not a JSON-RPC message)',
        );
        // A response too large to read: its request gets an error instead of hanging.
        if (responseTo !== undefined) onTooLarge(responseTo, bytes);
      },
      onClose: (info) => {
        this.children.delete(child);
        this.counts.childrenRunning--;
        log.info(
          // The message only: a spawn error lists the arguments, which may carry a key.
          { pid: child.pid, code: info.code, signal: info.signal, error: info.error?.message },
          'mcp server exited',
        );
        onClose(child, info);
      },
    });
    this.children.add(child);
    this.counts.childrenStarted++;
    this.counts.childrenRunning++;
    log.info({ pid: child.pid, command: this.o.command.command }, 'mcp server started');
    return child;
  }

  // ---- one child per session ------------------------------------------------------------

  private startChild(s: Session): StdioChild {
    s.phase = 'running';
    const child = this.spawn(
      s.sid,
      (c) => this.fromChild(s, c),
      (_child, info) => void this.childClosed(s, info),
    );
    s.child = child;
    return child;
  }

  private fromChild(s: Session, c: Classified): void {
    if (c.kind === 'response') {
      if (c.id !== null) {
        const k = idKey(c.id);
        if (s.cancelled.has(k)) return; // the client gave up on it: a late answer is noise
        this.finish(s, k);
      }
      s.outbound.push(c.message);
      return;
    }
    if (c.kind === 'notification' && c.method === 'notifications/progress') {
      const token = notifiedProgressToken(c.message);
      if (token !== undefined) {
        // Progress after the response breaks the SDK's client (unknown token): dropped.
        if (s.doneTokens.has(idKey(token))) return;
        s.outbound.push(c.message, progressKey(token));
        return;
      }
    }
    s.outbound.push(c.message);
  }

  private async childClosed(s: Session, info: ExitInfo): Promise<void> {
    if (s.child !== undefined) s.child = undefined;
    if (this.stopping || !this.sessions.has(s.sid)) return; // stopped on purpose
    s.phase = 'exited';
    this.counts.sessionsEndedByExit++;
    await this.failInFlight(s, exitReason(info));
    await this.endSession(s, exitReason(info));
  }

  // ---- one shared child -----------------------------------------------------------------

  private async handleShared(s: Session, c: Classified): Promise<void> {
    if (c.kind === 'response') return; // server → client requests are never forwarded
    const child = this.shared ?? this.startShared();
    s.child = child;
    s.phase = 'running';
    let message: JsonRpcObject;
    if (c.kind === 'request') {
      if (!this.admit(s, c.id)) return;
      const token = progressTokenOf(c.message);
      const k = idKey(c.id);
      if (c.method === 'initialize') {
        const init = this.init;
        if (init.state === 'done') {
          s.recent.add(k);
          s.initialized = true;
          s.outbound.push({ jsonrpc: '2.0', id: c.id, result: init.result });
          return;
        }
        if (init.state === 'pending') {
          s.inFlight.set(k, { id: c.id, upstreamId: init.upstreamId });
          init.waiters.push({ s, id: c.id });
          return;
        }
      }
      const n = this.nextId++;
      const f: InFlight = { id: c.id, upstreamId: n, ...(token === undefined ? {} : { token }) };
      s.inFlight.set(k, f);
      if (c.method === 'initialize')
        this.init = { state: 'pending', upstreamId: n, waiters: [{ s, id: c.id }] };
      else this.routes.set(n, { s, f });
      message = { ...c.message, id: n };
      if (token !== undefined) message = withProgressToken(message, n);
    } else if (c.method === 'notifications/initialized') {
      if (this.initializedForwarded) return;
      this.initializedForwarded = true;
      message = c.message;
    } else if (c.method === 'notifications/cancelled') {
      const rid = cancelledRequestId(c.message);
      const f = rid === undefined ? undefined : this.finish(s, idKey(rid));
      if (f === undefined || rid === undefined) return;
      s.cancelled.add(idKey(rid));
      if (typeof f.upstreamId !== 'number' || !this.routes.has(f.upstreamId)) return;
      this.routes.delete(f.upstreamId);
      message = withParam(c.message, 'requestId', f.upstreamId);
    } else if (c.method === 'notifications/progress') {
      return; // progress of a server → client request: there are none
    } else {
      message = c.message;
    }
    try {
      await child.write(message);
    } catch {
      // The child is gone: its exit answers the requests in flight.
    }
  }

  private startShared(): StdioChild {
    const child = this.spawn(
      'shared',
      (c) => this.fromShared(child, c),
      (closed, info) => void this.sharedClosed(closed, info),
    );
    this.shared = child;
    return child;
  }

  private fromShared(child: StdioChild, c: Classified): void {
    if (c.kind === 'request') {
      // Which session would answer? None can be told: refused, except ping.
      child.send(
        c.method === 'ping'
          ? { jsonrpc: '2.0', id: c.id, result: {} }
          : errorResponse(c.id, {
              code: RPC.methodNotFound,
              message: `mcp-serve --shared does not route server-to-client requests (${c.method})`,
            }),
      );
      return;
    }
    if (c.kind === 'response') {
      const n = c.id;
      const init = this.init;
      if (init.state === 'pending' && n === init.upstreamId) {
        const ok = 'result' in c.message;
        this.init = ok ? { state: 'done', result: c.message.result } : { state: 'none' };
        for (const w of init.waiters) {
          if (this.finish(w.s, idKey(w.id)) === undefined) continue; // its session ended
          if (ok) w.s.initialized = true;
          w.s.outbound.push({ ...c.message, id: w.id });
        }
        return;
      }
      const route = typeof n === 'number' ? this.routes.get(n) : undefined;
      if (route === undefined) {
        this.o.log.debug({ id: n }, 'mcp-serve --shared: a response with no route was dropped');
        return;
      }
      this.routes.delete(n as number);
      this.finish(route.s, idKey(route.f.id));
      route.s.outbound.push({ ...c.message, id: route.f.id });
      return;
    }
    if (c.method === 'notifications/progress') {
      const token = notifiedProgressToken(c.message);
      const route = typeof token === 'number' ? this.routes.get(token) : undefined;
      if (route?.f.token === undefined) return;
      route.s.outbound.push(
        withParam(c.message, 'progressToken', route.f.token),
        progressKey(route.f.token),
      );
      return;
    }
    if (c.method === 'notifications/cancelled') return; // of a request it never sent us
    // Logging, list changes, resource updates: every initialized session gets them.
    const key = c.method.endsWith('/list_changed')
      ? `mcp:n:${c.method}`.slice(0, MAX_KEY_LENGTH)
      : undefined;
    for (const s of this.sessions.values())
      if (s.initialized && s.child === child) s.outbound.push(c.message, key);
  }

  private async sharedClosed(child: StdioChild, info: ExitInfo): Promise<void> {
    if (this.shared === child) {
      this.shared = undefined;
      this.routes.clear();
      this.init = { state: 'none' };
      this.initializedForwarded = false;
    }
    if (this.stopping) return;
    const reason = exitReason(info);
    const affected = [...this.sessions.values()].filter((s) => s.child === child);
    for (const s of affected) s.phase = 'exited';
    this.counts.sessionsEndedByExit += affected.length;
    await Promise.all(
      affected.map(async (s) => {
        await this.failInFlight(s, reason);
        await this.endSession(s, reason);
      }),
    );
  }

  // ---- lifetime ---------------------------------------------------------------------------

  /** A JSON-RPC error for every request in flight, sent and (when attached) acked. */
  private async failInFlight(s: Session, reason: string): Promise<void> {
    await s.outbound.flushed(); // the child's last answers go first
    for (const f of s.inFlight.values())
      s.outbound.push(errorResponse(f.id, { code: RPC.serverError, message: reason }));
    s.inFlight.clear();
    await s.outbound.flushed();
    await this.acked(s, this.o.exitAckWaitMs ?? 2000);
  }

  /** Resolves when the client acked everything sent, or after `ms`, or at once if detached. */
  private acked(s: Session, ms: number): Promise<void> {
    if (s.outbound.lastSeq <= s.acked || !this.server.isAttached(s.sid)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        s.ackWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      s.ackWaiter = () => {
        if (s.acked >= s.outbound.lastSeq) done();
      };
    });
  }

  private async endSession(s: Session, reason: string): Promise<void> {
    try {
      await this.server.endSession(s.sid, { reason: reason.slice(0, MAX_END_REASON) });
    } catch (error) {
      this.o.log.warn({ sid: s.sid, err: error }, 'mcp-serve: could not end the session');
    }
    this.sessionGone(s.sid);
  }

  /** The session ended (bye, admin, TTL): its requests are cancelled, its child stopped. */
  private sessionGone(sid: string): void {
    this.ended.add(sid);
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    this.sessions.delete(sid);
    s.outbound.gone = true;
    s.acked = Number.POSITIVE_INFINITY;
    s.ackWaiter?.();
    this.cancelInFlight(s);
    if (this.o.shared === true) {
      if (this.init.state === 'pending')
        this.init.waiters = this.init.waiters.filter((w) => w.s !== s);
      return;
    }
    const child = s.child;
    if (child !== undefined && !child.exited) {
      this.o.log.debug({ sid, pid: child.pid }, 'mcp-serve: session over, stopping its MCP server');
      void child.stop();
    }
  }

  /** `notifications/cancelled` to the child for each request of `s` in flight. */
  private cancelInFlight(s: Session): void {
    const child = s.child;
    for (const f of s.inFlight.values()) {
      if (this.o.shared === true) {
        if (typeof f.upstreamId === 'number') this.routes.delete(f.upstreamId);
        if (this.init.state === 'pending' && f.upstreamId === this.init.upstreamId) continue;
      }
      child?.send({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: f.upstreamId, reason: 'the resilient-ws session ended' },
      });
    }
    s.inFlight.clear();
  }
}

function exitReason(info: ExitInfo): string {
  if (info.error !== undefined) return `MCP server could not be started: ${info.error.message}`;
  if (info.signal !== null) return `MCP server exited (signal ${info.signal})`;
  return `MCP server exited (code ${info.code ?? 'unknown'})`;
}
