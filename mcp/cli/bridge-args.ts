/**
 * The command line of `resilient-ws mcp-bridge`: one positional WebSocket URL and a few
 * flags (`--flag value` or `--flag=value`). Parsing never touches stdout: a bad command line
 * is reported by the caller on stderr with exit code 2.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type BridgeLogLevel = (typeof LOG_LEVELS)[number];

export interface BridgeOptions {
  /** The server's WebSocket endpoint, `ws://…/ws` or `wss://…/ws`. */
  url: string;
  /** The token sent in `hello`, from `--token` or the variable named by `--token-env`. */
  token: string | undefined;
  /** Where the token came from, for the logs (never the token itself). */
  tokenSource: 'none' | 'flag' | 'env';
  backoffBaseMs: number;
  backoffCapMs: number;
  /** The client's `maxMessageBytes`: the server's `maxFrame` or less. */
  maxMessageBytes: number;
  /** Time allowed for the first `welcome`; 0 waits for ever. */
  connectTimeoutMs: number;
  logLevel: BridgeLogLevel;
}

export type ParsedBridgeArgs =
  { kind: 'run'; options: BridgeOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export const BRIDGE_DEFAULTS = {
  backoffBaseMs: 500,
  backoffCapMs: 20_000,
  maxMessageBytes: 1_048_576,
  connectTimeoutMs: 30_000,
  logLevel: 'info',
} as const;

const VALUE_FLAGS = [
  '--token',
  '--token-env',
  '--backoff-base-ms',
  '--backoff-cap-ms',
  '--max-message-bytes',
  '--connect-timeout-ms',
  '--log-level',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/** The text of `resilient-ws mcp-bridge --help` (written to stderr, like everything else). */
export function bridgeUsage(): string {
  const d = BRIDGE_DEFAULTS;
  return `Usage: resilient-ws mcp-bridge <ws-url> [--token-env NAME | --token TOKEN] [--flags]

A stdio MCP server for MCP clients that only speak stdio (desktop apps, editors): JSON-RPC
messages read from stdin, one per line, are sent to the resilient-ws server at <ws-url>, and
its messages are written to stdout, one per line. The session survives dropped connections
(the bridge reconnects and resumes, nothing lost or repeated). stdout carries nothing but
JSON-RPC; logs are JSON lines on stderr.

Flags:
  --token-env NAME           read the token from the environment variable NAME (preferred)
  --token TOKEN              the token itself (visible to other users in ps: prefer --token-env)
  --backoff-base-ms <ms>     first reconnect delay bound, full jitter (default ${d.backoffBaseMs})
  --backoff-cap-ms <ms>      largest reconnect delay bound (default ${d.backoffCapMs})
  --max-message-bytes <n>    largest message sent, in bytes: the server's maxFrame or less
                             (default ${d.maxMessageBytes}); stdin lines over twice this are dropped
  --connect-timeout-ms <ms>  give up when the first connection is not welcomed in time
                             (default ${d.connectTimeoutMs}; 0 waits for ever)
  --log-level <level>        ${LOG_LEVELS.join('|')} (default ${d.logLevel})

Exit codes:
  0  stdin closed (the session is ended), SIGTERM or SIGINT
  1  the session was lost or ended, the server refused the connection (e.g. a bad token),
     or the first connection timed out; open requests got a JSON-RPC error first
  2  bad command line`;
}

/** Parses the arguments after `mcp-bridge`. */
export function parseBridgeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedBridgeArgs {
  const values = new Map<ValueFlag, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!(VALUE_FLAGS as readonly string[]).includes(name))
      return { kind: 'error', message: `unknown flag ${name}` };
    const flag = name as ValueFlag;
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) return { kind: 'error', message: `${flag} needs a value` };
    if (values.has(flag)) return { kind: 'error', message: `${flag} is given twice` };
    values.set(flag, value);
  }
  if (positional.length !== 1)
    return {
      kind: 'error',
      message:
        positional.length === 0
          ? 'the server URL is missing (ws://host:port/ws or wss://…)'
          : `one server URL expected, got ${positional.length}: ${positional.join(' ')}`,
    };
  const url = positional[0]!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'error', message: `${JSON.stringify(url)} is not a URL` };
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')
    return { kind: 'error', message: `the server URL must start with ws:// or wss://, got ${url}` };

  let token: string | undefined;
  let tokenSource: BridgeOptions['tokenSource'] = 'none';
  const tokenFlag = values.get('--token');
  const tokenEnv = values.get('--token-env');
  if (tokenFlag !== undefined && tokenEnv !== undefined)
    return { kind: 'error', message: 'give --token or --token-env, not both' };
  if (tokenFlag !== undefined) {
    if (tokenFlag === '') return { kind: 'error', message: '--token is empty' };
    token = tokenFlag;
    tokenSource = 'flag';
  } else if (tokenEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
      return { kind: 'error', message: `--token-env ${tokenEnv} is not a variable name` };
    const value = env[tokenEnv];
    if (value === undefined || value === '')
      return {
        kind: 'error',
        message: `--token-env ${tokenEnv}: the environment variable ${tokenEnv} is not set`,
      };
    token = value;
    tokenSource = 'env';
  }

  const ints: Partial<Record<ValueFlag, number>> = {};
  const minimum: Partial<Record<ValueFlag, number>> = {
    '--backoff-base-ms': 1,
    '--backoff-cap-ms': 1,
    '--max-message-bytes': 256,
    '--connect-timeout-ms': 0,
  };
  for (const [flag, min] of Object.entries(minimum) as [ValueFlag, number][]) {
    const raw = values.get(flag);
    if (raw === undefined) continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min)
      return { kind: 'error', message: `${flag} must be an integer >= ${min}, got ${raw}` };
    ints[flag] = n;
  }
  const backoffBaseMs = ints['--backoff-base-ms'] ?? BRIDGE_DEFAULTS.backoffBaseMs;
  const backoffCapMs =
    ints['--backoff-cap-ms'] ?? Math.max(backoffBaseMs, BRIDGE_DEFAULTS.backoffCapMs);
  if (backoffCapMs < backoffBaseMs)
    return {
      kind: 'error',
      message: `--backoff-cap-ms (${backoffCapMs}) must be >= --backoff-base-ms (${backoffBaseMs})`,
    };
  const level = values.get('--log-level') ?? BRIDGE_DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    return {
      kind: 'error',
      message: `--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${level}`,
    };
  return {
    kind: 'run',
    options: {
      url,
      token,
      tokenSource,
      backoffBaseMs,
      backoffCapMs,
      maxMessageBytes: ints['--max-message-bytes'] ?? BRIDGE_DEFAULTS.maxMessageBytes,
      connectTimeoutMs: ints['--connect-timeout-ms'] ?? BRIDGE_DEFAULTS.connectTimeoutMs,
      logLevel: level as BridgeLogLevel,
    },
  };
}
