import { readFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from './docs.js';
import { PRESETS, PRESET_NAMES } from './presets.js';
import { SETTING_KEYS, settingOf } from './schema.js';

describe('docs/configuration.md', () => {
  it('matches the schema (run `npm run docs:config` after changing a setting)', async () => {
    const file = new URL('../../docs/configuration.md', import.meta.url);
    const committed = readFileSync(file, 'utf8');
    const options = (await resolveConfig(file.pathname)) ?? {};
    expect(committed).toBe(
      await format(configurationMarkdown(), { ...options, parser: 'markdown' }),
    );
  });

  it('documents every setting with its environment name and flag', () => {
    const md = configurationMarkdown();
    for (const key of SETTING_KEYS) {
      const s = settingOf(key);
      expect(md).toContain(`| \`${key}\` | \`${s.env}\` |`);
      expect(md).toContain(`\`${s.flag}\``);
    }
  });
});

describe('docs/configuration.md presets', () => {
  it('lists every value of every preset with its reason', () => {
    const md = configurationMarkdown();
    for (const name of PRESET_NAMES) {
      expect(md).toContain(`### \`${name}\``);
      for (const [key, entry] of Object.entries(PRESETS[name].values)) {
        expect(md).toMatch(
          new RegExp(`\\| \`${key}\` \\| \`[^\`]+\` \\| \`[^\`]+\` \\| [^|]*${escape(entry.why)}`),
        );
      }
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
