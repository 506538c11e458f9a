/**
 * The `resilient-ws` command: `serve` runs the gateway, `config` prints the resolved
 * configuration and where each value came from. Bad configuration exits with code 2.
 */
import { readFileSync } from 'node:fs';
import { formatConfig, isConfigError, resolveConfig } from '../config/index.js';
import { attachLogger, createLogger } from '../server/logging.js';
import { demoHandler, demoRoutes, startDemoTicker } from '../server/demo.js';
import { createServer } from '../server/server.js';

const USAGE = `Usage: resilient-ws <command> [--flags]

Commands:
  serve     run the gateway: WebSocket endpoint (/ws), HTTP API, health
  config    print every resolved setting and its source
  help      show this help

Every setting is a flag (--port 9000), an environment variable (RWS_PORT) or a key of the
JSON file given by --config; see docs/configuration.md.`;

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

async function serve(
  config: ReturnType<typeof resolveConfig>['config'],
  io: CliIo,
): Promise<number> {
  const log = createLogger(config.logLevel);
  const server = createServer({
    config,
    ...(config.demo ? { onMessage: demoHandler, extraRoutes: demoRoutes } : {}),
  });
  attachLogger(server, log);
  const info = await server.listen();
  const stopDemo = config.demo ? startDemoTicker(server) : undefined;
  log.info(
    { url: info.url, http: info.httpUrl, demo: config.demo, store: config.store },
    'resilient-ws listening',
  );
  if (config.demo)
    io.out(`resilient-ws demo: open ${info.httpUrl}/ in a browser; WebSocket endpoint ${info.url}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      stopDemo?.();
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}
