/**
 * Turning one raw value (an environment string, a flag, a JSON value, a typed option) into
 * the typed value of its setting, and saying in words what the setting allows.
 */
import { z } from 'zod';
import { SETTINGS, SETTING_KEYS, settingOf, type Setting, type SettingKey } from './schema.js';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';
import { parseOriginList } from '../origins.js';
import { isHttpUrlSetting, isStoreSetting, redactUrlCredentials } from './url.js';
import { LOG_SAMPLE_ALLOWED, parseLogSample } from './log-sample.js';

const TRUTHY = ['true', '1', 'yes'];
const FALSY = ['false', '0', 'no'];

// Every source can hand us a string (environment, flags) and most can hand us the native type
// (JSON, options), so each schema accepts both and normalises to the resolved type.
const trimmed = z.string().trim();

function converted(convert: (input: number | string) => number | undefined) {
  return z.union([z.number(), trimmed]).transform((input, ctx) => {
    const value = convert(input);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'unparseable' });
      return z.NEVER;
    }
    return value;
  });
}

const decimal = (input: number | string): number | undefined =>
  typeof input === 'number' ? input : /^-?\d+(\.\d+)?$/.test(input) ? Number(input) : undefined;

/** The zod schema for one setting: raw value in, resolved value out. */
export function valueSchema(setting: Setting): z.ZodType {
  switch (setting.kind) {
    case 'duration':
      return converted(parseDuration).pipe(z.int().min(setting.min).max(setting.max));
    case 'size':
      return converted(parseSize).pipe(z.int().min(setting.min).max(setting.max));
    case 'integer':
      return converted(decimal).pipe(z.int().min(setting.min).max(setting.max));
    case 'number':
      return converted(decimal).pipe(z.number().min(setting.min).max(setting.max));
    case 'boolean':
      return z.union([
        z.boolean(),
        z.literal([0, 1]).transform((n) => n === 1),
        trimmed.pipe(z.stringbool({ truthy: TRUTHY, falsy: FALSY })),
      ]);
    case 'enum':
      return trimmed.toLowerCase().pipe(z.enum(setting.values as [string, ...string[]]));
    case 'string':
      if (setting.nonEmpty === true) return z.string().regex(/^\S+$/);
      if (setting.httpUrl === true) return z.string().refine(isHttpUrlSetting);
      if (setting.storeUrl === true) return z.string().trim().refine(isStoreSetting);
      if (setting.originList === true)
        return z.string().refine((v) => parseOriginList(v) !== undefined);
      if (setting.logSample === true)
        return z
          .string()
          .trim()
          .refine((v) => parseLogSample(v).ok);
      // HTTP trims header values, so a token with outer spaces could never match a request.
      if (setting.secret === true) return z.string().regex(/^(?:\S(?:.*\S)?)?$/s);
      return z.string();
  }
}

// Built once: resolve() runs at start-up, but tests and the docs generator call it often.
const SCHEMAS = new Map<SettingKey, z.ZodType>(
  SETTING_KEYS.map((key) => [key, valueSchema(SETTINGS[key])]),
);

export type ParseResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

/** Validates and converts one raw value for `key`; never throws. */
export function parseSettingValue(key: SettingKey, raw: unknown): ParseResult {
  const result = SCHEMAS.get(key)!.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false };
}

/** What a setting accepts, in words, for error messages and the docs. */
export function describeAllowed(keyOrSetting: SettingKey | Setting): string {
  const setting = typeof keyOrSetting === 'string' ? settingOf(keyOrSetting) : keyOrSetting;
  switch (setting.kind) {
    case 'duration':
      return `a duration such as 250ms, 30s, 5m or milliseconds, from ${formatDuration(setting.min)} to ${formatDuration(setting.max)}`;
    case 'size':
      return `a size such as 64kb, 1mb or bytes, from ${formatSize(setting.min)} to ${formatSize(setting.max)}`;
    case 'integer':
      return `an integer from ${setting.min} to ${setting.max}`;
    case 'number':
      return `a number from ${setting.min} to ${setting.max}`;
    case 'boolean':
      return 'true or false (also yes/no, 1/0)';
    case 'enum':
      return `one of ${setting.values.join(', ')}`;
    case 'string':
      if (setting.nonEmpty === true) return 'a non-empty string without spaces';
      if (setting.httpUrl === true) return HTTP_URL_ALLOWED;
      if (setting.storeUrl === true) return STORE_ALLOWED;
      if (setting.originList === true) return ORIGINS_ALLOWED;
      if (setting.logSample === true) return LOG_SAMPLE_ALLOWED;
      return setting.secret === true ? 'a string without leading or trailing spaces' : 'a string';
  }
}

const STORE_ALLOWED = 'memory, or a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0';
const ORIGINS_ALLOWED =
  'empty, or comma-separated origins such as https://app.example.com,http://localhost:3000';
const HTTP_URL_ALLOWED = 'empty, or an http:// or https:// URL without user:password';

/** Why a refused value is wrong, when the allowed text alone does not say it; or ''. */
export function describeRefusal(key: SettingKey, raw: unknown): string {
  const setting = settingOf(key);
  if (setting.kind === 'string' && setting.logSample === true && typeof raw === 'string') {
    const parsed = parseLogSample(raw);
    return parsed.ok ? '' : `; ${parsed.problem}`;
  }
  if (setting.kind !== 'string' || setting.httpUrl !== true || typeof raw !== 'string') return '';
  // Refused because Node's fetch throws on credentials in a URL, and its error quotes them.
  return redactUrlCredentials(raw) === raw
    ? ''
    : "; Node's fetch refuses credentials in a URL: use a credential-free URL";
}

/**
 * A value as written by the user, quoted and shortened for an error message; secrets hidden,
 * and the credentials part of a URL setting too.
 */
export function describeRaw(key: SettingKey, raw: unknown): string {
  const setting = settingOf(key);
  if (setting.secret === true) return '<redacted>';
  const shown =
    setting.kind === 'string' &&
    (setting.httpUrl === true || setting.storeUrl === true) &&
    typeof raw === 'string'
      ? redactUrlCredentials(raw)
      : raw;
  const text =
    typeof shown === 'string' || (typeof shown === 'object' && shown !== null)
      ? JSON.stringify(shown)
      : String(shown);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
