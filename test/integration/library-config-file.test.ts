/**
 * Regression: `createServer({ file })` loads a JSON config file (options win over it), as the
 * error for a `configFile` option suggests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/index.js';

describe('createServer and config files', () => {
  it('following the error hint for configFile works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rws-cfg-'));
    const path = join(dir, 'c.json');
    writeFileSync(path, '{"outboxMax": 7}');
    let hint = '';
    try {
      createServer({ configFile: path } as never);
    } catch (error) {
      hint = (error as Error).message;
    }
    expect(hint).toContain('pass the config file path as `file`');
    // Do what the hint says:
    const server = createServer({ file: path, logLevel: 'silent' } as never);
    expect(server.config.outboxMax).toBe(7);
  });
});
