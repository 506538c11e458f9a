import { describe, expect, it } from 'vitest';
import { SETTINGS, SETTING_KEYS, settingOf, type Setting } from './schema.js';
import { describeAllowed, parseSettingValue, valueSchema } from './values.js';

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

describe('settings table', () => {
  it('names every env variable RWS_<KEY> and every flag --<key> (configFile is RWS_CONFIG / --config)', () => {
    for (const key of SETTING_KEYS) {
      const { env, flag } = SETTINGS[key];
      if (key === 'configFile') {
        expect([env, flag]).toEqual(['RWS_CONFIG', '--config']);
      } else {
        expect(env).toBe(`RWS_${snake(key)}`);
        expect(flag).toBe(`--${kebab(key)}`);
      }
    }
  });

  it('has the environment names that tests and operators rely on', () => {
    expect(SETTING_KEYS.map((key) => SETTINGS[key].env)).toEqual(
      expect.arrayContaining([
        'RWS_HOST',
        'RWS_PORT',
        'RWS_SESSION_TTL',
        'RWS_MESSAGE_TTL',
        'RWS_OUTBOX_MAX',
        'RWS_OUTBOX_MAX_BYTES',
        'RWS_OVERFLOW',
        'RWS_HEARTBEAT_INTERVAL',
        'RWS_HEARTBEAT_TIMEOUT',
        'RWS_HELLO_TIMEOUT',
        'RWS_MAX_FRAME',
        'RWS_DEDUP_WINDOW',
        'RWS_ADMIN_TOKEN',
        'RWS_STORE',
        'RWS_LOG_LEVEL',
      ]),
    );
  });

  it('has unique env names and flags, and a doc line for every setting', () => {
    const envs = SETTING_KEYS.map((key) => SETTINGS[key].env);
    const flags = SETTING_KEYS.map((key) => SETTINGS[key].flag);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
    for (const key of SETTING_KEYS) expect(SETTINGS[key].doc.length).toBeGreaterThan(10);
  });

  it('has defaults that pass their own rules and are finite', () => {
    for (const key of SETTING_KEYS) {
      const result = parseSettingValue(key, SETTINGS[key].default);
      expect(result, key).toEqual({ ok: true, value: SETTINGS[key].default });
      const setting = settingOf(key);
      if ('max' in setting) expect(Number.isFinite(setting.max), key).toBe(true);
    }
  });

  it('keeps the defaults docs/configuration.md, docs/protocol.md and docs/operations.md state', () => {
    const defaults = Object.fromEntries(SETTING_KEYS.map((key) => [key, SETTINGS[key].default]));
    expect(defaults).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      sessionTtl: 300_000,
      messageTtl: 300_000,
      outboxMax: 1000,
      outboxMaxBytes: 1_048_576,
      overflow: 'drop-oldest',
      heartbeatInterval: 25_000,
      heartbeatTimeout: 10_000,
      helloTimeout: 10_000,
      maxFrame: 1_048_576,
      dedupWindow: 300_000,
      dedupMaxIds: 10_000,
      adminToken: '',
      store: 'memory',
      logLevel: 'info',
      sweepInterval: 1000,
      maxBadFrames: 16,
      highWaterMark: 1_048_576,
      maxConnections: 10_000,
      maxConnectionsPerIp: 1000,
      trustProxyHops: 0,
      allowedOrigins: '',
      dlqMax: 10_000,
      dlqMaxBytes: 67_108_864,
      demo: false,
      configFile: '',
    });
  });
});

