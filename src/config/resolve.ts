/**
 * resolveConfig(): defaults < preset < config file < environment < CLI flags < options,
 * validated once at start-up. Either every setting is valid or a ConfigError lists every
 * problem.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError, type ConfigProblem } from './config-error.js';
import {
  SETTINGS,
  SETTING_KEYS,
  type ConfigOverrides,
  type ConfigSource,
  type ResolvedConfig,
  type SettingKey,
} from './schema.js';
import { isPresetName, presetLayer } from './presets.js';
import { envLayer, fileLayer, flagLayer, overrideLayer, type Layer } from './sources.js';
import { describeAllowed, describeRaw, describeRefusal, parseSettingValue } from './values.js';

export interface ResolveOptions {
  /** CLI arguments after the subcommand, e.g. `['--port', '9000']`. Default: none. */
  readonly argv?: readonly string[];
  /** Environment to read `RWS_*` from. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Config file path set by the program; wins over `--config` and `RWS_CONFIG`. */
  readonly file?: string | undefined;
  /** Typed settings from the library API; they win over every other source. */
  readonly overrides?: ConfigOverrides;
}

export interface ConfigResolution {
  readonly config: ResolvedConfig;
  /** Which source each value came from, for `resilient-ws config`. */
  readonly sources: Readonly<Record<SettingKey, ConfigSource>>;
}

/**
 * Resolves and validates the configuration.
 *
 * A bad value is reported even when a higher source overrides it: a broken `RWS_PORT`
 * hidden behind `--port` today breaks the next deployment that drops the flag.
 *
 * @throws ConfigError (code `config_invalid`) naming, for each problem, the key, the value,
 *   the source and what is allowed.
 */
export function resolveConfig(options: ResolveOptions = {}): ConfigResolution {
  const problems: ConfigProblem[] = [];
  const env = envLayer(options.env ?? process.env);
  const flags = flagLayer(options.argv ?? [], problems);
  const overrides = overrideLayer(options.overrides ?? {}, options.file, problems);

  // The file's own path cannot come from the file, so it is looked up in the later layers.
  // The highest source that names it wins, and an empty value there means "no file" (the
  // environment's empty values were already dropped as unset).
  const path = [overrides, flags, env]
    .map((layer) => layer.values.get('configFile'))
    .find((entry) => entry !== undefined);
  const file =
    path === undefined || typeof path.raw !== 'string' || path.raw === ''
      ? undefined
      : fileLayer(path.raw, path.label, problems);

  // The preset is named by the highest source that names it, the file included. An invalid
  // name applies no preset and is reported by the loop below like any other bad value.
  const named = [overrides, flags, env, ...(file === undefined ? [] : [file])]
    .map((layer) => layer.values.get('preset'))
    .find((entry) => entry !== undefined);
  const parsedPreset = named === undefined ? undefined : parseSettingValue('preset', named.raw);
  const preset =
    parsedPreset?.ok === true && isPresetName(parsedPreset.value)
      ? presetLayer(parsedPreset.value)
      : undefined;

  // Lowest precedence first.
  const layers: Layer[] = [
    ...(preset === undefined ? [] : [preset]),
    ...(file === undefined ? [] : [file]),
    env,
    flags,
    overrides,
  ];

  const values: Record<string, unknown> = {};
  const sources = {} as Record<SettingKey, ConfigSource>;
  const labels = new Map<SettingKey, string>();
  const invalid = new Set<SettingKey>();
  for (const key of SETTING_KEYS) {
    values[key] = SETTINGS[key].default;
    sources[key] = 'default';
    for (const layer of layers) {
      const entry = layer.values.get(key);
      if (entry === undefined) continue;
      const parsed = parseSettingValue(key, entry.raw);
      if (parsed.ok) {
        values[key] = parsed.value;
        sources[key] = layer.source;
        labels.set(key, entry.label);
      } else {
        invalid.add(key);
        problems.push(invalidValue(key, entry.raw, entry.label));
      }
    }
  }

  // `[::1]` is how a URL writes an IPv6 address; listen() wants the bare address. The check
  // below and the bind must see the same string.
  if (typeof values.host === 'string') values.host = values.host.replace(/^\[(.*)\]$/, '$1');
  const config = values as ResolvedConfig;
  if (!invalid.has('host') && !invalid.has('adminToken')) {
    const exposed = checkExposure(config, labels.get('host') ?? 'default');
    if (exposed !== undefined) problems.push(exposed);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { config: Object.freeze(config), sources: Object.freeze(sources) };
}

function invalidValue(key: SettingKey, raw: unknown, label: string): ConfigProblem {
  const value = describeRaw(key, raw);
  const allowed = describeAllowed(key);
  return {
    message: `invalid ${key} ${value} from ${label}: expected ${allowed}${describeRefusal(key, raw)}`,
    key,
    source: label,
    value,
    allowed,
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also as `[::1]` or IPv4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

// Anyone who can reach a non-loopback address could publish to every session and use the
// admin API, so exposing the server requires a token.
function checkExposure(config: ResolvedConfig, hostLabel: string): ConfigProblem | undefined {
  if (config.adminToken !== '' || isLoopbackHost(config.host)) return undefined;
  const allowed = 'a loopback host (127.0.0.0/8, ::1, localhost) unless adminToken is set';
  return {
    message:
      `refusing to bind ${config.host} without RWS_ADMIN_TOKEN: host ${JSON.stringify(config.host)} ` +
      `from ${hostLabel} is reachable from other machines, and the admin API and publish routes ` +
      `would be open to them; set RWS_ADMIN_TOKEN (or --admin-token, option adminToken) or bind ` +
      `127.0.0.1`,
    key: 'host',
    source: hostLabel,
    value: JSON.stringify(config.host),
    allowed,
  };
}
