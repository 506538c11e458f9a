/**
 * The text of `resilient-ws --help`. The settings part is generated from the schema (like
 * docs/configuration.md), so a setting cannot exist without its flag, environment variable,
 * default and doc line showing up here.
 */
import { formatSettingValue } from '../config/format.js';
import { PRESET_NAMES } from '../config/presets.js';
import { SETTING_KEYS, settingOf, type SettingKey } from '../config/schema.js';

/** Help lines never exceed this many columns. */
export const HELP_WIDTH = 100;

const INDENT = '  ';
const DOC_INDENT = '      ';

/** The short usage: what a bare or mistyped command prints. */
export function usage(): string {
  return `Usage: resilient-ws <command> [--flags]

Commands:
  serve                run the gateway: WebSocket endpoint (/ws), HTTP API, health
  config               print every resolved setting and its source
  mcp-serve -- <cmd>   run a stdio MCP server per session behind resilient-ws (mcp-serve --help)
  mcp-bridge <ws-url>  a stdio MCP server relaying to a resilient-ws server (mcp-bridge --help)
  help                 show this help with every setting (also --help, serve --help)
  version              print the version`;
}

/** The full help: usage, how settings are given, every setting, shutdown and exit codes. */
export function help(): string {
  return [
    usage(),
    '',
    wrap(
      'Every setting is a flag (--port 9000 or --port=9000), an environment variable ' +
        '(RWS_PORT=9000) or a key of the JSON file given by --config (docs/configuration.md). ' +
        'Later sources win: default, preset, config file, environment, flag. ' +
        `--preset ${PRESET_NAMES.join('|')} picks a named set of ` +
        'values that all of the others override. Durations take 250ms, 30s, 5m, 1h; sizes ' +
        '64kb, 1mb, 1gb; booleans true/false (a boolean flag alone means true, --no-<flag> ' +
        'false). `resilient-ws config` prints what a node would run with.',
      '',
    ),
    '',
    'Settings:',
    ...SETTING_KEYS.flatMap(settingLines),
    '',
    wrap(
      'serve stops on SIGTERM or SIGINT: it refuses new clients, closes the others with 1001 ' +
        'so they resume elsewhere, waits up to --shutdown-timeout for in-flight work and ' +
        'exits 0. A second signal exits at once (130 for SIGINT, 143 for SIGTERM).',
      '',
    ),
    '',
    'Exit codes (docs/operations.md):',
    '  0    stopped by SIGTERM or SIGINT',
    '  1    unknown command; any other start-up or shutdown failure',
    '  2    bad configuration (the message names the setting, value, source and what is allowed)',
    '  3    cannot listen: port in use, address not on this machine, or not permitted',
    '  130  a second SIGINT during shutdown; 143 a second SIGTERM',
  ].join('\n');
}

/** `--port <integer>  RWS_PORT  default 8080`, then the doc line wrapped below it. */
function settingLines(key: SettingKey): string[] {
  const s = settingOf(key);
  const flag = flagText(key);
  const def = `default ${formatSettingValue(key, s.default)}`;
  const head = `${INDENT}${flag.padEnd(FLAG_COLUMN)}  ${s.env.padEnd(ENV_COLUMN)}  ${def}`;
  const allowed = s.kind === 'enum' ? ` One of: ${s.values.join(', ')}.` : '';
  // A default too long for the line goes below it, with the doc.
  if (head.length <= HELP_WIDTH) return [head, wrap(s.doc + allowed, DOC_INDENT)];
  const shortHead = `${INDENT}${flag.padEnd(FLAG_COLUMN)}  ${s.env}`;
  return [
    shortHead,
    wrap(`${s.doc}${allowed} Default: ${def.slice('default '.length)}.`, DOC_INDENT),
  ];
}

/** `--port <integer>`; a boolean shows both of its forms, `--demo, --no-demo`. */
function flagText(key: SettingKey): string {
  const s = settingOf(key);
  if (s.kind === 'boolean') return `${s.flag}, --no-${s.flag.slice(2)}`;
  return `${s.flag} <${s.kind === 'enum' ? 'choice' : s.kind}>`;
}

const FLAG_COLUMN = Math.max(...SETTING_KEYS.map((k) => flagText(k).length));
const ENV_COLUMN = Math.max(...SETTING_KEYS.map((k) => settingOf(k).env.length));

/** Greedy word wrap to HELP_WIDTH, every line starting with `indent`. */
export function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n');
}
