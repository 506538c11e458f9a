/**
 * `resilient-ws mcp-bridge <ws-url>`: a stdio MCP endpoint for MCP clients that only speak
 * stdio (desktop apps, editors), in front of a resilient-ws server.
 *
 * - stdin: newline-delimited JSON-RPC. Each message is `client.send(message)` on one
 *   `ResilientClient` (`onSessionLost: 'stop'`): accepted at once, queued until the first
 *   `welcome`, sent in order, resent across reconnects until the server answers `ok`. A line
 *   that is not JSON gets a `-32700` error (id null), JSON that is not JSON-RPC a `-32600`; a
 *   request the server refuses (a nack, too large) an error response for its id.
 * - stdout: each message of the server (`data` of a `message` event), `JSON.stringify` + `\n`,
 *   waiting for `drain`. Nothing else is ever written there: logs are JSON lines on stderr.
 * - A dropped connection is not an error: the client reconnects and resumes the session.
 * - stdin EOF, SIGTERM, SIGINT: `client.close()` (bye: the session ends), exit 0.
 * - The session lost or ended, a terminal close, the first connection timing out: a
 *   JSON-RPC error (-32000) for every request still open, the reason on stderr, exit 1.
 *
 * Needs neither the MCP SDK nor anything else than the client SDK and pino at run time.
 */
import type { Readable, Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ResilientClient, isClientError } from '../../client/index.js';
import { bridgeUsage, parseBridgeArgs, type BridgeOptions } from './bridge-args.js';
import {
  JSONRPC_ERRORS,
  LineSplitter,
  classify,
  errorResponse,
  idKey,
  type JsonRpcId,
  type LineEvent,
} from './bridge-jsonrpc.js';
import { JsonLineWriter } from './bridge-output.js';

/** Exit codes of the bridge (also in its --help and docs/mcp.md). */
export const BRIDGE_EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** After stdin EOF, how long sends still unanswered may take before the session is ended. */
const EOF_DRAIN_MS = 5_000;
/** The longest wait for the client's `close` after `close()` (it gives up on bye after 5 s). */
const CLOSE_WAIT_MS = 6_000;
/** The longest wait for stdout to take the last lines before exiting. */
const FLUSH_WAIT_MS = 2_000;
/** Progress tokens of answered requests remembered, to drop their late progress. */
const FINISHED_TOKENS = 10_000;
/** Ids of requests the bridge answered itself remembered, to drop a late server answer. */
const ANSWERED_HERE = 10_000;

export interface BridgeIo {
  /** The arguments after `mcp-bridge`. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Default `process.stdin`. */
  stdin?: Readable;
  /** Default `process.stdout`: JSON-RPC only. */
  stdout?: Writable;
  /** Log lines and usage (one call per line, newline included). Default fd 2, synchronous. */
  stderr?: DestinationStream;
  /** Handle SIGTERM and SIGINT (default true; tests running the bridge in-process say false). */
  signals?: boolean;
}

interface OpenRequest {
  id: JsonRpcId;
  method: string;
  /** `params._meta.progressToken`, keyed with idKey. */
  token: string | undefined;
}

interface Stopping {
  why: 'eof' | 'signal' | 'stdout' | 'lost';
  reason: string;
  exitCode: number;
}

