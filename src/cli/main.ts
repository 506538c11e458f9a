/**
 * The `resilient-ws` command: `serve` runs the gateway, `config` prints the resolved
 * configuration and where each value came from. Bad configuration exits with code 2.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatConfig, isConfigError, resolveConfig } from '../config/index.js';
import { redactUrlCredentials } from '../config/url.js';
import { attachLogger, createLogger, logRequest } from '../server/logging.js';
import { demoHandler, demoRoutes, startDemoTicker } from '../server/demo.js';
import { createServer } from '../server/server.js';

const USAGE = `Usage: resilient-ws <command> [--flags]

Commands:
  serve     run the gateway: WebSocket endpoint (/ws), HTTP API, health
  config    print every resolved setting and its source
  help      show this help

Every setting is a flag (--port 9000), an environment variable (RWS_PORT) or a key of the
JSON file given by --config; see docs/configuration.md. --preset development|production|testing
(RWS_PRESET) picks a named set of values that all of those override.

serve stops on SIGTERM or SIGINT: it refuses new clients, closes the others with 1001 so they
resume elsewhere, waits up to --shutdown-timeout for in-flight work and exits 0. A second
signal exits at once (130 for SIGINT, 143 for SIGTERM). See docs/operations.md.`;

export interface CliIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the CLI; resolves with an exit code, or never for `serve` (it runs until a signal). */
export async function main(io: CliIo): Promise<number> {
  const [command, ...rest] = io.argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === 'version') {
    io.out(version());
    return 0;
  }
  if (command !== 'serve' && command !== 'config') {
    io.err(`resilient-ws: unknown command "${command}"\n\n${USAGE}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let resolution;
  try {
    resolution = resolveConfig({ argv: rest, env: io.env });
  } catch (error) {
    if (isConfigError(error)) {
      io.err(`resilient-ws: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (command === 'config') {
    io.out(formatConfig(resolution));
    return 0;
  }
  return serve(resolution.config, io);
}

// Exit codes of a second signal, as a shell reports a process killed by it (128 + number).
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };
// close() aborts in-flight upstream calls at the deadline and then gives clients up to ~2 s
// to finish their close handshake; the force exit comes only after that.
const FORCE_EXIT_GRACE_MS = 3000;

async function serve(
  config: ReturnType<typeof resolveConfig>['config'],
  io: CliIo,
): Promise<number> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const server = createServer({
    config,
    ...(config.demo ? { onMessage: demoHandler, extraRoutes: demoRoutes } : {}),
  });
  const logs = attachLogger(server, log);
  if (log.isLevelEnabled('debug')) {
    // One debug line per HTTP request (a second listener: the routes stay free of logging).
    server.observeRequests((req: IncomingMessage, res: ServerResponse) => {
      const start = performance.now();
      res.once('finish', () => logRequest(log, req, res.statusCode, performance.now() - start));
    });
  }
  // Handlers go in before the port opens: a signal is delivered by the OS, and one that came
  // between the "listening" line and a later process.on() would kill the process unhandled.
  let stopDemo: (() => void) | undefined;
  const exited = new Promise<number>((resolve) => {
    let stopping = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (deadline !== undefined) clearTimeout(deadline);
      logs.detach();
      resolve(code);
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // The operator asked twice: they want out now, not after the drain.
        log.warn({ signal }, 'second signal: exiting now');
        finish(SIGNAL_EXIT[signal] ?? 1);
        return;
      }
      stopping = true;
      const timeoutMs = config.shutdownTimeout;
      log.info({ signal, timeoutMs }, 'shutting down');
      stopDemo?.();
      // A ref'd timer: whatever close() waits on, the process exits by the deadline.
      deadline = setTimeout(() => {
        log.warn({ timeoutMs }, 'shutdown deadline passed: exiting anyway');
        finish(0);
      }, timeoutMs + FORCE_EXIT_GRACE_MS);
      server.close({ timeoutMs }).then(
        () => {
          log.info('shutdown complete');
          finish(0);
        },
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          finish(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  const info = await server.listen();
  if (config.demo) stopDemo = startDemoTicker(server);
  log.info(
    {
      url: info.url,
      http: info.httpUrl,
      demo: config.demo,
      store: redactUrlCredentials(config.store),
      node: server.node,
      preset: config.preset,
      pid: process.pid,
    },
    'resilient-ws listening',
  );
  // Whatever the log level (the testing preset logs warn and above only): with port 0 this is
  // the only place the URLs appear. On stderr, so stdout stays one log object per line.
  io.err(`resilient-ws listening on ${info.url} (HTTP ${info.httpUrl})`);
  if (config.demo)
    io.out(`resilient-ws demo: open ${info.httpUrl}/ in a browser; WebSocket endpoint ${info.url}`);
  return exited;
}

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}
