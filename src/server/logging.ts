/**
 * Structured logs (pino) fed by the core's events. JSON by default, pretty for development.
 * Nothing per message at info level; keys, tokens and Authorization headers never reach a
 * log line (sessions are logged by sid only, HTTP requests by path without the query),
 * repeated identical warnings are rate-limited with a count, and high-frequency lines below
 * warn may be sampled (`logSample`), with a count too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { systemClock, type Clock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';
import type { LogSampleKind, LogSampling } from '../config/log-sample.js';
import { RepeatLimiter, type LineLevel, type LogLine } from './log-limiter.js';
import { LogSampler } from './log-sampler.js';

export interface LoggerOptions {
  /** pino level name, or `silent`. */
  readonly level: string;
  /** `json` (default): one object per line; `pretty`: pino-pretty, for a terminal. */
  readonly format?: 'json' | 'pretty';
  /** Where lines go; default stdout. */
  readonly destination?: DestinationStream;
}

// A second line of defence: the code logs sids, never keys, but a field added later (a frame,
// a request, an error's details) must not carry a secret out. Every logged object is walked
// (redactSecrets) and a field with one of these names is replaced at any depth, whatever the
// case of its name; fast-redact's paths below also cover the first levels of child-logger
// bindings, which pino does not pass through the log formatter.
const SECRET_FIELDS = ['key', 'token', 'adminToken', 'authorization', 'cookie', 'password'];
const SECRET_NAMES = new Set(
  [...SECRET_FIELDS, 'x-admin-token', 'set-cookie', 'proxy-authorization'].map((f) =>
    f.toLowerCase(),
  ),
);
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ...['resume.key', '*.resume.key', '*.*.resume.key'],
  ...['headers.authorization', 'headers.cookie', 'headers["x-admin-token"]'],
  ...['*.headers.authorization', '*.headers.cookie', '*.headers["x-admin-token"]'],
];
const CENSOR = '[redacted]';
/** Levels below the logged object that are walked; deeper values are replaced, not written. */
export const REDACT_MAX_DEPTH = 10;
// Top-level fields with their own serializer: `req` keeps its IncomingMessage (the serializer
// reads the socket and the request id), `err` is redacted by its serializer.
const SERIALIZED = new Set(['req', 'err']);

/**
 * A copy of `value` as JSON would write it, with every secret field (see SECRET_FIELDS, any
 * case) replaced by `[redacted]` at any depth. Errors become pino's error objects first
 * (type, message, stack and their own fields, `details` included); values with a toJSON
 * (dates, buffers, URLs) are kept as they are. Cycles become `[circular]` and anything
 * deeper than REDACT_MAX_DEPTH levels `[too deep]`, so nothing unwalked is ever written.
 */
export function redactSecrets(value: unknown): unknown {
  return scrub(value, 0, new Set());
}

function scrub(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[circular]';
  if (depth > REDACT_MAX_DEPTH) return '[too deep]';
  let source: object = value;
  if (value instanceof Error) source = pino.stdSerializers.err(value);
  else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  ancestors.add(value);
  let copy: unknown;
  if (Array.isArray(source)) {
    copy = source.map((item: unknown) => scrub(item, depth + 1, ancestors));
  } else {
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(source)) {
      out[name] = SECRET_NAMES.has(name.toLowerCase())
        ? CENSOR
        : scrub(field, depth + 1, ancestors);
    }
    copy = out;
  }
  ancestors.delete(value);
  return copy;
}

/** The `log` formatter: the logged object, redacted; serialized fields are left to their serializer. */
function redactLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(obj)) {
    if (SECRET_NAMES.has(name.toLowerCase())) out[name] = CENSOR;
    else if (SERIALIZED.has(name)) out[name] = field;
    else out[name] = scrub(field, 0, new Set([obj]));
  }
  return out;
}

export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level,
    base: { service: 'resilient-ws' },
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    formatters: { log: redactLogObject },
    serializers: { req: requestFields, err: redactSecrets },
  };
  if (options.format === 'pretty') {
    // In-process and synchronous (not a worker transport): lines are not lost when the CLI
    // exits right after shutdown. Pretty printing is slower; it is the development preset's.
    const stream = pretty({
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      ...(options.destination === undefined
        ? {}
        : { destination: options.destination as NodeJS.WritableStream, colorize: false }),
    });
    return pino(config, stream);
  }
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}

