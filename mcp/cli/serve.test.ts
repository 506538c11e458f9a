import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { HELP_WIDTH, usage } from '../../src/cli/help.js';
import { mcpServeHelp, parseMcpServeArgs, resolveMcpServeConfig } from './serve.js';

async function run(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main({
    argv,
    env,
    out: (l) => (out += l + '\n'),
    err: (l) => (err += l + '\n'),
  });
  return { code, out, err };
}

describe('resilient-ws mcp-serve arguments', () => {
  it('splits serve flags, --shared and the command at the first --', () => {
    expect(
      parseMcpServeArgs(['--port', '0', '--shared', '--', 'node', 's.js', '--shared', '--']),
    ).toEqual({
      flags: ['--port', '0'],
      shared: true,
      command: ['node', 's.js', '--shared', '--'],
      help: false,
    });
    expect(parseMcpServeArgs(['--', 'npx', '-h'])).toMatchObject({ help: false, shared: false });
    expect(parseMcpServeArgs(['-h'])).toMatchObject({ help: true, command: [] });
  });

  it('applies the mcp preset unless a flag, the environment or the file names one', () => {
    const byDefault = resolveMcpServeConfig(['--port', '0'], {});
    expect(byDefault.config.preset).toBe('mcp');
    expect(byDefault.config.maxFrame).toBe(16 * 1024 * 1024);
    expect(byDefault.config.overflow).toBe('reject');
    expect(byDefault.sources.maxFrame).toBe('preset');
    // Flags still win over the preset.
    expect(resolveMcpServeConfig(['--max-frame', '2mb'], {}).config.maxFrame).toBe(2 * 1024 * 1024);
    expect(resolveMcpServeConfig([], { RWS_PRESET: 'production' }).config.preset).toBe(
      'production',
    );
    expect(resolveMcpServeConfig(['--preset', 'none'], {}).config.maxFrame).toBe(1024 * 1024);
  });

  it('exits 2 without a command after --, or with --demo or an upstream', async () => {
    for (const argv of [
      ['mcp-serve', '--port', '0'],
      ['mcp-serve', '--port', '0', '--'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain('no MCP server command');
    }
    const demo = await run(['mcp-serve', '--demo', '--', 'node', 'x.js']);
    expect([demo.code, demo.err]).toEqual([
      2,
      'resilient-ws mcp-serve: demo cannot be used: the MCP server answers\n',
    ]);
    const upstream = await run(['mcp-serve', '--', 'node', 'x.js'], {
      RWS_UPSTREAM_URL: 'http://127.0.0.1:9/x',
    });
    expect(upstream.code).toBe(2);
    expect(upstream.err).toContain('upstreamUrl cannot be used');
  });

  it('exits 2 on a bad setting, naming it', async () => {
    const r = await run(['mcp-serve', '--max-frame', 'lots', '--', 'node', 'x.js']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('maxFrame');
  });

  it('prints its help, within the help width; the command list names it', async () => {
    const r = await run(['mcp-serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(mcpServeHelp() + '\n');
    expect(r.out).toContain('--shared');
    expect(
      mcpServeHelp()
        .split('\n')
        .filter((l) => l.length > HELP_WIDTH),
    ).toEqual([]);
    expect(usage()).toMatch(/^ {2}mcp-serve /m);
  });
});
