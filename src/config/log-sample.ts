/**
 * The `logSample` setting: log sampling for high-frequency log lines (server/log-sampler.ts,
 * docs/operations.md "Logs"). Parsed here so that a bad value stops start-up like any other
 * setting (values.ts), and again by the CLI to build the sampler.
 *
 * Format: comma-separated entries, spaces around each ignored, empty entries skipped. An entry
 * is `kind:N` (write 1 line in N of that kind) or a bare `N`, the default for every sampled
 * kind not named (at most one). N is an integer from 1 to MAX_SAMPLE_EVERY; 1 is no sampling.
 * Kinds are the core events whose log lines are below warn, plus `httpRequest`, and are
 * matched whatever their case. Empty (the default): nothing is sampled.
 */

/**
 * The kinds that may be sampled: the per-connection, per-session and per-message lines (info,
 * debug, trace). `drop` and `upstream` also write warnings (an outbox overflow, a failed
 * call); those are never sampled, only their debug lines are.
 */
export const LOG_SAMPLE_KINDS = [
  'connection',
  'session',
  'disconnect',
  'end',
  'reap',
  'heartbeatTimeout',
  'drop',
  'upstream',
  'send',
  'ack',
  'clientMessage',
  'httpRequest',
] as const;

export type LogSampleKind = (typeof LOG_SAMPLE_KINDS)[number];

/** Largest N of an entry. */
export const MAX_SAMPLE_EVERY = 1_000_000;

/** N per kind; a kind that is absent (or 1) is not sampled. */
export type LogSampling = Readonly<Partial<Record<LogSampleKind, number>>>;

export type LogSampleParse =
  | { readonly ok: true; readonly every: LogSampling }
  | { readonly ok: false; readonly problem: string };

// Logged events that are not kinds, and why: named in the refusal, so that an operator who
// tries to sample warnings learns that they cannot be.
const NOT_SAMPLED = new Map<string, string>(
  Object.entries({
    resume: 'partial resume lines are rate-limited instead (one line per reason per window)',
    frameError: 'its lines are warnings, which are never sampled',
    clientMessageRefused: 'its lines are warnings, which are never sampled',
    error: 'its lines are errors, which are never sampled',
    breaker: 'every breaker change is written (the last line states the current state)',
    shutdown: 'it is written once',
  }).map(([name, why]) => [name.toLowerCase(), why]),
);

const BY_NAME = new Map<string, LogSampleKind>(LOG_SAMPLE_KINDS.map((k) => [k.toLowerCase(), k]));

/** The entries of a `logSample` value, or the first problem with them (quoting only the entry). */
export function parseLogSample(value: string): LogSampleParse {
  const named: Partial<Record<LogSampleKind, number>> = {};
  let fallback: number | undefined;
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const name = colon === -1 ? undefined : entry.slice(0, colon).trim();
    const count = parseEvery(colon === -1 ? entry : entry.slice(colon + 1).trim());
    if (name === undefined) {
      if (count === undefined) return refuse(`${quote(entry)} is neither kind:N nor N`);
      if (fallback !== undefined) return refuse('more than one N without a kind');
      fallback = count;
      continue;
    }
    const kind = BY_NAME.get(name.toLowerCase());
    if (kind === undefined) {
      const why = NOT_SAMPLED.get(name.toLowerCase());
      if (why !== undefined) return refuse(`${quote(name)} is not a sampled kind: ${why}`);
      return refuse(`${quote(name)} is not a sampled kind (${LOG_SAMPLE_KINDS.join(', ')})`);
    }
    if (count === undefined)
      return refuse(`${quote(entry)}: N must be an integer from 1 to ${MAX_SAMPLE_EVERY}`);
    if (named[kind] !== undefined) return refuse(`${kind} is given twice`);
    named[kind] = count;
  }
  const every: Partial<Record<LogSampleKind, number>> = {};
  for (const kind of LOG_SAMPLE_KINDS) {
    const n = named[kind] ?? fallback;
    if (n !== undefined && n > 1) every[kind] = n;
  }
  return { ok: true, every };
}

/** The sampling of a `logSample` value that resolveConfig accepted. @throws Error otherwise. */
export function logSampling(value: string): LogSampling {
  const parsed = parseLogSample(value);
  if (!parsed.ok) throw new Error(`invalid logSample: ${parsed.problem}`);
  return parsed.every;
}

/** What `logSample` accepts, in words (the docs and error messages; the kinds are in the refusal). */
export const LOG_SAMPLE_ALLOWED = `empty, or comma-separated kind:N entries and at most one bare N (N from 1 to ${MAX_SAMPLE_EVERY})`;

function parseEvery(text: string): number | undefined {
  if (!/^\d{1,7}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= MAX_SAMPLE_EVERY ? n : undefined;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
}

function refuse(problem: string): LogSampleParse {
  return { ok: false, problem };
}
