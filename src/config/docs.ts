/**
 * docs/configuration.md, generated from the schema (the single source of truth), so the
 * documentation cannot describe options the code ignores. `npm run docs:config` writes it;
 * a test fails when the committed file drifts from the schema.
 */
import { SETTING_KEYS, settingOf } from './schema.js';
import { formatSettingValue } from './format.js';
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
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every setting can come from four places. Later ones win: the built-in default, a JSON',
    'config file (`--config` or `RWS_CONFIG`, an object with the keys below), the environment',
    '(`RWS_*`) and command-line flags. The library API (`createServer(options)`) takes the same',
    'keys as options and does not read the environment.',
    '',
    'Durations accept `250ms`, `30s`, `5m`, `1h` or a number of milliseconds. Sizes accept',
    '`64kb`, `1mb`, `1gb` (1024-based) or a number of bytes. Booleans accept `true`/`false`,',
    '`yes`/`no` and `1`/`0`.',
    '',
    'A bad value stops start-up with exit code 2 and a message naming the key, the value, its',
    'source and what is allowed; every problem is reported at once. Binding a host other than',
    'loopback requires `RWS_ADMIN_TOKEN`. `resilient-ws config` prints every resolved value and',
    'where it came from (the admin token only as `<set>` or `<unset>`).',
    '',
    '| key | environment | flag | default | allowed | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
