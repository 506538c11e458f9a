/**
 * Structured logs (pino) fed by the core's events. Nothing per message at info level; keys
 * and tokens never reach a log line (sessions are logged by sid only).
 */
import { pino, type Logger } from 'pino';
import type { RwsServer } from './server.js';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'resilient-ws' },
    redact: {
      paths: ['key', '*.key', 'token', '*.token', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  });
}

export function attachLogger(server: RwsServer, log: Logger): void {
  server.on('session', (e) => log.debug({ sid: e.sid, resumed: e.resumed }, 'session attached'));
  server.on('resume', (e) => {
    if (e.resumed && !e.recovered)
      log.info({ sid: e.sid, reason: e.reason, missing: e.missing }, 'partial resume');
  });
  server.on('disconnect', (e) => log.debug({ sid: e.sid, code: e.code }, 'connection closed'));
  server.on('reap', (e) => log.debug({ sid: e.sid, leftover: e.leftover }, 'session reaped'));
  server.on('drop', (e) =>
    log.debug({ sid: e.sid, reason: e.reason, count: e.count }, 'messages dead-lettered'),
  );
  server.on('error', (e) =>
    log.error({ where: e.where, err: e.error }, 'background operation failed'),
  );
}
