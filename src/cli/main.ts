/**
 * The `resilient-ws` command: `serve` runs the gateway, `config` prints the resolved
 * configuration and where each value came from. Bad configuration exits with code 2, a port
 * that cannot be opened with 3, a store that cannot be used with 1, each with a message on
 * stderr and no stack trace (see EXIT).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticatorFromConfig } from '../auth/configured.js';
import type { Authenticate } from '../auth/principal.js';
import { formatConfig, isConfigError, logSampling, resolveConfig } from '../config/index.js';
import { redactUrlCredentials } from '../config/url.js';
import { help, usage } from './help.js';
import { describeListenError, describeStoreError } from './listen-error.js';
import { attachLogger, createLogger } from '../server/logging.js';
import { demoHandler, demoRoutes, startDemoTicker } from '../server/demo.js';
import { createServer, type RwsServer } from '../server/server.js';
import type { Logger } from 'pino';

/** Exit codes; docs/operations.md "Exit codes" lists them, `--help` too. */
export const EXIT = {
  ok: 0,
  /** Unknown command; a store that cannot be used; a start-up or shutdown failure not covered below. */
  failure: 1,
  /** Bad configuration. */
  config: 2,
  /** The port cannot be opened: in use, address not on this machine, not permitted. */
  cannotListen: 3,
} as const;

export interface CliIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the CLI; resolves with an exit code, or never for `serve` (it runs until a signal). */
export async function main(io: CliIo): Promise<number> {
  const [command, ...rest] = io.argv;
  if (command === undefined) {
    io.err(`${usage()}\n\nEvery setting: resilient-ws --help`);
    return EXIT.failure;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(help());
    return EXIT.ok;
  }
  if (command === '--version' || command === 'version') {
    io.out(version());
    return EXIT.ok;
  }
  if (command === 'mcp-bridge') {
    // Loaded on demand; it writes nothing but JSON-RPC to stdout (its help goes to stderr).
    const { mcpBridge } = await import('../../mcp/cli/bridge.js');
    return mcpBridge({ argv: rest, env: io.env });
  }
  if (command === 'mcp-serve') {
    // Loaded only when asked for (docs/mcp.md); it runs `serve` with its own message handler.
    const { mcpServe } = await import('../../mcp/cli/serve.js');
    return mcpServe(rest, io);
  }
  if (command !== 'serve' && command !== 'config') {
    io.err(
      `resilient-ws: unknown command "${command}"\n\n${usage()}\n\nEvery setting: resilient-ws --help`,
    );
    return EXIT.failure;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(help());
    return EXIT.ok;
  }
  let resolution;
  let authenticate;
  try {
    resolution = resolveConfig({ argv: rest, env: io.env });
    // The tokens file and key files are read here, so their problems exit with 2 too.
    authenticate = authenticatorFromConfig(resolution.config);
  } catch (error) {
    if (isConfigError(error)) {
      io.err(`resilient-ws: ${error.message}`);
      return EXIT.config;
    }
    throw error;
  }
  if (command === 'config') {
    io.out(formatConfig(resolution));
    return EXIT.ok;
  }
  return serve(resolution.config, io, authenticate);
}

// Exit codes of a second signal, as a shell reports a process killed by it (128 + number).
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };
// close() aborts in-flight upstream calls at the deadline and then gives clients up to ~2 s
// to finish their close handshake; the force exit comes only after that.
const FORCE_EXIT_GRACE_MS = 3000;

/** What a command built on `serve` (mcp-serve) adds to the server before the port opens. */
export interface ServeExtension {
  /** Installs handlers on `server`; the returned stop runs after the server closed. */
  attach(server: RwsServer, log: Logger): { stop(): Promise<void> };
}

export async function serve(
  config: ReturnType<typeof resolveConfig>['config'],
  io: CliIo,
  authenticate: Authenticate | undefined,
  extension?: ServeExtension,
): Promise<number> {
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const server = createServer({
    config,
    ...(authenticate === undefined ? {} : { authenticate }),
    ...(config.demo ? { onMessage: demoHandler, extraRoutes: demoRoutes } : {}),
  });
  const logs = attachLogger(server, log, { sample: logSampling(config.logSample) });
  const attached = extension?.attach(server, log);
  if (log.isLevelEnabled('debug')) {
    // One debug line per HTTP request (a second listener: the routes stay free of logging).
    server.observeRequests((req: IncomingMessage, res: ServerResponse) => {
      const start = performance.now();
      res.once('finish', () => logs.logRequest(req, res.statusCode, performance.now() - start));
    });
  }
  // Handlers go in before the port opens: a signal is delivered by the OS, and one that came
  // between the "listening" line and a later process.on() would kill the process unhandled.
  let stopDemo: (() => void) | undefined;
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  const exited = new Promise<number>((resolve) => {
    let stopping = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (deadline !== undefined) clearTimeout(deadline);
      logs.detach();
      resolve(code);
    };
    stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // The operator asked twice: they want out now, not after the drain.
        log.warn({ signal }, 'second signal: exiting now');
        finish(SIGNAL_EXIT[signal] ?? EXIT.failure);
        return;
      }
      stopping = true;
      const timeoutMs = config.shutdownTimeout;
      log.info({ signal, timeoutMs }, 'shutting down');
      stopDemo?.();
      // A ref'd timer: whatever close() waits on, the process exits by the deadline.
      deadline = setTimeout(() => {
        log.warn({ timeoutMs }, 'shutdown deadline passed: exiting anyway');
        finish(EXIT.ok);
      }, timeoutMs + FORCE_EXIT_GRACE_MS);
      server
        .close({ timeoutMs })
        .then(() => attached?.stop())
        .then(
          () => {
            log.info('shutdown complete');
            finish(EXIT.ok);
          },
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            finish(EXIT.failure);
          },
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  let info;
  try {
    info = await server.listen();
  } catch (error) {
    // A port in use (or an address that cannot be bound) is a mistake in the setup, not a
    // crash: one line naming the setting to change, no stack trace. So is a store that cannot
    // be used (a Redis that may evict keys, or never answers): one line, exit code 1.
    const listenLine = describeListenError(error, config);
    const line = listenLine ?? describeStoreError(error, config.store);
    if (line === undefined) throw error;
    if (stop !== undefined) {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
    logs.detach();
    await closeSoon(server);
    await attached?.stop();
    io.err(`resilient-ws: ${line}`);
    return listenLine !== undefined ? EXIT.cannotListen : EXIT.failure;
  }
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

/** Releases what the server holds (a store connection) without waiting more than a second. */
async function closeSoon(server: ReturnType<typeof createServer>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    server.close({ timeoutMs: 0 }).catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}
