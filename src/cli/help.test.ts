import { describe, expect, it } from 'vitest';
import { formatSettingValue } from '../config/format.js';
import { SETTING_KEYS, settingOf } from '../config/schema.js';
import { HELP_WIDTH, help, wrap } from './help.js';

describe('--help text', () => {
  const text = help();
  const flat = text.replace(/\s+/g, ' ');

  it('lists every setting of the schema: flag, environment variable, default and doc', () => {
    for (const key of SETTING_KEYS) {
      const s = settingOf(key);
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`  ${s.flag} `) || l.startsWith(`  ${s.flag},`));
      expect(line, `no help line for ${s.flag}`).toBeDefined();
      expect(line).toContain(s.env);
      expect(line).toContain(`default ${formatSettingValue(key, s.default)}`);
      if (s.kind === 'boolean') expect(line).toContain(`--no-${s.flag.slice(2)}`);
      expect(flat).toContain(s.doc.replace(/\s+/g, ' '));
      if (s.kind === 'enum') expect(flat).toContain(`One of: ${s.values.join(', ')}.`);
    }
  });

  it(`fits in ${HELP_WIDTH} columns`, () => {
    const long = text.split('\n').filter((l) => l.length > HELP_WIDTH);
    expect(long).toEqual([]);
  });

  it('lists the exit codes', () => {
    expect(text).toMatch(/^ {2}2 +bad configuration/m);
    expect(text).toMatch(/^ {2}3 +cannot listen: port in use/m);
  });

  it('wrap keeps words whole and never passes the width', () => {
    const words = Array.from({ length: 60 }, (_, i) => 'w'.repeat((i % 9) + 1)).join(' ');
    const lines = wrap(words, '    ').split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) {
      expect(l.length).toBeLessThanOrEqual(HELP_WIDTH);
      expect(l.startsWith('    ')).toBe(true);
    }
    expect(lines.map((l) => l.trim()).join(' ')).toBe(words);
  });
});
