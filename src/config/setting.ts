/**
 * What one row of the settings table is. The kinds decide how raw values are parsed
 * (values.ts), shown (format.ts) and typed (schema.ts).
 */
interface Common {
  /** Environment variable, `RWS_` + SCREAMING_SNAKE of the key. */
  readonly env: string;
  /** CLI flag, `--` + kebab-case of the key; booleans also accept `--no-<name>`. */
  readonly flag: string;
  /** One line for the generated docs. */
  readonly doc: string;
  /** What the number counts, for the docs (`ms`, `bytes`, `messages` …). */
  readonly unit?: string;
  /** Never printed in clear: not by `config`, not in error messages. */
  readonly secret?: boolean;
}

interface Bounded extends Common {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface DurationSetting extends Bounded {
  readonly kind: 'duration';
}
export interface SizeSetting extends Bounded {
  readonly kind: 'size';
}
export interface IntegerSetting extends Bounded {
  readonly kind: 'integer';
}
export interface NumberSetting extends Bounded {
  readonly kind: 'number';
}
export interface BooleanSetting extends Common {
  readonly kind: 'boolean';
  readonly default: boolean;
}
export interface StringSetting extends Common {
  readonly kind: 'string';
  readonly default: string;
  /** Reject empty values and values with whitespace (host names, addresses). */
  readonly nonEmpty?: boolean;
  /**
   * Empty, or an absolute `http://` / `https://` URL without `user:password@` (Node's fetch
   * refuses credentials in a URL, and its error would quote them). Partly secret: whatever
   * sits before an `@` is shown as `<redacted>` by `config` and in error messages.
   */
  readonly httpUrl?: boolean;
  /**
   * `memory`, or a `redis://` / `rediss://` URL with a host (a password in it is allowed:
   * Redis URLs carry one; `config` and error messages show it as `<redacted>`).
   */
  readonly storeUrl?: boolean;
  /** Empty, or comma-separated http(s) origins (`scheme://host[:port]`, no path). */
  readonly originList?: boolean;
  /** Empty, or log sampling entries (`kind:N`, a bare `N`; config/log-sample.ts). */
  readonly logSample?: boolean;
}
export interface EnumSetting extends Common {
  readonly kind: 'enum';
  readonly default: string;
  readonly values: readonly string[];
}

export type Setting =
  | DurationSetting
  | SizeSetting
  | IntegerSetting
  | NumberSetting
  | BooleanSetting
  | StringSetting
  | EnumSetting;

export type SettingKind = Setting['kind'];
