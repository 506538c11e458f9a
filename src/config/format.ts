/**
 * Human-readable values for `resilient-ws config` and the generated docs.
 */
import type { ConfigResolution } from './resolve.js';
import { SETTING_KEYS, settingOf, type ResolvedConfig, type SettingKey } from './schema.js';
import { formatDuration, formatSize } from './units.js';
import { redactUrlCredentials } from './url.js';

/**
 * One value in the units an operator writes (`300s`, `1mb`). Secrets show only whether they
 * are set, and URL settings never show credentials, so this output can be pasted into a
 * ticket.
 */
export function formatSettingValue<K extends SettingKey>(key: K, value: ResolvedConfig[K]): string {
  const setting = settingOf(key);
  if (setting.secret === true) return value === '' ? '<unset>' : '<set>';
  switch (setting.kind) {
    case 'duration':
      return formatDuration(value as number);
    case 'size':
      return formatSize(value as number);
    case 'string':
      if (value === '') return '""';
      return setting.httpUrl === true || setting.storeUrl === true
        ? redactUrlCredentials(String(value))
        : String(value);
    default:
      return String(value);
  }
}

/**
 * `key = value (source)`, one line per setting in table order, for `resilient-ws config`.
 * A value from a preset names it (`(preset production)`): that is what an operator greps for
 * when a value they never set is not the default.
 */
export function formatConfig({ config, sources }: ConfigResolution): string {
  return SETTING_KEYS.map((key) => {
    const source = sources[key] === 'preset' ? `preset ${config.preset}` : sources[key];
    return `${key} = ${formatSettingValue(key, config[key])} (${source})`;
  }).join('\n');
}
