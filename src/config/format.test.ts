import { describe, expect, it } from 'vitest';
import { formatConfig, formatSettingValue } from './format.js';
import { resolveConfig } from './resolve.js';
import { SETTING_KEYS } from './schema.js';

describe('formatConfig', () => {
  it('prints key = value (source) for every setting, in table order, in human units', () => {
    const lines = formatConfig(
      resolveConfig({ env: { RWS_PORT: '9000' }, argv: ['--max-frame', '65536'] }),
    ).split('\n');
    expect(lines.map((line) => line.split(' ')[0])).toEqual(SETTING_KEYS);
    expect(lines).toEqual(
      expect.arrayContaining([
        'host = 127.0.0.1 (default)',
        'port = 9000 (env)',
        'sessionTtl = 300s (default)',
        'heartbeatInterval = 25s (default)',
        'outboxMaxBytes = 1mb (default)',
        'maxFrame = 64kb (flag)',
        'overflow = drop-oldest (default)',
        'demo = false (default)',
        'adminToken = <unset> (default)',
        'configFile = "" (default)',
      ]),
    );
  });

  it('shows overrides and sessionTtl 0 as set', () => {
    const text = formatConfig(resolveConfig({ env: {}, overrides: { sessionTtl: 0, demo: true } }));
    expect(text).toContain('sessionTtl = 0s (override)');
    expect(text).toContain('demo = true (override)');
  });

  it('never prints the admin token', () => {
    const token = 'tok-7f3a9c1e5b';
    const text = formatConfig(
      resolveConfig({ env: { RWS_ADMIN_TOKEN: token, RWS_HOST: '0.0.0.0' } }),
    );
    expect(text).not.toContain(token);
    expect(text).toContain('adminToken = <set> (env)');
    expect(text).toContain('host = 0.0.0.0 (env)');
  });
});

describe('formatSettingValue', () => {
  it('prints upstreamUrl, never credentials in it', () => {
    expect(formatSettingValue('upstreamUrl', 'http://127.0.0.1:9000/hook')).toBe(
      'http://127.0.0.1:9000/hook',
    );
    expect(formatSettingValue('upstreamUrl', 'https://h/a@b')).toBe('https://h/a@b');
    expect(formatSettingValue('upstreamUrl', 'http://alice:pa55@h:9/x')).toBe(
      'http://<redacted>@h:9/x',
    );
    expect(formatSettingValue('upstreamUrl', '')).toBe('""');
  });

  it('renders durations, sizes and secrets', () => {
    expect(formatSettingValue('messageTtl', 250)).toBe('250ms');
    expect(formatSettingValue('highWaterMark', 1536)).toBe('1536b');
    expect(formatSettingValue('adminToken', 'x')).toBe('<set>');
    expect(formatSettingValue('adminToken', '')).toBe('<unset>');
    expect(formatSettingValue('dlqMax', 10_000)).toBe('10000');
  });
});
