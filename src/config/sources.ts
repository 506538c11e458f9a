/**
 * Readers for each configuration source. Each turns its input into a Layer of raw,
 * not-yet-validated values, each labelled with where it came from, and records what it
 * cannot make sense of (unknown flags, unknown file keys) as problems instead of throwing.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConfigProblem } from './config-error.js';
import {
  SETTINGS,
  SETTING_KEYS,
  isSettingKey,
  settingOf,
  type ConfigSource,
  type SettingKey,
} from './schema.js';
import { describeAllowed } from './values.js';

export interface RawValue {
  readonly raw: unknown;
  /** `environment RWS_PORT`, `flag --port`, `file ./x.json`, `option port`. */
  readonly label: string;
}

export interface Layer {
  readonly source: ConfigSource;
  readonly values: ReadonlyMap<SettingKey, RawValue>;
}

type Problems = ConfigProblem[];

/**
 * `RWS_*` variables. An empty variable counts as unset, because `RWS_PORT=${PORT}` with PORT
 * unset is how compose files and CI templates say "not configured". Unknown `RWS_*` names
 * are ignored: the environment is shared with other tools and later versions.
 */
export function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const values = new Map<SettingKey, RawValue>();
  for (const key of SETTING_KEYS) {
    const name = SETTINGS[key].env;
    const raw = env[name];
    if (raw !== undefined && raw !== '') values.set(key, { raw, label: `environment ${name}` });
  }
  return { source: 'env', values };
}

const FLAGS = new Map<string, SettingKey>(SETTING_KEYS.map((key) => [SETTINGS[key].flag, key]));

/**
 * `--port 9000`, `--port=9000`, `--demo`, `--no-demo`, `--demo=false`. A repeated flag: the last
 * one wins. Parsing stops at `--`: what follows belongs to the caller (e.g. the command
 * that `mcp-serve` runs).
 */
export function flagLayer(argv: readonly string[], problems: Problems): Layer {
  const values = new Map<SettingKey, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-')) {
      problems.push({
        message: `unexpected argument ${JSON.stringify(arg)}: settings are given as --name value or --name=value`,
        source: 'command line',
        value: JSON.stringify(arg),
      });
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const label = `flag ${name}`;
    const nextIsValue = i + 1 < argv.length && !argv[i + 1]!.startsWith('--');

    const key = FLAGS.get(name);
    const negated = key === undefined ? negatedBoolean(name) : undefined;
    if (negated !== undefined) {
      if (inline !== undefined) {
        problems.push({ message: `${label} takes no value`, key: negated, source: label });
      } else {
        values.set(negated, { raw: false, label });
      }
      continue;
    }
    if (key === undefined) {
      const hint = suggest(name, [...FLAGS.keys()]);
      problems.push({
        message: `unknown flag ${name}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
        source: label,
      });
      // Swallow its probable value so that one typo is reported once, not twice.
      if (inline === undefined && nextIsValue) i++;
      continue;
    }
    if (SETTINGS[key].kind === 'boolean') {
      values.set(key, { raw: inline ?? true, label });
    } else if (inline !== undefined) {
      values.set(key, { raw: inline, label });
    } else if (nextIsValue || (settingOf(key).secret === true && i + 1 < argv.length)) {
      // A secret is taken as given even when it starts with "--": reading it as a flag would
      // print it in an "unknown flag" error.
      values.set(key, { raw: argv[++i], label });
    } else {
      const allowed = describeAllowed(key);
      problems.push({
        message: `${label} needs a value: expected ${allowed}`,
        key,
        source: label,
        allowed,
      });
    }
  }
  return { source: 'flag', values };
}

function negatedBoolean(name: string): SettingKey | undefined {
  if (!name.startsWith('--no-')) return undefined;
  const key = FLAGS.get(`--${name.slice('--no-'.length)}`);
  return key !== undefined && SETTINGS[key].kind === 'boolean' ? key : undefined;
}

const jsonObject = z.record(z.string(), z.unknown());

/**
 * A JSON object keyed by setting names. Unknown keys are errors, unlike in the environment:
 * a file is written for this program, so an unknown key is a typo that would otherwise be
 * silently ignored. `configFile` itself cannot be set from inside a file.
 */
export function fileLayer(path: string, via: string, problems: Problems): Layer {
  const values = new Map<SettingKey, RawValue>();
  const label = `file ${path}`;
  const layer: Layer = { source: 'file', values };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    problems.push({
      message: `cannot read config file ${path} (from ${via}): ${reason}`,
      key: 'configFile',
      source: via,
      value: JSON.stringify(path),
    });
    return layer;
  }
  // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse refuses it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Only the position: the parser's own message quotes the text around the fault, which
    // may be the admin token.
    problems.push({
      message: `config file ${path} is not valid JSON (${jsonErrorPosition(text, error)})`,
      source: label,
    });
    return layer;
  }
  const object = jsonObject.safeParse(parsed);
  if (!object.success || typeof parsed !== 'object' || parsed === null) {
    problems.push({
      message: `config file ${path} must hold a JSON object whose keys are setting names`,
      source: label,
    });
    return layer;
  }
  // The parsed object itself, not zod's copy: a "__proto__" key must be reported, not lost.
  for (const [name, raw] of Object.entries(parsed)) {
    if (isSettingKey(name) && name !== 'configFile') {
      values.set(name, { raw, label });
    } else {
      problems.push({ message: unknownName('key', name, label), source: label });
    }
  }
  return layer;
}

/**
 * Programmatic options. They are typed, but JavaScript callers and spread option objects can
 * still carry typos, so unknown names are errors here too.
 */
export function overrideLayer(
  overrides: Readonly<Record<string, unknown>>,
  file: string | undefined,
  problems: Problems,
): Layer {
  const values = new Map<SettingKey, RawValue>();
  for (const [name, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    if (isSettingKey(name) && name !== 'configFile') {
      values.set(name, { raw, label: `option ${name}` });
    } else {
      const hint = name === 'configFile' ? ' (pass the config file path as `file`)' : '';
      problems.push({ message: unknownName('option', name, '') + hint, source: `option ${name}` });
    }
  }
  if (file !== undefined) values.set('configFile', { raw: file, label: 'option file' });
  return { source: 'override', values };
}

/** "line L, column C" of a JSON.parse failure, from the position in its message. */
function jsonErrorPosition(text: string, error: unknown): string {
  const m = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (m === null) return 'unexpected end or invalid token';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function unknownName(what: string, name: string, where: string): string {
  const hint = suggest(
    name,
    SETTING_KEYS.filter((key) => key !== 'configFile'),
  );
  return `unknown ${what} ${JSON.stringify(name)}${where === '' ? '' : ` in ${where}`}${
    hint === undefined ? '' : ` (did you mean ${hint}?)`
  }`;
}

/** The candidate within two edits of `name`, if any: enough to catch a typo, no more. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
