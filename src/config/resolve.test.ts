import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { isRwsError } from '../errors.js';
import { ConfigError, isConfigError, type ConfigProblem } from './config-error.js';
import { isLoopbackHost, resolveConfig, type ResolveOptions } from './resolve.js';
import { formatConfig } from './format.js';
import { SETTINGS, SETTING_KEYS } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'rws-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function writeConfig(content: unknown): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

// Tests never read the real process environment.
const resolve = (options: ResolveOptions = {}) => resolveConfig({ env: {}, ...options });

function failure(options: ResolveOptions): ConfigError {
  try {
    resolve(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const problems = (options: ResolveOptions): readonly ConfigProblem[] => failure(options).problems;

describe('resolveConfig: defaults', () => {
  it('returns every default, marked as such', () => {
    const { config, sources } = resolve();
    for (const key of SETTING_KEYS) {
      expect(config[key], key).toBe(SETTINGS[key].default);
      expect(sources[key], key).toBe('default');
    }
  });

  it('types each value from the schema', () => {
    const { config } = resolve();
    expectTypeOf(config.port).toEqualTypeOf<number>();
    expectTypeOf(config.demo).toEqualTypeOf<boolean>();
    expectTypeOf(config.host).toEqualTypeOf<string>();
    expectTypeOf(config.overflow).toEqualTypeOf<
      'drop-oldest' | 'drop-newest' | 'reject' | 'disconnect'
    >();
    expectTypeOf(config.store).toEqualTypeOf<string>();
  });

  it('returns a config that is read-only in types and frozen at run time', () => {
    const { config } = resolve();
    expect(() => {
      // @ts-expect-error resolved values are read-only
      config.port = 1;
    }).toThrow(TypeError);
  });
});

describe('resolveConfig: precedence', () => {
  it('orders defaults < file < env < flag < override', () => {
    const file = writeConfig({ port: 1001, sessionTtl: '1s', outboxMax: 11, overflow: 'reject' });
    const { config, sources } = resolve({
      env: {
        RWS_CONFIG: file,
        RWS_SESSION_TTL: '2s',
        RWS_OUTBOX_MAX: '22',
        RWS_OVERFLOW: 'disconnect',
      },
      argv: ['--outbox-max', '33', '--overflow=drop-newest'],
      overrides: { overflow: 'drop-oldest' },
    });
    expect(config).toMatchObject({
      port: 1001,
      sessionTtl: 2000,
      outboxMax: 33,
      overflow: 'drop-oldest',
      messageTtl: 300_000,
    });
    expect(sources).toMatchObject({
      port: 'file',
      sessionTtl: 'env',
      outboxMax: 'flag',
      overflow: 'override',
      messageTtl: 'default',
      configFile: 'env',
    });
    expect(config.configFile).toBe(file);
  });

  it('takes the file path from --config over RWS_CONFIG, and from the file option over both', () => {
    const fromEnv = writeConfig({ port: 1 });
    const fromFlag = writeConfig({ port: 2 });
    const fromOption = writeConfig({ port: 3 });
    const env = { RWS_CONFIG: fromEnv };
    expect(resolve({ env }).config.port).toBe(1);
    expect(resolve({ env, argv: ['--config', fromFlag] }).config.port).toBe(2);
    const both = resolve({ env, argv: [`--config=${fromFlag}`], file: fromOption });
    expect(both.config.port).toBe(3);
    expect(both.sources.configFile).toBe('override');
  });

  it('accepts typed overrides: numbers and unit strings', () => {
    const { config } = resolve({
      overrides: { sessionTtl: '5m', messageTtl: 1500, maxFrame: '64kb', demo: true, port: 0 },
    });
    expect(config).toMatchObject({
      sessionTtl: 300_000,
      messageTtl: 1500,
      maxFrame: 65_536,
      demo: true,
      port: 0,
    });
  });

  it('reads the dead-letter byte bound as a size with units, from env and flag', () => {
    expect(resolve().config.dlqMaxBytes).toBe(64 * 1024 * 1024);
    expect(resolve({ env: { RWS_DLQ_MAX_BYTES: '16mb' } }).config.dlqMaxBytes).toBe(16_777_216);
    expect(resolve({ argv: ['--dlq-max-bytes', '2gb'] }).config.dlqMaxBytes).toBe(2 * 1024 ** 3);
    expect(resolve({ overrides: { dlqMaxBytes: 4096 } }).config.dlqMaxBytes).toBe(4096);
    expect(problems({ env: { RWS_DLQ_MAX_BYTES: '10b' } })[0]).toMatchObject({
      key: 'dlqMaxBytes',
    });
  });

  it('type-checks overrides and still validates them at run time', () => {
    // @ts-expect-error port takes a number
    expect(() => resolve({ overrides: { port: 'x' } })).toThrow(ConfigError);
    // @ts-expect-error overflow takes one of the policies
    expect(() => resolve({ overrides: { overflow: 'drop' } })).toThrow(ConfigError);
  });

  it('treats undefined overrides and empty environment variables as unset', () => {
    const { config, sources } = resolve({
      env: { RWS_PORT: '', RWS_HOST: undefined },
      overrides: { port: undefined },
    });
    expect(config.port).toBe(8080);
    expect(sources.port).toBe('default');
  });
});

describe('resolveConfig: presets', () => {
  it('orders defaults < preset < file < env < flag < override', () => {
    const path = writeConfig({ preset: 'testing', sweepInterval: '200ms', heartbeatTimeout: '3s' });
    const { config, sources } = resolve({
      file: path,
      env: { RWS_HEARTBEAT_INTERVAL: '4s', RWS_HELLO_TIMEOUT: '5s' },
      argv: ['--hello-timeout', '6s', '--log-level', 'error'],
      overrides: { logLevel: 'fatal' },
    });
    expect(config.preset).toBe('testing');
    expect(sources.preset).toBe('file');
    expect([config.shutdownTimeout, sources.shutdownTimeout]).toEqual([2000, 'preset']);
    expect([config.sweepInterval, sources.sweepInterval]).toEqual([200, 'file']);
    expect([config.heartbeatTimeout, sources.heartbeatTimeout]).toEqual([3000, 'file']);
    expect([config.heartbeatInterval, sources.heartbeatInterval]).toEqual([4000, 'env']);
    expect([config.helloTimeout, sources.helloTimeout]).toEqual([6000, 'flag']);
    expect([config.logLevel, sources.logLevel]).toEqual(['fatal', 'override']);
    expect([config.port, sources.port]).toEqual([8080, 'default']);
  });

  it('takes the preset name from the highest source that names it', () => {
    const path = writeConfig({ preset: 'testing' });
    expect(resolve({ file: path }).config.logLevel).toBe('warn');
    expect(resolve({ file: path, env: { RWS_PRESET: 'production' } }).config.logLevel).toBe('info');
    const flagged = resolve({
      file: path,
      env: { RWS_PRESET: 'production' },
      argv: ['--preset=development'],
    });
    expect([flagged.config.logLevel, flagged.sources.logLevel]).toEqual(['debug', 'preset']);
    const option = resolve({
      env: { RWS_PRESET: 'development' },
      overrides: { preset: 'production' },
    });
    expect([option.config.logFormat, option.sources.preset]).toEqual(['json', 'override']);
  });

  it('"none" (the default) applies no preset', () => {
    const { config, sources } = resolve({ env: { RWS_PRESET: 'none' } });
    expect(config.logLevel).toBe('info');
    expect(sources.logLevel).toBe('default');
    expect(Object.values(sources)).not.toContain('preset');
  });

  it('rejects an unknown preset naming the value, the source and the presets', () => {
    const [problem, ...rest] = problems({ env: { RWS_PRESET: 'prod' } });
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ key: 'preset', source: 'environment RWS_PRESET' });
    expect(problem!.message).toContain('"prod"');
    expect(problem!.message).toContain('none, development, production, testing');
  });
});

describe('resolveConfig: flags', () => {
  it('reads --name value and --name=value; a later flag wins', () => {
    const { config } = resolve({ argv: ['--port', '9000', '--host=localhost', '--port=9001'] });
    expect(config.port).toBe(9001);
    expect(config.host).toBe('localhost');
  });

  it('reads booleans as --demo, --no-demo and --demo=value', () => {
    expect(resolve({ argv: ['--demo'] }).config.demo).toBe(true);
    expect(resolve({ env: { RWS_DEMO: 'yes' }, argv: ['--no-demo'] }).config.demo).toBe(false);
    expect(resolve({ argv: ['--demo=false'] }).config.demo).toBe(false);
    // A boolean flag does not swallow the next argument.
    expect(resolve({ argv: ['--demo', '--port', '1'] }).config).toMatchObject({
      demo: true,
      port: 1,
    });
  });

  it('stops at --', () => {
    expect(resolve({ argv: ['--port', '1', '--', '--bogus', 'x'] }).config.port).toBe(1);
  });

  it('rejects unknown flags, with a suggestion for a typo', () => {
    const [problem, ...rest] = problems({ argv: ['--prot', '9000'] });
    expect(rest).toEqual([]);
    expect(problem!.message).toBe('unknown flag --prot (did you mean --port?)');
    expect(problems({ argv: ['-p'] })[0]!.message).toMatch(/^unknown flag -p/);
    expect(problems({ argv: ['--no-port'] })[0]!.message).toMatch(/^unknown flag --no-port/);
  });

  it('rejects a missing value, a value on --no-x and stray arguments', () => {
    const needsValue = 'flag --port needs a value: expected an integer from 0 to 65535';
    expect(problems({ argv: ['--port'] })[0]!.message).toBe(needsValue);
    expect(problems({ argv: ['--port', '--demo'] })[0]!.message).toBe(needsValue);
    expect(problems({ argv: ['--no-demo=1'] })[0]!.message).toBe('flag --no-demo takes no value');
    expect(problems({ argv: ['serve'] })[0]!.message).toMatch(/^unexpected argument "serve"/);
  });
});

describe('resolveConfig: config file', () => {
  it('rejects unknown keys, naming them', () => {
    const file = writeConfig({ port: 1, prot: 2, colour: 'red' });
    const messages = problems({ file }).map((p) => p.message);
    expect(messages).toEqual([
      `unknown key "prot" in file ${file} (did you mean port?)`,
      `unknown key "colour" in file ${file}`,
    ]);
  });

  it('does not let a file name another file', () => {
    const file = writeConfig({ configFile: '/elsewhere.json' });
    expect(problems({ file })[0]!.message).toMatch(/^unknown key "configFile" in file /);
  });

  it('reports a missing file, bad JSON and a non-object', () => {
    const missing = join(dir, 'missing.json');
    const [notFound] = problems({ argv: ['--config', missing] });
    expect(notFound!.message).toMatch(
      new RegExp(`^cannot read config file ${missing} \\(from flag --config\\): .*ENOENT`),
    );
    expect(problems({ file: writeConfig('{ port: 1 ') })[0]!.message).toMatch(/is not valid JSON/);
    expect(problems({ file: writeConfig([1, 2]) })[0]!.message).toMatch(/must hold a JSON object/);
    expect(problems({ file: writeConfig('null') })[0]!.message).toMatch(/must hold a JSON object/);
  });

  it('accepts native JSON types and unit strings', () => {
    const file = writeConfig({
      demo: true,
      maxFrame: '64kb',
      heartbeatInterval: 5000,
      host: '::1',
    });
    expect(resolve({ file }).config).toMatchObject({
      demo: true,
      maxFrame: 65_536,
      heartbeatInterval: 5000,
      host: '::1',
    });
  });
});

describe('resolveConfig: errors', () => {
  it('is a ConfigError with code config_invalid, recognisable as an RwsError', () => {
    const error = failure({ env: { RWS_PORT: 'x' } });
    expect(error.code).toBe('config_invalid');
    expect(isRwsError(error)).toBe(true);
    expect(isConfigError(error)).toBe(true);
    expect(error.details?.errors).toEqual(error.problems);
  });

  it.each<[string, ResolveOptions, string, string, string]>([
    [
      'port',
      { env: { RWS_PORT: 'abc' } },
      '"abc"',
      'environment RWS_PORT',
      'an integer from 0 to 65535',
    ],
    ['port', { argv: ['--port', '70000'] }, '"70000"', 'flag --port', 'an integer from 0 to 65535'],
    [
      'sessionTtl',
      { env: { RWS_SESSION_TTL: '5 minutes' } },
      '"5 minutes"',
      'environment RWS_SESSION_TTL',
      'a duration such as 250ms, 30s, 5m or milliseconds, from 0s to 576h',
    ],
    [
      'messageTtl',
      { overrides: { messageTtl: -5 } },
      '-5',
      'option messageTtl',
      'a duration such as 250ms, 30s, 5m or milliseconds, from 1ms to 576h',
    ],
    [
      'outboxMaxBytes',
      { argv: ['--outbox-max-bytes=1.5b'] },
      '"1.5b"',
      'flag --outbox-max-bytes',
      'a size such as 64kb, 1mb or bytes, from 1kb to 1gb',
    ],
    [
      'overflow',
      { env: { RWS_OVERFLOW: 'drop-all' } },
      '"drop-all"',
      'environment RWS_OVERFLOW',
      'one of drop-oldest, drop-newest, reject, disconnect',
    ],
    [
      'logLevel',
      { env: { RWS_LOG_LEVEL: 'verbose' } },
      '"verbose"',
      'environment RWS_LOG_LEVEL',
      'one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      'store',
      { argv: ['--store', 'redis'] },
      '"redis"',
      'flag --store',
      'memory, or a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0',
    ],
    [
      'demo',
      { env: { RWS_DEMO: 'sometimes' } },
      '"sometimes"',
      'environment RWS_DEMO',
      'true or false (also yes/no, 1/0)',
    ],
  ])(
    'names key, value, source and what is allowed for %s',
    (key, options, value, source, allowed) => {
      const [problem, ...rest] = problems(options);
      expect(rest).toEqual([]);
      expect(problem).toEqual({
        message: `invalid ${key} ${value} from ${source}: expected ${allowed}`,
        key,
        value,
        source,
        allowed,
      });
      expect(failure(options).message).toBe(`invalid configuration: ${problem!.message}`);
    },
  );

  it('accepts a Redis URL for store and never shows its password', () => {
    const resolution = resolveConfig({
      env: { RWS_STORE: 'redis://:s3cret@10.0.0.5:6379/2' },
      argv: [],
    });
    expect(resolution.config.store).toBe('redis://:s3cret@10.0.0.5:6379/2');
    expect(formatConfig(resolution)).toContain('redis://<redacted>@10.0.0.5:6379/2');
    expect(formatConfig(resolution)).not.toContain('s3cret');
    const bad = problems({ env: { RWS_STORE: 'http://:s3cret@h' } })[0];
    expect(bad?.message).not.toContain('s3cret');
  });

  it('names the file as the source of a bad file value', () => {
    const file = writeConfig({ heartbeatTimeout: 'soon' });
    expect(problems({ file })[0]!.message).toBe(
      `invalid heartbeatTimeout "soon" from file ${file}: expected a duration such as 250ms, 30s, 5m or milliseconds, from 1ms to 576h`,
    );
  });

  it('reports every problem from every source together', () => {
    const file = writeConfig({ outboxMax: 0, typo: 1 });
    const error = failure({
      file,
      env: { RWS_PORT: 'abc', RWS_OVERFLOW: 'nope' },
      argv: ['--max-frame', 'huge', '--bogus'],
      overrides: { dedupMaxIds: 0 },
    });
    expect(error.problems.map((p) => p.source)).toEqual([
      'flag --bogus',
      `file ${file}`,
      'environment RWS_PORT',
      `file ${file}`,
      'environment RWS_OVERFLOW',
      'flag --max-frame',
      'option dedupMaxIds',
    ]);
    expect(error.message.split('\n')[0]).toBe('invalid configuration (7 problems):');
    expect(error.message.split('\n')).toHaveLength(8);
  });

  it('reports a bad value even when a higher source overrides it', () => {
    const [problem] = problems({ env: { RWS_PORT: 'abc' }, argv: ['--port', '9000'] });
    expect(problem!.source).toBe('environment RWS_PORT');
  });

  it('never puts the admin token in an error', () => {
    const error = failure({ env: { RWS_ADMIN_TOKEN: 's3cret-token', RWS_PORT: 'x' } });
    expect(JSON.stringify(error.problems) + error.message).not.toContain('s3cret-token');
  });

  // A URL without its scheme used to start the server, and then every client message failed
  // upstream, was retried and opened the breaker.
  it.each([['localhost:9000/hook'], ['upstream.internal/hook'], ['ftp://upstream.internal/hook']])(
    'refuses RWS_UPSTREAM_URL=%s naming the key, the value, the source and what is allowed',
    (url) => {
      expect(problems({ env: { RWS_UPSTREAM_URL: url } })).toEqual([
        expect.objectContaining({
          key: 'upstreamUrl',
          value: JSON.stringify(url),
          source: 'environment RWS_UPSTREAM_URL',
          allowed: expect.stringContaining('http:// or https:// URL') as string,
        }),
      ]);
    },
  );

  it('refuses an upstreamUrl with user:password, without quoting the credentials', () => {
    for (const url of [
      'http://alice:pa55word@upstream.internal/hook',
      'http://alice:pa#55word@upstream.internal/hook',
      'alice:pa55word@upstream.internal/hook',
    ]) {
      const error = failure({ argv: ['--upstream-url', url] });
      const [problem, ...rest] = error.problems;
      expect(rest).toEqual([]);
      expect(problem).toMatchObject({ key: 'upstreamUrl', source: 'flag --upstream-url' });
      expect(problem!.value).toContain('<redacted>@upstream.internal/hook');
      expect(problem!.message).toContain('use a credential-free URL');
      const text = JSON.stringify(error.problems) + error.message;
      expect(text, url).not.toContain('pa55word');
      expect(text, url).not.toContain('alice');
    }
  });

  it('accepts an http(s) upstreamUrl from every source', () => {
    const url = 'https://upstream.internal:8443/hook';
    expect(resolve({ env: { RWS_UPSTREAM_URL: url } }).config.upstreamUrl).toBe(url);
    expect(resolve({ overrides: { upstreamUrl: url } }).config.upstreamUrl).toBe(url);
    expect(resolve({ file: writeConfig({ upstreamUrl: url }) }).config.upstreamUrl).toBe(url);
    expect(resolve({ overrides: { upstreamUrl: '' } }).config.upstreamUrl).toBe('');
  });

  it('rejects unknown override names', () => {
    const overrides = { prot: 1, configFile: 'x.json' } as never;
    expect(problems({ overrides }).map((p) => p.message)).toEqual([
      'unknown option "prot" (did you mean port?)',
      'unknown option "configFile" (pass the config file path as `file`)',
    ]);
  });
});

describe('resolveConfig: values the original got wrong', () => {
  it('allows port 0 (ephemeral)', () => {
    expect(resolve({ env: { RWS_PORT: '0' } }).config.port).toBe(0);
    expect(resolve({ overrides: { port: 0 } }).config.port).toBe(0);
  });

  it('keeps sessionTtl 0 as 0 from every source', () => {
    const file = writeConfig({ sessionTtl: 0 });
    expect(resolve({ file }).config.sessionTtl).toBe(0);
    expect(resolve({ env: { RWS_SESSION_TTL: '0' } }).config.sessionTtl).toBe(0);
    expect(resolve({ env: { RWS_SESSION_TTL: '0s' } }).config.sessionTtl).toBe(0);
    expect(resolve({ argv: ['--session-ttl=0ms'] }).config.sessionTtl).toBe(0);
    expect(resolve({ overrides: { sessionTtl: 0 } }).config.sessionTtl).toBe(0);
  });
});

describe('resolveConfig: exposure', () => {
  it('refuses a non-loopback host without an admin token', () => {
    const [problem, ...rest] = problems({ env: { RWS_HOST: '0.0.0.0' } });
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({
      key: 'host',
      source: 'environment RWS_HOST',
      value: '"0.0.0.0"',
    });
    expect(problem!.message).toMatch(/^refusing to bind 0\.0\.0\.0 without RWS_ADMIN_TOKEN/);
    expect(problem!.message).toContain('from environment RWS_HOST');
    expect(problems({ argv: ['--host', '::'] })[0]!.message).toMatch(/^refusing to bind ::/);
  });

  it('allows a non-loopback host with an admin token', () => {
    const { config } = resolve({ env: { RWS_HOST: '0.0.0.0', RWS_ADMIN_TOKEN: 'token' } });
    expect(config.host).toBe('0.0.0.0');
  });

  it('knows what is loopback', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      'LOCALHOST',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.10', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
