/**
 * docs/configuration.md, generated from the schema (the single source of truth), so the
 * documentation cannot describe options the code ignores. `npm run docs:config` writes it;
 * a test fails when the committed file drifts from the schema or the presets.
 */
import { formatSettingValue } from './format.js';
import { PRESETS, PRESET_NAMES } from './presets.js';
import { SETTING_KEYS, settingOf, type ResolvedConfig, type SettingKey } from './schema.js';
import { describeAllowed } from './values.js';

export function configurationMarkdown(): string {
  const rows = SETTING_KEYS.map((key) => {
    const s = settingOf(key);
    const def = formatSettingValue(key, s.default);
    const flag =
      s.kind === 'boolean' ? `\`${s.flag}\` / \`--no-${s.flag.slice(2)}\`` : `\`${s.flag}\``;
    return `| \`${key}\` | \`${s.env}\` | ${flag} | \`${def}\` | ${describeAllowed(s)} | ${s.doc} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts and src/config/presets.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every setting can come from five places. Later ones win: the built-in default, a',
    "[preset](#presets) (`--preset`, `RWS_PRESET` or the file's `preset` key), a JSON config",
    'file (`--config` or `RWS_CONFIG`, an object with the keys below), the environment',
    '(`RWS_*`) and command-line flags. The library API (`createServer(options)`) takes the same',
    'keys as options, which win over everything, and does not read the environment.',
    '',
    'Durations accept `250ms`, `30s`, `5m`, `1h` or a number of milliseconds. Sizes accept',
    '`64kb`, `1mb`, `1gb` (1024-based) or a number of bytes. Booleans accept `true`/`false`,',
    '`yes`/`no` and `1`/`0`.',
    '',
    'A bad value stops start-up with exit code 2 and a message naming the key, the value, its',
    'source and what is allowed; every problem is reported at once. Binding a host other than',
    'loopback requires `RWS_ADMIN_TOKEN`. `resilient-ws config` prints every resolved value and',
    'where it came from (`default`, `preset <name>`, `file`, `env`, `flag`; secrets (the admin',
    'token, `tokens`, `jwtSecret`, a Redis password) only as `<set>`, `<unset>` or redacted).',
    '',
    '## Settings',
    '',
    '| key | environment | flag | default | allowed | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...presetsSection(),
  ].join('\n');
}

function presetsSection(): string[] {
  const lines = [
    '## Presets',
    '',
    'A preset is a named set of values between the defaults and the config file, so anything',
    'you set yourself still wins. Without a preset (`none`, the default) every value is the',
    'default above. A preset never sets `host` or `adminToken`: exposing a node is always your',
    'own, explicit choice. Settings a preset does not list keep their defaults.',
    '',
  ];
  for (const name of PRESET_NAMES) {
    const preset = PRESETS[name];
    lines.push(
      `### \`${name}\``,
      '',
      preset.summary,
      '',
      '| key | value | default | why |',
      '| --- | --- | --- | --- |',
    );
    for (const [key, entry] of Object.entries(preset.values) as [
      SettingKey,
      { value: ResolvedConfig[SettingKey]; why: string },
    ][]) {
      const value = formatSettingValue(key, entry.value);
      const def = formatSettingValue(key, settingOf(key).default);
      lines.push(`| \`${key}\` | \`${value}\` | \`${def}\` | ${entry.why} |`);
    }
    lines.push('');
  }
  return lines;
}
