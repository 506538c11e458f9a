/**
 * The one table of settings: every key, its environment variable, its CLI flag, kind, default,
 * bounds, unit and doc line. resolve() reads it, `resilient-ws config` prints it and
 * docs/configuration.md is generated from it, so a setting that is not here does not exist.
 *
 * Durations are stored in milliseconds and sizes in bytes. docs/protocol.md and
 * docs/operations.md quote several defaults; schema.test.ts pins them, so they move together.
 */
import type { Setting } from './setting.js';
import { GB, HOUR, KB, MB, SECOND } from './units.js';

export type { Setting, SettingKind } from './setting.js';

// Node timers overflow past 2^31-1 ms (~24.8 days) and then fire at once; capping every
// duration below that keeps an oversized timeout from silently becoming a zero one.
export const MAX_DURATION = 576 * HOUR;

export const SETTINGS = {
  host: {
    kind: 'string',
    env: 'RWS_HOST',
    flag: '--host',
    default: '127.0.0.1',
    nonEmpty: true,
    doc: 'Address to bind. Anything but a loopback address (127.0.0.0/8, ::1, localhost) requires adminToken.',
  },
  port: {
    kind: 'integer',
    env: 'RWS_PORT',
    flag: '--port',
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'TCP port for the WebSocket endpoint, HTTP API, metrics and dashboard; 0 picks a free port.',
  },
  sessionTtl: {
    kind: 'duration',
    env: 'RWS_SESSION_TTL',
    flag: '--session-ttl',
    default: 300 * SECOND,
    min: 0,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'How long a detached session stays resumable; 0 reaps it at the next sweep.',
  },
  messageTtl: {
    kind: 'duration',
    env: 'RWS_MESSAGE_TTL',
    flag: '--message-ttl',
    default: 300 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Lifetime of an outbox message, counted from first enqueue and never reset by retries.',
  },
  outboxMax: {
    kind: 'integer',
    env: 'RWS_OUTBOX_MAX',
    flag: '--outbox-max',
    default: 1000,
    min: 1,
    max: 1_000_000,
    unit: 'messages',
    doc: 'Most unacked messages kept per session; beyond it the overflow policy applies.',
  },
  outboxMaxBytes: {
    kind: 'size',
    env: 'RWS_OUTBOX_MAX_BYTES',
    flag: '--outbox-max-bytes',
    default: 1 * MB,
    min: 1 * KB,
    max: 1 * GB,
    unit: 'bytes',
    doc: 'Most unacked message bytes kept per session; beyond it the overflow policy applies.',
  },
  overflow: {
    kind: 'enum',
    env: 'RWS_OVERFLOW',
    flag: '--overflow',
    default: 'drop-oldest',
    values: ['drop-oldest', 'drop-newest', 'reject', 'disconnect'],
    doc: 'What a full outbox does: drop the oldest or the new message, reject the send, or disconnect the slow consumer (retryable close).',
  },
  heartbeatInterval: {
    kind: 'duration',
    env: 'RWS_HEARTBEAT_INTERVAL',
    flag: '--heartbeat-interval',
    default: 25 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Time between application-level pings (one timer for all connections).',
  },
  heartbeatTimeout: {
    kind: 'duration',
    env: 'RWS_HEARTBEAT_TIMEOUT',
    flag: '--heartbeat-timeout',
    default: 10 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Grace after a heartbeat interval: a peer silent for interval + timeout is closed.',
  },
  helloTimeout: {
    kind: 'duration',
    env: 'RWS_HELLO_TIMEOUT',
    flag: '--hello-timeout',
    default: 10 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Time a new connection has to send hello before it is closed.',
  },
  maxFrame: {
    kind: 'size',
    env: 'RWS_MAX_FRAME',
    flag: '--max-frame',
    default: 1 * MB,
    min: 1 * KB,
    max: 1 * GB,
    unit: 'bytes',
    doc: 'Largest WebSocket message accepted; a bigger one closes the connection with 1009.',
  },
  dedupWindow: {
    kind: 'duration',
    env: 'RWS_DEDUP_WINDOW',
    flag: '--dedup-window',
    default: 300 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'How long message ids are remembered so that a repeat is recognised (ok with dup: true).',
  },
  dedupMaxIds: {
    kind: 'integer',
    env: 'RWS_DEDUP_MAX_IDS',
    flag: '--dedup-max-ids',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    unit: 'ids',
    doc: 'Most message ids remembered per session; the oldest are forgotten first.',
  },
  dedupResultBudget: {
    kind: 'size',
    env: 'RWS_DEDUP_RESULT_BUDGET',
    flag: '--dedup-result-budget',
    default: 64 * 1024,
    min: 0,
    max: 1024 * 1024 * 1024,
    unit: 'bytes',
    doc: 'Handler results kept per session so that a repeated client message gets the original ok.data; the oldest are forgotten first.',
  },
  adminToken: {
    kind: 'string',
    env: 'RWS_ADMIN_TOKEN',
    flag: '--admin-token',
    default: '',
    secret: true,
    doc: 'Bearer token for the admin API and HTTP publish routes; empty means none (loopback only). Never printed.',
  },
  store: {
    kind: 'string',
    env: 'RWS_STORE',
    flag: '--store',
    default: 'memory',
    storeUrl: true,
    doc: 'Session store: memory keeps everything in this process; a redis://host:port/db URL shares sessions between nodes (docs/scaling.md). A password in the URL is never printed.',
  },
  redisPrefix: {
    kind: 'string',
    env: 'RWS_REDIS_PREFIX',
    flag: '--redis-prefix',
    default: 'rws',
    nonEmpty: true,
    doc: 'Prefix of every Redis key and channel; deployments sharing one Redis use different prefixes.',
  },
  redisDurable: {
    kind: 'boolean',
    env: 'RWS_REDIS_DURABLE',
    flag: '--redis-durable',
    default: false,
    doc: 'Declare that a Redis restart or failover loses nothing acknowledged (AOF appendfsync always, no async failover): resumes after a restart then say recovered instead of epoch_changed (docs/scaling.md).',
  },
  storeTimeout: {
    kind: 'duration',
    env: 'RWS_STORE_TIMEOUT',
    flag: '--store-timeout',
    default: 2000,
    min: 50,
    max: 60_000,
    doc: 'How long a Redis command may take before it fails with store_unavailable (retryable).',
  },
  nodeTimeout: {
    kind: 'duration',
    env: 'RWS_NODE_TIMEOUT',
    flag: '--node-timeout',
    default: 10_000,
    min: 500,
    max: 3_600_000,
    doc: 'With a Redis store: a node without a heartbeat for this long is dead, and another node detaches its sessions so that they expire; nodes beat every tenth of it.',
  },
  node: {
    kind: 'string',
    env: 'RWS_NODE',
    flag: '--node',
    default: '',
    doc: "This node's name among the nodes of a shared store (GET /api/nodes); empty: a random one. Names must differ between nodes.",
  },
  logLevel: {
    kind: 'enum',
    env: 'RWS_LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Structured (JSON) log level; nothing is logged per message at info.',
  },
  logFormat: {
    kind: 'enum',
    env: 'RWS_LOG_FORMAT',
    flag: '--log-format',
    default: 'json',
    values: ['json', 'pretty'],
    doc: 'json: one JSON object per line (for log collectors); pretty: coloured, human-readable lines (development only: slower).',
  },
  sweepInterval: {
    kind: 'duration',
    env: 'RWS_SWEEP_INTERVAL',
    flag: '--sweep-interval',
    default: 1 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'How often the one sweeper reaps expired messages and sessions; expiry is late by at most this.',
  },
  maxBadFrames: {
    kind: 'integer',
    env: 'RWS_MAX_BAD_FRAMES',
    flag: '--max-bad-frames',
    default: 16,
    min: 1,
    max: 1_000_000,
    unit: 'frames',
    doc: 'Malformed or unknown frames tolerated per connection before it is closed.',
  },
  highWaterMark: {
    kind: 'size',
    env: 'RWS_HIGH_WATER_MARK',
    flag: '--high-water-mark',
    default: 1 * MB,
    min: 0,
    max: 1 * GB,
    unit: 'bytes',
    doc: 'Socket bufferedAmount above which the server stops writing; messages wait in the outbox.',
  },
  maxConnections: {
    kind: 'integer',
    env: 'RWS_MAX_CONNECTIONS',
    flag: '--max-connections',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    unit: 'connections',
    doc: 'Most concurrent WebSocket connections on this node; more upgrades to /ws are refused with HTTP 503 too_many_connections.',
  },
  maxSessionsPerUser: {
    kind: 'integer',
    env: 'RWS_MAX_SESSIONS_PER_USER',
    flag: '--max-sessions-per-user',
    default: 100,
    min: 1,
    max: 1_000_000,
    unit: 'sessions',
    doc: "Most live sessions of one user (sessions whose authenticate hook or token named a user). A new session past it ends the user's oldest detached sessions first, then the oldest attached ones (closed with 1000).",
  },
  // Admission of /ws upgrades (transport/admission.ts), kept together.
  maxConnectionsPerIp: {
    kind: 'integer',
    env: 'RWS_MAX_CONNECTIONS_PER_IP',
    flag: '--max-connections-per-ip',
    default: 1000,
    min: 1,
    max: 10_000_000,
    unit: 'connections',
    doc: 'Most concurrent WebSocket connections from one client IP (see trustProxyHops); more upgrades are refused with HTTP 429 too_many_connections_from_ip.',
  },
  trustProxyHops: {
    kind: 'integer',
    env: 'RWS_TRUST_PROXY_HOPS',
    flag: '--trust-proxy-hops',
    default: 0,
    min: 0,
    max: 10,
    unit: 'proxies',
    doc: 'Proxies in front of the server that append the client address to X-Forwarded-For; the client IP is the N-th address from the right of that header. 0: the header is ignored and the client IP is the peer address (a client cannot spoof it).',
  },
  allowedOrigins: {
    kind: 'string',
    env: 'RWS_ALLOWED_ORIGINS',
    flag: '--allowed-origins',
    default: '',
    originList: true,
    doc: 'Comma-separated origins (https://app.example.com) whose browser pages may open /ws; an upgrade with another Origin is refused with HTTP 403 origin_not_allowed. Requests without Origin (non-browser clients) are not affected. Empty: any origin.',
  },
  dlqMax: {
    kind: 'integer',
    env: 'RWS_DLQ_MAX',
    flag: '--dlq-max',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    unit: 'entries',
    doc: 'Most dead letters kept; the oldest are evicted first (every drop is still counted).',
  },
  dlqMaxBytes: {
    kind: 'size',
    env: 'RWS_DLQ_MAX_BYTES',
    flag: '--dlq-max-bytes',
    default: 64 * MB,
    min: 1 * KB,
    max: 64 * GB,
    unit: 'bytes',
    doc: 'Most bytes of message data the dead letters hold; the oldest are evicted first (every drop is still counted), and a message bigger than this by itself is not kept.',
  },
  metrics: {
    kind: 'boolean',
    env: 'RWS_METRICS',
    flag: '--metrics',
    default: true,
    doc: 'Collect metrics and serve /metrics; false makes every metric a no-op chosen at start.',
  },
  dashboard: {
    kind: 'boolean',
    env: 'RWS_DASHBOARD',
    flag: '--dashboard',
    default: true,
    doc: 'Serve the live dashboard at /dashboard (a static page; its data comes from the admin API, behind the admin token when one is set).',
  },
  metricsMaxLabelSets: {
    kind: 'integer',
    env: 'RWS_METRICS_MAX_LABEL_SETS',
    flag: '--metrics-max-label-sets',
    default: 100,
    min: 1,
    max: 100_000,
    unit: 'label sets',
    doc: 'Most label combinations per metric; more go to one overflow series and are counted in rws_metrics_label_sets_dropped_total.',
  },
  upstreamUrl: {
    kind: 'string',
    env: 'RWS_UPSTREAM_URL',
    flag: '--upstream-url',
    default: '',
    httpUrl: true,
    doc: 'HTTP(S) URL that each client message is POSTed to as JSON {sid, id, data} (plus user and claims when the session has a user); its answer decides ok or nack. Empty: the application handler (or the demo) answers.',
  },
  upstreamTimeout: {
    kind: 'duration',
    env: 'RWS_UPSTREAM_TIMEOUT',
    flag: '--upstream-timeout',
    default: 10 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Time one upstream attempt may take before it is aborted and counted as a failure.',
  },
  upstreamRetries: {
    kind: 'integer',
    env: 'RWS_UPSTREAM_RETRIES',
    flag: '--upstream-retries',
    default: 2,
    min: 0,
    max: 10,
    unit: 'retries',
    doc: 'Extra attempts after a retryable upstream failure (5xx, timeout, connection error), with full-jitter backoff.',
  },
  upstreamBackoffBase: {
    kind: 'duration',
    env: 'RWS_UPSTREAM_BACKOFF_BASE',
    flag: '--upstream-backoff-base',
    default: 1 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'First upstream retry waits up to this long (full jitter); each further retry doubles it.',
  },
  upstreamBackoffCap: {
    kind: 'duration',
    env: 'RWS_UPSTREAM_BACKOFF_CAP',
    flag: '--upstream-backoff-cap',
    default: 60 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Longest wait between upstream retries.',
  },
  upstreamMaxInFlight: {
    kind: 'integer',
    env: 'RWS_UPSTREAM_MAX_IN_FLIGHT',
    flag: '--upstream-max-in-flight',
    default: 256,
    min: 1,
    max: 100_000,
    unit: 'requests',
    doc: 'Most concurrent upstream requests; beyond it client messages are answered nack overloaded (retryable).',
  },
  breakerFailureThreshold: {
    kind: 'integer',
    env: 'RWS_BREAKER_FAILURE_THRESHOLD',
    flag: '--breaker-failure-threshold',
    default: 5,
    min: 0,
    max: 1_000_000,
    unit: 'failures',
    doc: 'Consecutive failures that open a breaker; 0 turns the consecutive rule off.',
  },
  breakerFailureRate: {
    kind: 'number',
    env: 'RWS_BREAKER_FAILURE_RATE',
    flag: '--breaker-failure-rate',
    default: 50,
    min: 0,
    max: 100,
    unit: '%',
    doc: 'Failure percentage over the window that opens a breaker (with at least breakerMinCalls calls); 0 turns the rate rule off.',
  },
  breakerMinCalls: {
    kind: 'integer',
    env: 'RWS_BREAKER_MIN_CALLS',
    flag: '--breaker-min-calls',
    default: 20,
    min: 1,
    max: 1_000_000,
    unit: 'calls',
    doc: 'Calls the window must hold before the failure or slow-call rate can open a breaker.',
  },
  breakerWindow: {
    kind: 'duration',
    env: 'RWS_BREAKER_WINDOW',
    flag: '--breaker-window',
    default: 30 * SECOND,
    min: 10,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'Sliding time window (fixed buckets) over which failure and slow-call rates are computed.',
  },
  breakerOpenDuration: {
    kind: 'duration',
    env: 'RWS_BREAKER_OPEN_DURATION',
    flag: '--breaker-open-duration',
    default: 60 * SECOND,
    min: 1,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'How long an open breaker fails fast before the next call probes it (half-open); no timer runs.',
  },
  breakerHalfOpenProbes: {
    kind: 'integer',
    env: 'RWS_BREAKER_HALF_OPEN_PROBES',
    flag: '--breaker-half-open-probes',
    default: 3,
    min: 1,
    max: 1000,
    unit: 'calls',
    doc: 'Most calls let through at once while half-open; others fail fast.',
  },
  breakerSuccessThreshold: {
    kind: 'integer',
    env: 'RWS_BREAKER_SUCCESS_THRESHOLD',
    flag: '--breaker-success-threshold',
    default: 2,
    min: 1,
    max: 1000,
    unit: 'calls',
    doc: 'Successful half-open probes that close a breaker; one failed probe opens it again.',
  },
  breakerSlowCallThreshold: {
    kind: 'duration',
    env: 'RWS_BREAKER_SLOW_CALL_THRESHOLD',
    flag: '--breaker-slow-call-threshold',
    default: 0,
    min: 0,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'A call slower than this counts as slow; 0 turns the slow-call rule off.',
  },
  breakerSlowCallRate: {
    kind: 'number',
    env: 'RWS_BREAKER_SLOW_CALL_RATE',
    flag: '--breaker-slow-call-rate',
    default: 100,
    min: 1,
    max: 100,
    unit: '%',
    doc: 'Slow-call percentage over the window that opens a breaker (when breakerSlowCallThreshold is set).',
  },
  shutdownTimeout: {
    kind: 'duration',
    env: 'RWS_SHUTDOWN_TIMEOUT',
    flag: '--shutdown-timeout',
    default: 10 * SECOND,
    min: 0,
    max: MAX_DURATION,
    unit: 'ms',
    doc: 'On SIGTERM/SIGINT, how long in-flight upstream calls and client closes may take before the process exits anyway.',
  },
  demo: {
    kind: 'boolean',
    env: 'RWS_DEMO',
    flag: '--demo',
    default: false,
    doc: 'Run the built-in demo app, which answers client messages and publishes sample traffic.',
  },
  preset: {
    kind: 'enum',
    env: 'RWS_PRESET',
    flag: '--preset',
    default: 'none',
    values: ['none', 'development', 'production', 'testing'],
    doc: 'A named set of values between the defaults and the config file (see "Presets" below); also a key of the config file.',
  },
  configFile: {
    kind: 'string',
    env: 'RWS_CONFIG',
    flag: '--config',
    default: '',
    doc: 'Path to a JSON config file whose keys are the names in this table; empty means none.',
  },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;

/** Every key in table order (the order `config` prints and the docs list). */
export const SETTING_KEYS = Object.keys(SETTINGS) as readonly SettingKey[];

export function isSettingKey(name: string): name is SettingKey {
  return Object.hasOwn(SETTINGS, name);
}

/** Looks a setting up by key, widened to `Setting` so callers can switch on `kind`. */
export function settingOf(key: SettingKey): Setting {
  return SETTINGS[key];
}

type ValueOf<S> = S extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
  ? V
  : S extends { readonly kind: 'boolean' }
    ? boolean
    : S extends { readonly kind: 'string' }
      ? string
      : number;

// What a programmatic caller may pass: the resolved type, plus unit strings for durations and
// sizes so that `{ sessionTtl: '5m' }` reads as it would in the environment.
type InputOf<S> = S extends { readonly kind: 'duration' | 'size' } ? number | string : ValueOf<S>;

/** The validated configuration. Durations are in ms, sizes in bytes. */
export type ResolvedConfig = {
  readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]>;
};

/**
 * Programmatic settings (the library's `createServer(options)`), the highest-precedence
 * source. `configFile` is not among them: pass `file` to resolveConfig instead.
 * `undefined` counts as absent, so callers can spread optional options through.
 */
export type ConfigOverrides = {
  readonly [K in Exclude<SettingKey, 'configFile'>]?: InputOf<(typeof SETTINGS)[K]> | undefined;
};

/** Where a resolved value came from, lowest precedence first. */
export type ConfigSource = 'default' | 'preset' | 'file' | 'env' | 'flag' | 'override';
