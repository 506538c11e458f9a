/**
 * The error-code catalog (error-codes.ts) against the sources: every code that src/ throws
 * or answers with is in the catalog and has an HTTP status (server/routes.ts), every catalog
 * entry is used, and the statuses written next to a code in the sources agree with the map.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RWS_ERROR_CODES, isRwsErrorCode } from './error-codes.js';
import { RwsError } from './errors.js';
import { ERROR_STATUS } from './server/routes.js';
import { NackError } from './session/client-messages.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')
      ? [path]
      : [];
  });
}

interface Site {
  where: string;
  code: string;
  /** The HTTP status written at the site (HttpError, sendError), if any. */
  status?: number;
}

/**
 * Where an error code is given: `new RwsError(code`, `new HttpError(status, code`,
 * `sendError(res, status, code`, `refusal(status, code` (an upgrade refused), and `super(code` in a class that extends RwsError. A code
 * given as a constant (`const X = 'code'` in the same file) is resolved; one given as a
 * parameter is a pass-through (a subclass with its own code space), listed separately.
 */
const PATTERNS = [
  /new RwsError\(\s*(?<code>'[^']*'|\w+)/g,
  /new HttpError\(\s*(?<status>\d+),\s*(?<code>'[^']*'|\w+)/g,
  /sendError\(\s*res,\s*(?<status>\d+),\s*(?<code>'[^']*'|\w+)/g,
  /\bfail\(\s*res,\s*(?<code>'[^']*'|\w+)/g,
  // WebSocket upgrades refused before the handshake (transport/admission.ts).
  /\brefusal\(\s*(?<status>\d+),\s*(?<code>'[^']*'|\w+)/g,
];
const SUPER = /super\(\s*(?<code>'[^']*'|\w+)/g;

function scan(): { sites: Site[]; passThrough: string[] } {
  const sites: Site[] = [];
  const passThrough: string[] = [];
  for (const file of sources(SRC)) {
    // Comments blanked (newlines kept, for line numbers): they quote code, e.g. errors.ts.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
      .replace(/\/\/[^\n]*/g, (c) => ' '.repeat(c.length));
    const name = relative(SRC, file);
    const patterns = /extends RwsError\b/.test(text) ? [...PATTERNS, SUPER] : PATTERNS;
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const line = text.slice(0, m.index).split('\n').length;
        const where = `src/${name}:${line}`;
        const raw = m.groups!.code!;
        let code: string | undefined;
        if (raw.startsWith("'")) code = raw.slice(1, -1);
        else code = new RegExp(`const ${raw} = '([^']*)'`).exec(text)?.[1];
        if (code === undefined) {
          passThrough.push(`src/${name}: ${m[0].replace(/\s+/g, ' ')}`);
          continue;
        }
        const status = m.groups!.status;
        sites.push(
          status === undefined ? { where, code } : { where, code, status: Number(status) },
        );
      }
    }
  }
  return { sites, passThrough };
}

describe('error-code catalog', () => {
  const { sites, passThrough } = scan();

  it('finds the error sites of the sources (the scan itself works)', () => {
    expect(sites.length).toBeGreaterThan(50);
    const codes = new Set(sites.map((s) => s.code));
    for (const known of ['unknown_session', 'outbox_full', 'breaker_open', 'config_invalid'])
      expect(codes).toContain(known);
  });

  it('every code thrown or answered in src/ is in the catalog and has an HTTP status', () => {
    const missing = sites.filter((s) => !isRwsErrorCode(s.code));
    expect(missing, 'add these codes to RWS_ERROR_CODES (src/error-codes.ts)').toEqual([]);
    for (const s of sites) expect(ERROR_STATUS, s.where).toHaveProperty(s.code);
  });

  it('every catalog entry is used somewhere, has a one-line meaning and a status', () => {
    const used = new Set(sites.map((s) => s.code));
    const unused = Object.keys(RWS_ERROR_CODES).filter((c) => !used.has(c));
    expect(unused, 'remove these codes, or throw them').toEqual([]);
    for (const [code, meaning] of Object.entries(RWS_ERROR_CODES)) {
      expect(meaning.length, code).toBeGreaterThan(10);
      expect(meaning, code).not.toContain('\n');
    }
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.keys(RWS_ERROR_CODES).sort());
    for (const status of Object.values(ERROR_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('a status written next to a code in the sources is the one the map gives it', () => {
    const disagree = sites
      .filter((s) => s.status !== undefined && isRwsErrorCode(s.code))
      .filter((s) => ERROR_STATUS[s.code as keyof typeof ERROR_STATUS] !== s.status)
      .map((s) => `${s.where}: ${s.code} ${s.status}`);
    expect(disagree).toEqual([]);
  });

  it('only the subclasses with their own code space pass a code through', () => {
    expect(passThrough.sort()).toEqual([
      'src/server/http-util.ts: super(code',
      'src/session/client-messages.ts: super(code',
    ]);
  });

  it('application nack codes stay free-form (NackError takes any string)', () => {
    const e = new NackError('my_app_refusal', 'no', { retryable: true });
    expect(e.code).toBe('my_app_refusal');
    expect(isRwsErrorCode(e.code)).toBe(false);
    expect(e).toBeInstanceOf(RwsError);
  });

  it('isRwsErrorCode: true for catalog codes only', () => {
    expect(isRwsErrorCode('outbox_full')).toBe(true);
    expect(isRwsErrorCode('toString')).toBe(false);
    expect(isRwsErrorCode('my_app_refusal')).toBe(false);
    expect(isRwsErrorCode(404)).toBe(false);
  });
});
