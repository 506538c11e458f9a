import { RwsError, isRwsError } from '../errors.js';

/** One thing wrong with the configuration. `key` is absent for unknown flags and keys. */
export interface ConfigProblem {
  readonly message: string;
  readonly key?: string;
  /** Where the value came from: `environment RWS_PORT`, `flag --port`, `file ./x.json` … */
  readonly source: string;
  /** The value as written, quoted; `<redacted>` for secrets. */
  readonly value?: string;
  readonly allowed?: string;
}

/**
 * Bad configuration, with every problem found (not only the first), so an operator fixes a
 * deployment in one round. The CLI exits with code 2 on it.
 */
export class ConfigError extends RwsError {
  override readonly code = 'config_invalid';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('config_invalid', summarize(problems), { details: { errors: problems } });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return isRwsError(value) && value.code === 'config_invalid';
}

function summarize(problems: readonly ConfigProblem[]): string {
  if (problems.length === 1) return `invalid configuration: ${problems[0]!.message}`;
  const lines = problems.map((p) => `  - ${p.message}`);
  return [`invalid configuration (${problems.length} problems):`, ...lines].join('\n');
}
