/**
 * `resilient-ws mcp-serve [serve flags] [--shared] -- <command> [args…]`: a resilient-ws
 * server whose sessions each talk JSON-RPC to a stdio MCP server run as a child process
 * (serve-host.ts); docs/mcp.md, "mcp-serve". The settings are those of `serve`, on top of the
 * `mcp` preset unless a preset is named. No MCP SDK is needed at run time.
 */
import { authenticatorFromConfig } from '../../src/auth/configured.js';
import { isConfigError, resolveConfig, type ResolvedConfig } from '../../src/config/index.js';
import { EXIT, serve, type CliIo } from '../../src/cli/main.js';
import { wrap } from '../../src/cli/help.js';
import { McpHost } from './serve-host.js';

/** The text of `resilient-ws mcp-serve --help`. */
export function mcpServeHelp(): string {
  return [
    'Usage: resilient-ws mcp-serve [serve flags] [--shared] -- <command> [args…]',
    '',
    wrap(
      'Runs a stdio MCP server behind resilient-ws: each session (a client of ' +
        '`resilient-ws mcp-bridge` or the library transport) gets its own child process, ' +
        'started at its first message; each client message is one JSON-RPC message, written ' +
        "to the child's stdin as one line; each line of the child's stdout that is a JSON-RPC " +
        'message is sent to the session (progress keyed per token: latest value wins while ' +
        'the client is away); other stdout lines are dropped and counted; stderr goes to the ' +
        'logs. The child is stopped (stdin closed, SIGTERM, SIGKILL) when its session ends or ' +
        'expires; when it exits by itself, its open requests get a JSON-RPC error and the ' +
        'session ends.',
      '',
    ),
    '',
    wrap(
      '--shared: one child for every session (stateless servers only): request ids and ' +
        'progress tokens are rewritten per session, the first initialize is forwarded and ' +
        'later ones answered from its result, server-to-client requests are refused.',
      '',
    ),
    '',
    wrap(
      'Every setting of `resilient-ws serve` applies (resilient-ws --help). Without a preset ' +
        'named by --preset, RWS_PRESET or the config file, the `mcp` preset applies: ' +
        'maxFrame 16 MiB, outboxMaxBytes 64 MiB, overflow reject, sessionTtl, messageTtl and ' +
        'dedupWindow 15 min. Exit codes as for serve; 2 also for a missing command.',
      '',
    ),
  ].join('\n');
}

interface ParsedArgs {
  flags: string[];
  shared: boolean;
  command: string[];
  help: boolean;
}

export function parseMcpServeArgs(argv: readonly string[]): ParsedArgs {
  const dash = argv.indexOf('--');
  const before = dash < 0 ? [...argv] : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const help = before.includes('--help') || before.includes('-h');
  const shared = before.includes('--shared');
  return { flags: before.filter((a) => a !== '--shared'), shared, command, help };
}

/** Resolves the settings, with the `mcp` preset when no source names a preset. */
export function resolveMcpServeConfig(
  flags: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ReturnType<typeof resolveConfig> {
  const first = resolveConfig({ argv: flags, env });
  if (first.sources.preset !== 'default') return first;
  return resolveConfig({ argv: ['--preset', 'mcp', ...flags], env });
}

export async function mcpServe(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseMcpServeArgs(argv);
  if (args.help) {
    io.out(mcpServeHelp());
    return EXIT.ok;
  }
  if (args.command.length === 0 || args.command[0] === '') {
    io.err(
      'resilient-ws mcp-serve: no MCP server command: put it after `--`, e.g. ' +
        '`resilient-ws mcp-serve --port 8080 -- node my-mcp-server.js`',
    );
    return EXIT.config;
  }
  let config: ResolvedConfig;
  let authenticate;
  try {
    config = resolveMcpServeConfig(args.flags, io.env).config;
    authenticate = authenticatorFromConfig(config);
  } catch (error) {
    if (isConfigError(error)) {
      io.err(`resilient-ws: ${error.message}`);
      return EXIT.config;
    }
    throw error;
  }
  // Either would answer the client messages instead of the MCP server.
  const conflict = config.demo ? 'demo' : config.upstreamUrl !== '' ? 'upstreamUrl' : undefined;
  if (conflict !== undefined) {
    io.err(`resilient-ws mcp-serve: ${conflict} cannot be used: the MCP server answers`);
    return EXIT.config;
  }
  const [command, ...commandArgs] = args.command as [string, ...string[]];
  return serve(config, io, authenticate, {
    attach(server, log) {
      const host = new McpHost(server, {
        command: { command, args: commandArgs },
        shared: args.shared,
        maxLineBytes: config.maxFrame,
        log,
      });
      server.onMessage((m) => host.handle(m));
      // Not the arguments: they may carry a key.
      log.info(
        {
          command,
          argCount: commandArgs.length,
          mode: args.shared ? 'shared' : 'per-session',
          preset: config.preset,
        },
        'mcp-serve: MCP server command set (started at the first message of a session)',
      );
      return { stop: () => host.stop() };
    },
  });
}
