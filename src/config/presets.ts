/**
 * Presets: named sets of values that sit between the defaults and the config file
 * (defaults < preset < file < environment < flags < options). Each value carries the reason it
 * differs from, or pins, the default; docs/configuration.md prints both, so a preset cannot
 * change a value without saying why.
 */
import type { ResolvedConfig, SettingKey } from './schema.js';
import { MB, MINUTE, SECOND } from './units.js';
import type { Layer, RawValue } from './sources.js';

export type PresetName = Exclude<ResolvedConfig['preset'], 'none'>;

// A preset never picks the preset or the file (that would be circular), and never touches
// exposure: binding a public address or setting the admin token must be an explicit choice.
type PresettableKey = Exclude<SettingKey, 'preset' | 'configFile' | 'host' | 'adminToken'>;

export type PresetValues = {
  readonly [K in PresettableKey]?: { readonly value: ResolvedConfig[K]; readonly why: string };
};

export interface Preset {
  /** One line: who the preset is for. */
  readonly summary: string;
  readonly values: PresetValues;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  development: {
    summary: 'A laptop: readable logs, quick restarts, a local upstream that comes back fast.',
    values: {
      logLevel: {
        value: 'debug',
        why: 'shows sessions, resumes, disconnects and drops as they happen (still never per message)',
      },
      logFormat: { value: 'pretty', why: 'human-readable lines in a terminal' },
      shutdownTimeout: {
        value: 2 * SECOND,
        why: 'Ctrl-C in a watch loop should not wait 10 s for a stuck local upstream',
      },
      breakerOpenDuration: {
        value: 5 * SECOND,
        why: 'a restarted local upstream is tried again within seconds, not a minute',
      },
    },
  },
  production: {
    summary:
      'A deployed node: the built-in defaults, JSON logs, a drain that fits the orchestrator.',
    values: {
      logLevel: {
        value: 'info',
        why: 'start-up, shutdown, partial resumes, breaker changes and rate-limited warnings; nothing per message',
      },
      logFormat: {
        value: 'json',
        why: 'one object per line for the log collector; pretty costs CPU',
      },
      demo: {
        value: false,
        why: 'the demo answers every client message and publishes sample traffic',
      },
      metrics: { value: true, why: 'alerting needs /metrics (docs/operations.md)' },
      shutdownTimeout: {
        value: 20 * SECOND,
        why: "lets an in-flight upstream call (10 s timeout) finish, and fits inside Kubernetes' default 30 s grace period before SIGKILL",
      },
    },
  },
  testing: {
    summary:
      'Automated tests: quiet logs, and every timer short so that expiry and failure show up fast.',
    values: {
      logLevel: { value: 'warn', why: 'test output shows problems only' },
      logFormat: { value: 'json', why: 'machine-readable when a test inspects the log' },
      sweepInterval: {
        value: 50,
        why: 'an expired message or session is gone within 50 ms, so TTL tests need not wait a second',
      },
      heartbeatInterval: { value: 1 * SECOND, why: 'a dead peer is detected within 2 s' },
      heartbeatTimeout: { value: 1 * SECOND, why: 'a dead peer is detected within 2 s' },
      helloTimeout: {
        value: 1 * SECOND,
        why: 'a connection that never says hello is closed within 1 s',
      },
      sessionTtl: {
        value: 1 * MINUTE,
        why: 'sessions a test left behind are reaped within a minute; long enough for any reconnect',
      },
      upstreamTimeout: { value: 2 * SECOND, why: 'a hanging test upstream fails in 2 s, not 10 s' },
      upstreamBackoffBase: { value: 10, why: 'retries happen at once instead of after a second' },
      upstreamBackoffCap: { value: 200, why: 'retries happen at once instead of after a minute' },
      breakerOpenDuration: { value: 1 * SECOND, why: 'a test sees the half-open probe within 1 s' },
      shutdownTimeout: {
        value: 2 * SECOND,
        why: 'not below upstreamTimeout (2 s): a call in flight at shutdown can finish; still quick',
      },
    },
  },
  mcp: {
    summary:
      'MCP over resilient-ws (`resilient-ws mcp-serve`, docs/mcp.md): large tool results, long tool calls, nothing dropped.',
    values: {
      maxFrame: {
        value: 16 * MB,
        why: 'tool results and resources (base64 images, files) are often larger than 1 MiB',
      },
      outboxMaxBytes: {
        value: 64 * MB,
        why: 'holds several large results while the client is away',
      },
      overflow: {
        value: 'reject',
        why: 'a tool result is never dropped: a full outbox makes the sender wait instead',
      },
      sessionTtl: {
        value: 15 * MINUTE,
        why: 'a tool call keeps running while its client is away; the client can come back for the result',
      },
      messageTtl: {
        value: 15 * MINUTE,
        why: 'a result waiting for its client lives as long as the session does',
      },
      dedupWindow: {
        value: 15 * MINUTE,
        why: 'a tools/call resent after a long outage is still recognised and never run twice',
      },
      clientRate: {
        value: 1000,
        why: 'an agent runs many tool calls at once: at the default 100/s, 16 calls in flight were paced by the rate limit (bench/mcp.bench.ts)',
      },
      clientBurst: {
        value: 2000,
        why: 'twice the rate, as by default',
      },
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as readonly PresetName[];

export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && Object.hasOwn(PRESETS, name);
}

/** The values of one preset as a configuration layer, labelled `preset <name>`. */
export function presetLayer(name: PresetName): Layer {
  const values = new Map<SettingKey, RawValue>();
  const label = `preset ${name}`;
  for (const [key, entry] of Object.entries(PRESETS[name].values)) {
    values.set(key as SettingKey, { raw: (entry as { value: unknown }).value, label });
  }
  return { source: 'preset', values };
}
