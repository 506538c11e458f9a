import { describe, expect, it } from 'vitest';
import { formatConfig } from './format.js';
import { PRESETS, PRESET_NAMES, isPresetName } from './presets.js';
import { resolveConfig } from './resolve.js';
import { SETTINGS, settingOf, type SettingKey } from './schema.js';
import { parseSettingValue } from './values.js';

describe('presets', () => {
  it('are exactly the names the preset setting accepts', () => {
    expect(['none', ...PRESET_NAMES]).toEqual(SETTINGS.preset.values);
    expect(isPresetName('production')).toBe(true);
    expect(isPresetName('none')).toBe(false);
    expect(isPresetName('toString')).toBe(false);
  });

  it.each(PRESET_NAMES)('%s: every value is valid for its setting and says why', (name) => {
    const entries = Object.entries(PRESETS[name].values) as [
      SettingKey,
      { value: unknown; why: string },
    ][];
    expect(entries.length).toBeGreaterThan(0);
    for (const [key, { value, why }] of entries) {
      expect(parseSettingValue(key, value), `${name}.${key}`).toEqual({ ok: true, value });
      expect(why.length, `${name}.${key} needs a reason`).toBeGreaterThan(10);
    }
  });

  it.each(PRESET_NAMES)(
    '%s: resolves on its own, every value marked as from the preset',
    (name) => {
      const { config, sources } = resolveConfig({ env: { RWS_PRESET: name } });
      expect(config.preset).toBe(name);
      expect(sources.preset).toBe('env');
      for (const [key, { value }] of Object.entries(PRESETS[name].values)) {
        expect(config[key as SettingKey], key).toBe(value);
        expect(sources[key as SettingKey], key).toBe('preset');
      }
    },
  );

  it('never set the host or the admin token: exposure stays an explicit choice', () => {
    for (const name of PRESET_NAMES) {
      expect(Object.keys(PRESETS[name].values)).not.toContain('host');
      expect(Object.keys(PRESETS[name].values)).not.toContain('adminToken');
      expect(settingOf('host').default).toBe(
        resolveConfig({ env: { RWS_PRESET: name } }).config.host,
      );
    }
  });

  it('development logs pretty at debug; production JSON at info; testing warns only, with short timers', () => {
    const dev = resolveConfig({ env: { RWS_PRESET: 'development' } }).config;
    expect([dev.logLevel, dev.logFormat]).toEqual(['debug', 'pretty']);
    const prod = resolveConfig({ env: { RWS_PRESET: 'production' } }).config;
    expect([prod.logLevel, prod.logFormat, prod.demo]).toEqual(['info', 'json', false]);
    const test = resolveConfig({ env: { RWS_PRESET: 'testing' } }).config;
    expect(test.logLevel).toBe('warn');
    expect(test.sweepInterval).toBeLessThan(SETTINGS.sweepInterval.default);
    expect(test.shutdownTimeout).toBeLessThan(SETTINGS.shutdownTimeout.default);
    expect(test.heartbeatInterval + test.heartbeatTimeout).toBeLessThanOrEqual(2000);
  });

  it('mcp: large messages, nothing dropped, and every window at least 10 minutes', () => {
    const { config } = resolveConfig({ env: { RWS_PRESET: 'mcp' } });
    expect(config.maxFrame).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(config.outboxMaxBytes).toBeGreaterThanOrEqual(config.maxFrame);
    expect(config.overflow).toBe('reject');
    for (const ttl of [config.sessionTtl, config.messageTtl, config.dedupWindow])
      expect(ttl).toBeGreaterThanOrEqual(10 * 60 * 1000);
    // A result waiting for its client must not expire before the session does.
    expect(config.messageTtl).toBeGreaterThanOrEqual(config.sessionTtl);
  });

  // docs/operations.md: keep shutdownTimeout at least one upstreamTimeout, so that a call in
  // flight at shutdown can finish. (development trades that for a fast Ctrl-C, and says so.)
  it.each(['production', 'testing'] as const)(
    '%s keeps shutdownTimeout at least upstreamTimeout',
    (name) => {
      const { config } = resolveConfig({ env: { RWS_PRESET: name } });
      expect(config.shutdownTimeout).toBeGreaterThanOrEqual(config.upstreamTimeout);
    },
  );

  it('`config` output names the preset as the source of its values', () => {
    const text = formatConfig(resolveConfig({ env: {}, argv: ['--preset', 'development'] }));
    expect(text).toContain('preset = development (flag)');
    expect(text).toContain('logLevel = debug (preset development)');
    expect(text).toContain('logFormat = pretty (preset development)');
    expect(text).toContain('port = 8080 (default)');
  });
});
