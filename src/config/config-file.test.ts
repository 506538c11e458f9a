/** Regression: config-file selection and parsing edge cases (sources.ts, resolve.ts). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './index.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rws-cfg-')), 'c.json');
  writeFileSync(path, text);
  return path;
}

describe('config file edge cases', () => {
  it('--config= (empty, "means none") wins over RWS_CONFIG, consistently with what `config` prints', () => {
    const path = file('{"port": 9999}');
    const r = resolveConfig({ argv: ['--config='], env: { RWS_CONFIG: path } });
    // resolve.ts reports configFile = "" from the flag ...
    expect(r.config.configFile).toBe('');
    expect(r.sources.configFile).toBe('flag');
    // ... yet the file named by the lower-precedence RWS_CONFIG was still read.
    expect(r.config.port).toBe(8080);
    expect(r.sources.port).toBe('default');
  });

  it('a UTF-8 BOM (Notepad, PowerShell 5 Out-File) does not make the file invalid JSON', () => {
    const r = resolveConfig({ env: {}, file: file('\uFEFF{"port": 9001}') });
    expect(r.config.port).toBe(9001);
  });

  it('a "__proto__" key is reported as an unknown key, not silently dropped', () => {
    expect(() =>
      resolveConfig({ env: {}, file: file('{"__proto__": {"port": 1}, "port": 9001}') }),
    ).toThrow(/unknown key "__proto__"/);
  });
});
