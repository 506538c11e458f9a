export { ConfigError, isConfigError, type ConfigProblem } from './config-error.js';
export {
  LOG_SAMPLE_KINDS,
  logSampling,
  parseLogSample,
  type LogSampleKind,
  type LogSampling,
} from './log-sample.js';
export { formatConfig, formatSettingValue } from './format.js';
export {
  isLoopbackHost,
  resolveConfig,
  type ConfigResolution,
  type ResolveOptions,
} from './resolve.js';
export {
  MAX_DURATION,
  SETTINGS,
  SETTING_KEYS,
  isSettingKey,
  settingOf,
  type ConfigOverrides,
  type ConfigSource,
  type ResolvedConfig,
  type Setting,
  type SettingKey,
  type SettingKind,
} from './schema.js';
export { formatDuration, formatSize, parseDuration, parseSize } from './units.js';
export { describeAllowed, parseSettingValue } from './values.js';
