import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { LOG_SAMPLE_KINDS, logSampling, parseLogSample } from './log-sample.js';
import { resolveConfig } from './resolve.js';

function problem(env: Record<string, string>) {
  try {
    resolveConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('logSample', () => {
  it('is empty by default: nothing is sampled', () => {
    const { config, sources } = resolveConfig({ env: {} });
    expect([config.logSample, sources.logSample]).toEqual(['', 'default']);
    expect(logSampling(config.logSample)).toEqual({});
  });

  it.each([
    ['', {}],
    ['session:100', { session: 100 }],
    [' session:100 , send: 1000 ,', { session: 100, send: 1000 }],
    ['SESSION:5,heartbeattimeout:2', { session: 5, heartbeatTimeout: 2 }],
    // N = 1 is no sampling: the kind is left out.
    ['session:1,send:2', { send: 2 }],
  ])('reads %j', (value, every) => {
    expect(parseLogSample(value)).toEqual({ ok: true, every });
  });

  it('a bare N is the default for every kind not named', () => {
    const parsed = parseLogSample('send:1000,50,ack:1');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const expected = Object.fromEntries(LOG_SAMPLE_KINDS.map((k) => [k, 50]));
    delete expected.ack;
    expect(parsed.every).toEqual({ ...expected, send: 1000 });
  });

  it.each([
    ['sessions:10', '"sessions" is not a sampled kind'],
    [
      'frameError:10',
      '"frameError" is not a sampled kind: its lines are warnings, which are never sampled',
    ],
    ['error:10', '"error" is not a sampled kind: its lines are errors, which are never sampled'],
    ['resume:10', '"resume" is not a sampled kind: partial resume lines are rate-limited instead'],
    ['send:0', '"send:0": N must be an integer from 1 to 1000000'],
    ['send:-5', '"send:-5": N must be an integer from 1 to 1000000'],
    ['send:2.5', '"send:2.5": N must be an integer from 1 to 1000000'],
    ['send:1000001', '"send:1000001": N must be an integer from 1 to 1000000'],
    ['send:', '"send:": N must be an integer from 1 to 1000000'],
    ['send=10', '"send=10" is neither kind:N nor N'],
    ['0', '"0" is neither kind:N nor N'],
    ['send:10,send:20', 'send is given twice'],
    ['10,20', 'more than one N without a kind'],
  ])('refuses %j: %s', (value, message) => {
    const parsed = parseLogSample(value);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.startsWith(message), parsed.problem).toBe(true);
  });

  it('a bad value stops start-up with a config error naming the value, its source, what is allowed and why', () => {
    const [first, ...rest] = problem({ RWS_LOG_SAMPLE: 'session:10,sessions:10' });
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      key: 'logSample',
      source: 'environment RWS_LOG_SAMPLE',
      value: '"session:10,sessions:10"',
    });
    expect(first!.allowed).toBe(
      'empty, or comma-separated kind:N entries and at most one bare N (N from 1 to 1000000)',
    );
    expect(first!.message).toMatch(
      /^invalid logSample "session:10,sessions:10" from environment RWS_LOG_SAMPLE: expected empty, or .*; "sessions" is not a sampled kind \(connection, session, disconnect, .*, httpRequest\)$/,
    );
    const [zero] = problem({ RWS_LOG_SAMPLE: 'send:0' });
    expect(zero!.message).toMatch(/; "send:0": N must be an integer from 1 to 1000000$/);
  });

  it('is read from the environment, a flag and options alike', () => {
    expect(resolveConfig({ env: { RWS_LOG_SAMPLE: ' send:10 ' } }).config.logSample).toBe(
      'send:10',
    );
    expect(resolveConfig({ env: {}, argv: ['--log-sample', '20'] }).config.logSample).toBe('20');
    expect(resolveConfig({ env: {}, overrides: { logSample: 'ack:3' } }).config.logSample).toBe(
      'ack:3',
    );
  });
});
