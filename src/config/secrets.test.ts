/**
 * Regression: the admin token is never printed, also in errors from the file source (the
 * JSON parser's own message quotes the text around the fault, so only the position is
 * reported).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isConfigError, resolveConfig } from './index.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rws-cfg-')), 'c.json');
  writeFileSync(path, text);
  return path;
}

function errorText(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return `${(error as Error).message}\n${JSON.stringify((error as { problems?: unknown }).problems)}`;
  }
  throw new Error('expected a ConfigError');
}

describe('secrets in config-file errors', () => {
  it('a single-quoted admin token in an invalid JSON file is not echoed', () => {
    const text = errorText(() =>
      resolveConfig({ env: {}, file: file(`{"adminToken": 'SUPERSECRET'}`) }),
    );
    expect(text).toContain('not valid JSON');
    expect(text).not.toContain('SUPERSEC');
  });

  it('an unquoted admin token in an invalid JSON file is not echoed', () => {
    const text = errorText(() =>
      resolveConfig({ env: {}, file: file(`{"adminToken": SUPERSECRET}`) }),
    );
    expect(text).not.toContain('SUPERSEC');
  });
});

describe('admin token values', () => {
  it('a token that starts with "--" is taken as the value, never echoed as an unknown flag', () => {
    const r = resolveConfig({ argv: ['--admin-token', '--s3cret-start'], env: {} });
    expect(r.config.adminToken).toBe('--s3cret-start');
  });

  it('a token with outer spaces is refused (a request header could never match it), and not echoed', () => {
    let error: unknown;
    try {
      resolveConfig({ env: { RWS_ADMIN_TOKEN: ' padded-secret ' } });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('adminToken');
    expect((error as Error).message).toContain('without leading or trailing spaces');
    expect((error as Error).message).not.toContain('padded-secret');
  });
});