/** Runs the bridge; resolves with the exit code once the session is closed and stdout flushed. */
export async function mcpBridge(io: BridgeIo): Promise<number> {
  const stderr = io.stderr ?? pino.destination({ fd: 2, sync: true });
  const parsed = parseBridgeArgs(io.argv, io.env);
  if (parsed.kind === 'help') {
    stderr.write(`${bridgeUsage()}\n`);
    return BRIDGE_EXIT.ok;
  }
  if (parsed.kind === 'error') {
    stderr.write(
      `resilient-ws mcp-bridge: ${parsed.message}\n\n${bridgeUsage().split('\n')[0]}\n` +
        'Every flag: resilient-ws mcp-bridge --help\n',
    );
    return BRIDGE_EXIT.usage;
  }
  const log = pino(
    {
      level: parsed.options.logLevel,
      base: { pid: process.pid, component: 'mcp-bridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['token', '*.token'], censor: '[redacted]' },
    },
    stderr,
  );
  return new Bridge(parsed.options, log, io).run();
}

export class Bridge {
  private readonly client: ResilientClient;
  private readonly stdin: Readable;
  private readonly out: JsonLineWriter;
  private readonly splitter: LineSplitter;
  /** Requests sent whose response has not been written yet, by idKey. */
  private readonly open = new Map<string, OpenRequest>();
  /** Requests the bridge answered itself (an error): a late answer of the server is dropped. */
  private readonly answeredHere = new Set<string>();
  /** Progress tokens (idKey) of answered requests, oldest first: their late progress is dropped. */
  private readonly finishedTokens = new Set<string>();
  private pendingSends = 0;
  private readonly waiters = new Set<() => void>();
  private welcomed = false;
  private lastFailure: string | undefined;
  private stopping: Stopping | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>;
  private resolveExit: (code: number) => void = () => {};
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];

  constructor(
    private readonly o: BridgeOptions,
    private readonly log: Logger,
    private readonly io: BridgeIo,
  ) {
    this.stdin = io.stdin ?? process.stdin;
    this.out = new JsonLineWriter(io.stdout ?? process.stdout, (error) => {
      this.log.warn({ err: error }, 'stdout failed (the MCP client went away): stopping');
      this.stop('stdout', 'stdout closed', BRIDGE_EXIT.ok);
    });
    // Lines up to twice the message limit are read, so a request just over it is answered
    // with an error for its id (message_too_large) rather than dropped with id null.
    this.splitter = new LineSplitter(o.maxMessageBytes * 2);
    this.client = new ResilientClient(o.url, {
      ...(o.token === undefined ? {} : { token: o.token }),
      backoff: { baseMs: o.backoffBaseMs, capMs: o.backoffCapMs },
      maxMessageBytes: o.maxMessageBytes,
      onSessionLost: 'stop',
    });
    this.closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
  }

  run(): Promise<number> {
    const exit = new Promise<number>((resolve) => (this.resolveExit = resolve));
    const u = new URL(this.o.url);
    this.log.info(
      {
        url: `${u.protocol}//${u.host}${u.pathname}`,
        tokenFrom: this.o.tokenSource,
        maxMessageBytes: this.o.maxMessageBytes,
      },
      'mcp-bridge starting',
    );
    if (this.o.tokenSource === 'flag')
      this.log.warn('--token is visible to other users of this machine (ps): prefer --token-env');
    this.wireClient();
    if (this.io.signals !== false) this.wireSignals();
    if (this.o.connectTimeoutMs > 0) {
      const ms = this.o.connectTimeoutMs;
      this.connectTimer = setTimeout(() => {
        if (this.welcomed) return;
        const last = this.lastFailure === undefined ? '' : ` (last attempt: ${this.lastFailure})`;
        this.stop('lost', `no connection to the resilient-ws server within ${ms} ms${last}`, 1);
      }, ms);
    }
    this.stdin.on('data', this.onData);
    this.stdin.once('end', this.onEnd);
    this.stdin.on('error', this.onStdinError);
    this.client.connect();
    return exit;
  }

  private wireClient(): void {
    const c = this.client;
    c.on('open', ({ sid, resumed }) => {
      if (!this.welcomed) {
        this.welcomed = true;
        clearTimeout(this.connectTimer);
        this.log.info({ sid }, 'connected: new session');
      } else {
        this.log.info({ sid, resumed }, 'reconnected');
      }
      this.wake();
    });
    c.on('resumed', (r) => {
      if (r.recovered) {
        this.log.debug({ reason: r.reason }, 'session resumed: nothing lost');
        return;
      }
      if (r.reason === 'gap')
        this.stop(
          'lost',
          `resilient-ws lost ${r.missing ?? 'some'} message(s) of the session while disconnected`,
          BRIDGE_EXIT.failure,
        );
      // unknown_session, epoch_changed: sessionLost follows.
    });
    c.on('gap', (g) => this.log.warn({ gap: g }, 'messages from the server were lost'));
    c.on('reconnecting', ({ attempt, delayMs, lastCloseCode, reason }) => {
      this.lastFailure = `close ${lastCloseCode}${reason === '' ? '' : `: ${reason}`}`;
      const fields = { attempt, delayMs, lastCloseCode, reason };
      if (attempt === 1) this.log.info(fields, 'connection lost: reconnecting');
      else this.log.debug(fields, 'reconnecting');
    });
    c.on('sessionLost', ({ reason }) =>
      this.stop(
        'lost',
        `resilient-ws session lost (${reason}): the server no longer has it`,
        BRIDGE_EXIT.failure,
      ),
    );
    c.on('sessionEnded', ({ reason, code }) =>
      this.stop(
        'lost',
        `the server ended the resilient-ws session (close ${code}${reason === '' ? '' : `: ${reason}`})`,
        BRIDGE_EXIT.failure,
      ),
    );
    c.on('close', ({ code, reason }) => {
      if (this.stopping === undefined)
        this.stop(
          'lost',
          `the resilient-ws connection was closed for good (close ${code}${reason === '' ? '' : `: ${reason}`})`,
          BRIDGE_EXIT.failure,
        );
    });
    c.on('error', ({ code, message }) => this.log.warn({ code }, message));
    c.on('message', ({ data, seq }) => this.fromServer(data, seq));
  }

  private wireSignals(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const handler = (): void => {
        if (this.stopping === undefined) {
          this.log.info({ signal }, 'signal: ending the session');
          this.stop('signal', signal, BRIDGE_EXIT.ok);
        } else {
          this.log.warn({ signal }, 'second signal: exiting now');
          this.resolveExit(signal === 'SIGINT' ? 130 : 143);
        }
      };
      process.on(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
  }

  // ---- stdin → server ------------------------------------------------------------------

  private readonly onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const ev of this.splitter.push(buf)) this.fromStdin(ev);
  };

  private readonly onEnd = (): void => {
    for (const ev of this.splitter.end()) this.fromStdin(ev);
    this.log.info('stdin closed: ending the session');
    this.stop('eof', 'stdin closed', BRIDGE_EXIT.ok);
  };

  private readonly onStdinError = (error: Error): void => {
    this.log.warn({ err: error }, 'stdin failed: ending the session');
    this.stop('eof', 'stdin failed', BRIDGE_EXIT.ok);
  };

  private fromStdin(ev: LineEvent): void {
    if (ev.kind === 'overlong') {
      const limit = this.o.maxMessageBytes * 2;
      this.refuseLine(`a line of ${ev.bytes} bytes, over ${limit} (twice --max-message-bytes)`);
      return;
    }
    if (ev.kind === 'notUtf8') {
      this.refuseLine(`a line of ${ev.bytes} bytes that is not UTF-8`);
      return;
    }
    if (ev.text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(ev.text);
    } catch (error) {
      this.refuseLine(
        `a line of ${ev.text.length} characters that is not JSON: ${(error as Error).message}`,
      );
      return;
    }
    const m = classify(value);
    if (m.kind === 'invalid') {
      this.log.warn({ id: m.id }, `stdin: not a JSON-RPC message: ${m.reason}`);
      this.out.write(
        errorResponse(m.id, JSONRPC_ERRORS.invalidRequest, `Invalid Request: ${m.reason}`),
      );
      return;
    }
    this.log.debug(
      { kind: m.kind, ...('method' in m ? { method: m.method } : {}), id: 'id' in m ? m.id : null },
      'stdin → server',
    );
    if (m.kind === 'request') {
      const key = idKey(m.id);
      if (this.stopping !== undefined && this.stopping.exitCode !== BRIDGE_EXIT.ok) {
        this.out.write(errorResponse(m.id, JSONRPC_ERRORS.sessionGone, this.stopping.reason));
        return;
      }
      const token = progressToken(m.message);
      this.open.set(key, { id: m.id, method: m.method, token });
      this.answeredHere.delete(key);
      if (token !== undefined) this.finishedTokens.delete(token);
    } else if (m.kind === 'notification' && m.method === 'notifications/cancelled') {
      // The server need not answer a cancelled request: it is no longer open.
      const requestId = (m.message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof requestId === 'string' || typeof requestId === 'number')
        this.settle(idKey(requestId));
    }
    this.pendingSends++;
    this.client.send(m.message).then(
      () => this.sendSettled(),
      (error: unknown) => {
        this.sendSettled();
        this.sendFailed(m.kind === 'request' ? m.id : undefined, m.kind, error);
      },
    );
  }

  /** A line that cannot be read as JSON: stderr, and a parse error (id null) on stdout. */
  private refuseLine(what: string): void {
    this.log.warn(`stdin: ${what}`);
    this.out.write(errorResponse(null, JSONRPC_ERRORS.parseError, `Parse error: ${what}`));
  }

  private sendFailed(id: JsonRpcId | undefined, kind: string, error: unknown): void {
    const code = isClientError(error) ? error.code : 'unknown';
    const message = error instanceof Error ? error.message : String(error);
    const lifecycle = code === 'session_lost' || code === 'closed' || code.startsWith('closed_');
    if (id === undefined) {
      // A notification or a response: nobody waits for an answer; the log says it.
      if (!lifecycle || this.stopping?.exitCode !== BRIDGE_EXIT.ok)
        this.log.warn({ code, kind }, `a message from stdin was not delivered: ${message}`);
      return;
    }
    if (lifecycle) {
      // Stopping: the session is gone (its errors are written already) or the client left.
      const s = this.stopping;
      if (s !== undefined && s.exitCode === BRIDGE_EXIT.ok) {
        this.log.debug({ id, code }, 'request not delivered: the bridge is stopping');
        return;
      }
      this.answer(id, JSONRPC_ERRORS.sessionGone, s?.reason ?? message, { rwsCode: code });
      return;
    }
    this.log.warn({ id, code }, `the server refused request ${String(id)}: ${message}`);
    this.answer(
      id,
      JSONRPC_ERRORS.internalError,
      `resilient-ws could not deliver the request: ${message}`,
      { rwsCode: code },
    );
  }

  private sendSettled(): void {
    this.pendingSends--;
    this.wake();
  }

  // ---- server → stdout -----------------------------------------------------------------

  private fromServer(data: unknown, seq: number | undefined): void {
    const m = classify(data);
    if (m.kind === 'invalid') {
      this.log.warn({ seq, reason: m.reason }, 'dropped a server message that is not JSON-RPC');
      return;
    }
    if (m.kind === 'response' && m.id !== null) {
      const key = idKey(m.id);
      if (this.answeredHere.has(key)) {
        this.log.debug({ id: m.id }, 'dropped a response to a request the bridge answered');
        return;
      }
      this.settle(key);
    } else if (m.kind === 'notification' && m.method === 'notifications/progress') {
      const token = progressTokenOf(m.message);
      if (token !== undefined && this.finishedTokens.has(token)) {
        this.log.debug({ seq }, 'dropped progress for a request already answered');
        return;
      }
    }
    this.log.debug(
      {
        seq,
        kind: m.kind,
        ...('method' in m ? { method: m.method } : {}),
        id: 'id' in m ? m.id : null,
      },
      'server → stdout',
    );
    this.out.write(data);
  }

  /** The request `key` has its answer (or was cancelled): no longer open. */
  private settle(key: string): OpenRequest | undefined {
    const r = this.open.get(key);
    if (r === undefined) return undefined;
    this.open.delete(key);
    if (r.token !== undefined) {
      this.finishedTokens.add(r.token);
      if (this.finishedTokens.size > FINISHED_TOKENS) {
        const oldest = this.finishedTokens.values().next().value;
        if (oldest !== undefined) this.finishedTokens.delete(oldest);
      }
    }
    return r;
  }

  /** Writes the bridge's own error response for an open request (once). */
  private answer(
    id: JsonRpcId,
    code: number,
    message: string,
    data?: Record<string, unknown>,
  ): void {
    const key = idKey(id);
    if (this.settle(key) === undefined) return;
    this.answeredHere.add(key);
    if (this.answeredHere.size > ANSWERED_HERE)
      this.answeredHere.delete(this.answeredHere.values().next().value!);
    this.out.write(errorResponse(id, code, message, data));
  }

  // ---- stopping --------------------------------------------------------------------------

  private stop(why: Stopping['why'], reason: string, exitCode: number): void {
    if (this.stopping !== undefined) return;
    this.stopping = { why, reason, exitCode };
    clearTimeout(this.connectTimer);
    if (exitCode !== BRIDGE_EXIT.ok) {
      this.log.error({ openRequests: this.open.size }, reason);
      for (const r of [...this.open.values()])
        this.answer(r.id, JSONRPC_ERRORS.sessionGone, reason);
    }
    void this.finish();
  }

  private async finish(): Promise<void> {
    const s = this.stopping!;
    this.stdin.off('data', this.onData);
    if (s.why !== 'eof') this.stdin.pause();
    if (s.why === 'eof' && this.pendingSends > 0) {
      // Let what was written before EOF reach the server (a last notification, say).
      const delivered = await this.waitUntil(
        () => this.pendingSends === 0 || this.client.state === 'closed',
        EOF_DRAIN_MS,
      );
      if (!delivered)
        this.log.warn(
          { unanswered: this.pendingSends },
          `messages not acknowledged by the server within ${EOF_DRAIN_MS} ms of stdin EOF`,
        );
    }
    const state = this.client.state;
    if (s.exitCode === BRIDGE_EXIT.ok && state !== 'open' && state !== 'closed' && this.welcomed)
      this.log.info(
        { state },
        'not connected: the session is left to expire on the server (sessionTtl)',
      );
    await this.client.close();
    await Promise.race([this.closed, sleep(CLOSE_WAIT_MS)]);
    this.log.info({ exitCode: s.exitCode }, 'mcp-bridge stopped');
    await this.out.flush(FLUSH_WAIT_MS);
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.resolveExit(s.exitCode);
  }

  /** Resolves true when `cond` holds (checked on each open and settled send), false at `ms`. */
  private waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, ms);
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      this.waiters.add(check);
      // The client may stop while we wait.
      void this.closed.then(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** `params._meta.progressToken` of a request, keyed with idKey. */
function progressToken(message: Record<string, unknown>): string | undefined {
  const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
  const t = meta?.progressToken;
  return typeof t === 'string' || typeof t === 'number' ? idKey(t) : undefined;
}

/** `params.progressToken` of a progress notification, keyed with idKey. */
function progressTokenOf(message: Record<string, unknown>): string | undefined {
  const t = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
  return typeof t === 'string' || typeof t === 'number' ? idKey(t) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
