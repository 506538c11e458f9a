/**
 * `GET /dashboard` (docs/operations.md "Dashboard"): the live dashboard, a static page built
 * from dashboard/ into dist/dashboard/ by `npm run build` (scripts/build-dashboard.js). The
 * page holds no data: it reads the admin API (`/api/*`, same origin, with the admin token
 * when one is set), so serving it needs no token. Files are read once and kept.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendError } from './http-util.js';

/** This file runs as dist/src/server/ when built, or from src/server/ under a TypeScript
 *  loader (tests), where the build lives in ./dist. */
const UP2 = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(basename(UP2) === 'dist' ? UP2 : join(UP2, 'dist'), 'dashboard');

const FILES: Record<string, { file: string; type: string }> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.js.map': { file: 'app.js.map', type: 'application/json; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Promise<Buffer>>();

/** Serves the dashboard's files; false when `path` is not one of them. */
export function dashboardRoute(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const entry = FILES[path];
  if (entry === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  let body = cache.get(entry.file);
  if (body === undefined) {
    body = readFile(join(DIST, entry.file));
    cache.set(entry.file, body);
    // A missing build is retried on the next request (after `npm run build`).
    body.catch(() => cache.delete(entry.file));
  }
  body.then(
    (b) => {
      res.writeHead(200, {
        'content-type': entry.type,
        'content-length': b.length,
        'cache-control': 'no-cache',
        // The page loads only its own files and talks only to its own origin.
        'content-security-policy':
          "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : b);
    },
    () => sendError(res, 404, 'not_found', 'the dashboard is not built: run `npm run build`'),
  );
  return true;
}