/** A request as logged: never its headers (Authorization, cookies), never its query string. */
function requestFields(req: IncomingMessage): Record<string, unknown> {
  return {
    id: requestId(req),
    method: req.method,
    path: pathOf(req),
    remote: req.socket?.remoteAddress,
  };
}

function pathOf(req: IncomingMessage): string {
  // A query string may carry a token (`/ws?token=`); the path alone names the route.
  return (req.url ?? '/').split('?')[0] ?? '/';
}

// Bounded and printable, so a client cannot inject long or control-character ids into logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:+=/-]{1,128}$/;
const ids = new WeakMap<IncomingMessage, string>();

/**
 * The request's id: its `x-request-id` header when that is 1–128 safe characters (so a proxy's
 * id links its logs to ours), else a new UUID. The same request always gets the same id.
 * The route handler should echo it in the `x-request-id` response header.
 */
export function requestId(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    const header = req.headers['x-request-id'];
    id = typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
    ids.set(req, id);
  }
  return id;
}

/** One debug line per HTTP request: id, method, path (no query), status and duration. */
export function logRequest(log: Logger, req: IncomingMessage, status: number, ms: number): void {
  if (!log.isLevelEnabled('debug')) return;
  const line = requestLine(req, status, ms);
  log.debug(line.fields, line.msg);
}

function requestLine(req: IncomingMessage, status: number, ms: number): LogLine {
  return {
    level: 'debug',
    fields: {
      reqId: requestId(req),
      method: req.method,
      path: pathOf(req),
      status,
      ms: Math.round(ms * 10) / 10,
    },
    msg: 'http request',
  };
}

export interface AttachedLogger {
  /** logRequest() through this logger's sampling (kind `httpRequest`). */
  logRequest(req: IncomingMessage, status: number, ms: number): void;
  /** Writes pending `repeated` and `sampled` counts (call at shutdown) and stops listening. */
  detach(): void;
}

export interface AttachOptions {
  readonly clock?: Clock;
  /**
   * Window of the repeated-line rate limit, and of sampling (a kind quiet this long starts
   * over; a suppressed count this old is written by a timer that runs every window, so at
   * most two windows late); default 10 s.
   */
  readonly repeatWindowMs?: number;
  /** N per kind of the lines below warn to sample (`logSample`, parsed); default none. */
  readonly sample?: LogSampling;
}

/**
 * Logs the core's events. Levels: info for what an operator acts on (partial resumes, breaker
 * changes, shutdown), warn for failures (rate-limited per kind; breaker transitions never
 * are), debug for session life cycle, trace for per-message events (only subscribed when
 * trace is on). Debug and trace lines of the kinds in `sample` are sampled; warnings and
 * errors never are.
 */
