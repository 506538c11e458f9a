/** Shared by the src/auth tests: settings through the real schema, files, refusal reasons. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from '../../config/index.js';
import { isRwsError } from '../../errors.js';
import type { AuthRequest } from '../principal.js';

/** The resolved configuration for these options (defaults otherwise; no environment). */
export function settings(overrides: ConfigOverrides): ResolvedConfig {
  return resolveConfig({ env: {}, argv: [], overrides }).config;
}

/** Writes `text` to a new file in a fresh temporary directory; answers its path. */
export function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rws-auth-')), name);
  writeFileSync(path, text);
  return path;
}

/** The `reason` of the AuthError `promise` rejects with (fails if it resolves). */
export async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isRwsError(error) && typeof (error as { reason?: unknown }).reason === 'string')
      return (error as unknown as { reason: string }).reason;
    throw error;
  }
  throw new Error('expected a refusal, but it was accepted');
}

/** The message and problems of the error `fn` throws, as one string (fails if it returns). */
export function thrownText(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return `${(error as Error).message}\n${JSON.stringify((error as { problems?: unknown }).problems)}`;
  }
  throw new Error('expected an error');
}

export const REQUEST: AuthRequest = { ip: '127.0.0.1', headers: {}, url: '/ws' };