describe('value parsing', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['1', true],
    [' no ', false],
    ['false', false],
    ['0', false],
    [true, true],
    [false, false],
    [1, true],
    [0, false],
  ])('reads boolean %j as %s', (raw, value) => {
    expect(parseSettingValue('demo', raw)).toEqual({ ok: true, value });
  });

  it.each([['maybe'], ['on'], [2], ['']])('rejects boolean %j', (raw) => {
    expect(parseSettingValue('demo', raw).ok).toBe(false);
  });

  it('reads integers from numbers and numeric strings, within bounds', () => {
    expect(parseSettingValue('port', '9000')).toEqual({ ok: true, value: 9000 });
    expect(parseSettingValue('port', 0)).toEqual({ ok: true, value: 0 });
    for (const bad of ['-1', 65536, '80.5', 80.5, '8o8o', '1e3', '', true]) {
      expect(parseSettingValue('port', bad).ok, String(bad)).toBe(false);
    }
  });

  it('reads enums case-insensitively and nothing outside them', () => {
    expect(parseSettingValue('overflow', 'Drop-Newest')).toEqual({
      ok: true,
      value: 'drop-newest',
    });
    expect(parseSettingValue('logLevel', 'DEBUG')).toEqual({ ok: true, value: 'debug' });
    expect(parseSettingValue('overflow', 'drop').ok).toBe(false);
    expect(parseSettingValue('store', 'redis').ok).toBe(false);
  });

  it('keeps durations and sizes in ms and bytes, within bounds', () => {
    expect(parseSettingValue('sessionTtl', '0')).toEqual({ ok: true, value: 0 });
    expect(parseSettingValue('sessionTtl', '5m')).toEqual({ ok: true, value: 300_000 });
    expect(parseSettingValue('messageTtl', 0).ok).toBe(false);
    expect(parseSettingValue('sessionTtl', '600h').ok).toBe(false);
    expect(parseSettingValue('maxFrame', '64kb')).toEqual({ ok: true, value: 65_536 });
    expect(parseSettingValue('maxFrame', '2gb').ok).toBe(false);
  });

  it('requires a host without spaces but lets the admin token be empty', () => {
    expect(parseSettingValue('host', '').ok).toBe(false);
    expect(parseSettingValue('host', 'my host').ok).toBe(false);
    expect(parseSettingValue('host', 42).ok).toBe(false);
    expect(parseSettingValue('adminToken', '')).toEqual({ ok: true, value: '' });
  });

  it('takes upstreamUrl empty or as an http(s) URL without credentials', () => {
    for (const good of [
      '',
      'http://127.0.0.1:9000/hook',
      'https://upstream.internal/hook?x=1',
      'HTTPS://Upstream.Internal',
      'http://[::1]:9000/hook',
    ]) {
      expect(parseSettingValue('upstreamUrl', good), good).toEqual({ ok: true, value: good });
    }
    for (const bad of [
      'localhost:9000/hook',
      'upstream.internal/hook',
      'ftp://upstream.internal/hook',
      'http:upstream.internal/hook',
      'http://',
      'http://up stream/hook',
      ' http://upstream.internal/hook',
      'http://user:pass@upstream.internal/hook',
      'http://user@upstream.internal/hook',
      42,
    ]) {
      expect(parseSettingValue('upstreamUrl', bad).ok, String(bad)).toBe(false);
    }
  });

  it('takes allowedOrigins empty or as comma-separated http(s) origins', () => {
    for (const good of [
      '',
      'https://app.example.com',
      'https://app.example.com, http://localhost:3000',
      'HTTPS://App.Example.com:443/',
    ])
      expect(parseSettingValue('allowedOrigins', good), good).toEqual({ ok: true, value: good });
    for (const bad of [
      'app.example.com',
      '*',
      'https://app.example.com/path',
      'ftp://app.example.com',
      'https://app.example.com, null',
      'https://user@app.example.com',
    ])
      expect(parseSettingValue('allowedOrigins', bad).ok, bad).toBe(false);
  });

  it('supports plain numbers for settings of kind number', () => {
    const rate: Setting = {
      kind: 'number',
      env: 'RWS_X',
      flag: '--x',
      doc: 'x',
      default: 0.5,
      min: 0,
      max: 1,
    };
    expect(valueSchema(rate).parse('0.25')).toBe(0.25);
    expect(valueSchema(rate).safeParse('1.5').success).toBe(false);
    expect(describeAllowed(rate)).toBe('a number from 0 to 1');
  });
});

describe('describeAllowed', () => {
  it('says what each kind accepts', () => {
    expect(describeAllowed('port')).toBe('an integer from 0 to 65535');
    expect(describeAllowed('sessionTtl')).toBe(
      'a duration such as 250ms, 30s, 5m or milliseconds, from 0s to 576h',
    );
    expect(describeAllowed('maxFrame')).toBe('a size such as 64kb, 1mb or bytes, from 1kb to 1gb');
    expect(describeAllowed('overflow')).toBe('one of drop-oldest, drop-newest, reject, disconnect');
    expect(describeAllowed('demo')).toBe('true or false (also yes/no, 1/0)');
    expect(describeAllowed('host')).toBe('a non-empty string without spaces');
    expect(describeAllowed('upstreamUrl')).toMatch(
      /^empty, or an http:\/\/ or https:\/\/ URL .*without user:password/,
    );
  });
});