export function attachLogger(
  events: Emitter<CoreEvents>,
  log: Logger,
  options: AttachOptions = {},
): AttachedLogger {
  const clock = options.clock ?? systemClock;
  const windowOption =
    options.repeatWindowMs === undefined ? {} : { windowMs: options.repeatWindowMs };
  const limiter = new RepeatLimiter((line) => write(log, line), clock, windowOption);
  const sampler = new LogSampler(
    (line) => write(log, line),
    clock,
    options.sample ?? {},
    windowOption,
  );
  const limited = (
    key: string,
    level: LineLevel,
    fields: Record<string, unknown>,
    msg: string,
  ): void => {
    if (log.isLevelEnabled(level)) limiter.log(key, { level, fields, msg });
  };
  // Routine lines (below warn) of a kind that may be sampled. A disabled level is not counted:
  // a count stands for lines that would have been written.
  const routine = (
    kind: LogSampleKind,
    level: 'info' | 'debug' | 'trace',
    fields: Record<string, unknown>,
    msg: string,
  ): void => {
    if (log.isLevelEnabled(level)) sampler.log(kind, { level, fields, msg });
  };
  const offs = [
    events.on('session', (e) =>
      routine('session', 'debug', { sid: e.sid, resumed: e.resumed }, 'session attached'),
    ),
    events.on('resume', (e) => {
      // A node restart makes every client's resume partial at once: one line per reason.
      if (e.resumed && !e.recovered)
        limited(
          `resume:${e.reason}`,
          'info',
          { sid: e.sid, reason: e.reason, missing: e.missing },
          'partial resume',
        );
    }),
    events.on('disconnect', (e) =>
      routine(
        'disconnect',
        'debug',
        { sid: e.sid, code: e.code, reason: e.reason },
        'connection closed',
      ),
    ),
    events.on('reap', (e) =>
      routine('reap', 'debug', { sid: e.sid, leftover: e.leftover }, 'session reaped'),
    ),
    events.on('end', (e) => routine('end', 'debug', { sid: e.sid, by: e.by }, 'session ended')),
    events.on('heartbeatTimeout', (e) =>
      routine('heartbeatTimeout', 'debug', { sid: e.sid }, 'heartbeat timeout'),
    ),
    events.on('drop', (e) => {
      const fields = { sid: e.sid, reason: e.reason, count: e.count };
      // Overflow means a consumer cannot keep up: worth a warning. TTL and reaped sessions
      // are the normal end of messages nobody came back for. The warning is never sampled.
      if (e.reason === 'overflow') limited('drop:overflow', 'warn', fields, 'outbox overflow');
      else routine('drop', 'debug', fields, 'messages dead-lettered');
    }),
    events.on('frameError', (e) =>
      limited(`frame:${e.code}`, 'warn', { sid: e.sid, code: e.code }, 'frame refused'),
    ),
    events.on('clientMessageRefused', (e) =>
      limited(`refused:${e.code}`, 'warn', { sid: e.sid, code: e.code }, 'client message refused'),
    ),
    events.on('upstream', (e) => {
      const fields = {
        outcome: e.outcome,
        status: e.status,
        attempts: e.attempts,
        ms: e.durationMs,
      };
      if (e.outcome === 'ok') return;
      if (e.outcome === 'rejected')
        routine('upstream', 'debug', fields, 'upstream rejected a message');
      else limited(`upstream:${e.outcome}`, 'warn', fields, 'upstream call failed');
    }),
    events.on('breaker', (e) => {
      // Never rate-limited: transitions are rare, each one matters, and a held-back line
      // written later would state a breaker's old state after its current one.
      const level = e.to === 'open' || e.to === 'forced_open' ? 'warn' : 'info';
      log[level]({ ...e }, 'circuit breaker state changed');
    }),
    events.on('shutdown', (e) => log.info({ timeoutMs: e.timeoutMs }, 'shutdown started')),
    events.on('error', (e) =>
      limited(
        `error:${e.where}`,
        'error',
        { where: e.where, err: e.error },
        'background operation failed',
      ),
    ),
  ];
  // Per-message events: subscribed only at trace, so that at other levels they cost nothing.
  // Ids and sizes only: message data may hold anything.
  if (log.isLevelEnabled('trace')) {
    offs.push(
      events.on('connection', (e) =>
        routine('connection', 'trace', { remote: e.remote }, 'connection accepted'),
      ),
      events.on('send', (e) =>
        routine('send', 'trace', { sid: e.sid, seq: e.seq, bytes: e.bytes }, 'send'),
      ),
      events.on('ack', (e) =>
        routine('ack', 'trace', { sid: e.sid, seq: e.seq, removed: e.removed }, 'ack'),
      ),
      events.on('clientMessage', (e) =>
        routine(
          'clientMessage',
          'trace',
          { sid: e.sid, id: e.id, dup: e.dup, ok: e.ok },
          'client message handled',
        ),
      ),
    );
  }
  return {
    logRequest(req, status, ms) {
      if (!log.isLevelEnabled('debug')) return;
      sampler.log('httpRequest', requestLine(req, status, ms));
    },
    detach() {
      for (const off of offs) off();
      limiter.flush();
      sampler.flush();
    },
  };
}

function write(log: Logger, line: LogLine): void {
  log[line.level](line.fields, line.msg);
}
