/**
 * Static client tokens (`tokens`, `tokensFile`): `user:token` pairs, parsed once at start-up
 * and matched in constant time.
 *
 * Format (docs/security.md): an entry is `user:token`, split at the first `:`. The user is
 * 1–256 characters without whitespace, control characters, `:` or `,`; the token is 16–4096
 * characters without whitespace, control characters or `,` (it may contain `:`). `tokens`
 * separates entries with commas; `tokensFile` holds one entry per line, and skips blank lines
 * and lines whose first non-blank character is `#`. One user may have several tokens (to
 * rotate them); one token may not belong to two users.
 *
 * A malformed entry is reported by setting and entry or line number, never by its text: the
 * text may be a token (a line without `:` is usually one).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_USER_LENGTH } from './principal.js';

/** Fewest characters in a static token: a bearer secret must not be guessable. */
export const MIN_TOKEN_LENGTH = 16;
/** Most characters in a static token. */
export const MAX_TOKEN_LENGTH = 4096;

export interface TokenEntry {
  readonly user: string;
  readonly token: string;
  /** Where it was written, for problems: `tokens entry 2`, `tokensFile /etc/t line 4`. */
  readonly where: string;
}

// No whitespace, control characters, `:` or `,` in a user; no whitespace, control characters
// or `,` in a token (the list separator; lines of the file follow the same rules, so an entry
// can move between the two).
const USER = /^[^\s\p{Cc}:,]+$/u;
const TOKEN = /^[^\s\p{Cc},]+$/u;

/** Why an entry is malformed (never quoting it), or undefined when it is fine. */
function entryProblem(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon === -1) return 'expected user:token (no ":" found)';
  const user = text.slice(0, colon);
  const token = text.slice(colon + 1);
  if (user === '') return 'the user before ":" is empty';
  if (user.length > MAX_USER_LENGTH) return `the user is longer than ${MAX_USER_LENGTH} characters`;
  if (!USER.test(user)) return 'the user contains whitespace, a control character or ","';
  if (token.length < MIN_TOKEN_LENGTH)
    return `the token is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (token.length > MAX_TOKEN_LENGTH)
    return `the token is longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!TOKEN.test(token)) return 'the token contains whitespace, a control character or ","';
  return undefined;
}

export interface ParsedTokens {
  readonly entries: TokenEntry[];
  /** One line per malformed entry: `tokens entry 2: the token is shorter than 16 characters`. */
  readonly problems: string[];
}

function parseEntries(parts: readonly { text: string; where: string }[]): ParsedTokens {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  for (const { text, where } of parts) {
    const problem = entryProblem(text);
    if (problem !== undefined) {
      problems.push(`${where}: ${problem}`);
      continue;
    }
    const colon = text.indexOf(':');
    entries.push({ user: text.slice(0, colon), token: text.slice(colon + 1), where });
  }
  return { entries, problems };
}

/** The `tokens` setting: comma-separated entries (spaces around each are ignored). */
export function parseTokenList(value: string, label = 'tokens'): ParsedTokens {
  if (value.trim() === '') return { entries: [], problems: [] };
  return parseEntries(
    value.split(',').map((text, i) => ({ text: text.trim(), where: `${label} entry ${i + 1}` })),
  );
}

/** A tokens file's text: one entry per line; blank lines and `#` comments are skipped. */
export function parseTokenFile(text: string, label: string): ParsedTokens {
  const parts: { text: string; where: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    parts.push({ text: trimmed, where: `${label} line ${i + 1}` });
  });
  return parseEntries(parts);
}

/** Problems of a complete set of entries: the same token given twice (for any users). */
export function duplicateProblems(
  entries: readonly TokenEntry[],
): { readonly entry: TokenEntry; readonly message: string }[] {
  const seen = new Map<string, string>();
  const problems: { entry: TokenEntry; message: string }[] = [];
  for (const entry of entries) {
    const first = seen.get(entry.token);
    if (first === undefined) seen.set(entry.token, entry.where);
    else
      problems.push({
        entry,
        message: `${entry.where}: the same token as ${first} (a token names one user)`,
      });
  }
  return problems;
}

/**
 * Matches a presented token against every entry in constant time: both sides are reduced to
 * an HMAC-SHA-256 under a key of this process (so lengths and contents never meet in a
 * comparison), and every entry is compared, whether one matched already or not. The time
 * taken depends only on the number of entries, never on which one is close.
 */
export class StaticTokens {
  private readonly key = randomBytes(32);
  private readonly digests: { readonly user: string; readonly digest: Buffer }[];

  constructor(entries: readonly TokenEntry[]) {
    this.digests = entries.map((e) => ({ user: e.user, digest: this.digest(e.token) }));
  }

  get size(): number {
    return this.digests.length;
  }

  /** The user whose token this is, or undefined. */
  match(token: string): string | undefined {
    const presented = this.digest(token);
    let user: string | undefined;
    for (const entry of this.digests) {
      const equal = timingSafeEqual(presented, entry.digest);
      if (equal && user === undefined) user = entry.user;
    }
    return user;
  }

  private digest(token: string): Buffer {
    return createHmac('sha256', this.key).update(token, 'utf8').digest();
  }
}
