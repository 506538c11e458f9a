import { describe, expect, it } from 'vitest';
import {
  MIN_TOKEN_LENGTH,
  StaticTokens,
  duplicateProblems,
  parseTokenFile,
  parseTokenList,
} from './static-tokens.js';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob:token:with:colons-01';

describe('parseTokenList (the tokens setting)', () => {
  it('reads comma-separated user:token pairs, splitting at the first colon and trimming spaces', () => {
    const { entries, problems } = parseTokenList(` alice:${ALICE} ,bob:${BOB}`);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.user, e.token, e.where])).toEqual([
      ['alice', ALICE, 'tokens entry 1'],
      ['bob', BOB, 'tokens entry 2'],
    ]);
  });

  it('is empty for an empty value', () => {
    expect(parseTokenList('')).toEqual({ entries: [], problems: [] });
  });

  it('names each malformed entry by number and never quotes it', () => {
    const secret = 'lonely-secret-0123456789';
    const { entries, problems } = parseTokenList(
      [secret, `:${ALICE}`, 'carol:Xq9', 'dave:has space inside-0123', `alice:${ALICE}`, ''].join(
        ',',
      ),
    );
    expect(entries.map((e) => e.user)).toEqual(['alice']);
    expect(problems).toEqual([
      'tokens entry 1: expected user:token (no ":" found)',
      'tokens entry 2: the user before ":" is empty',
      `tokens entry 3: the token is shorter than ${MIN_TOKEN_LENGTH} characters`,
      'tokens entry 4: the token contains whitespace, a control character or ","',
      'tokens entry 6: expected user:token (no ":" found)',
    ]);
    expect(problems.join('\n')).not.toContain('lonely');
    expect(problems.join('\n')).not.toContain('Xq9');
  });

  it('refuses a user that is too long or has control characters', () => {
    const { problems } = parseTokenList(`${'u'.repeat(257)}:${ALICE},a\u0007b:${ALICE}`);
    expect(problems).toEqual([
      'tokens entry 1: the user is longer than 256 characters',
      'tokens entry 2: the user contains whitespace, a control character or ","',
    ]);
  });
});

describe('parseTokenFile (the tokensFile setting)', () => {
  it('reads one entry per line, skipping blank lines and # comments, CRLF or LF', () => {
    const text = `# clients\r\n\r\nalice:${ALICE}\r\n   # indented comment\n  bob:${BOB}  \n`;
    const { entries, problems } = parseTokenFile(text, 'tokensFile "/etc/t"');
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.user, e.token, e.where])).toEqual([
      ['alice', ALICE, 'tokensFile "/etc/t" line 3'],
      ['bob', BOB, 'tokensFile "/etc/t" line 5'],
    ]);
  });

  it('names the line of a malformed entry', () => {
    const { problems } = parseTokenFile(`alice:${ALICE}\njust-a-token-0123456789\n`, 'f');
    expect(problems).toEqual(['f line 2: expected user:token (no ":" found)']);
  });
});

describe('duplicateProblems', () => {
  it('refuses one token for two users, and allows two tokens for one user (rotation)', () => {
    const { entries } = parseTokenList(`alice:${ALICE},alice:${ALICE}-new,bob:${ALICE}`);
    expect(duplicateProblems(entries).map((p) => p.message)).toEqual([
      'tokens entry 3: the same token as tokens entry 1 (a token names one user)',
    ]);
  });
});

describe('StaticTokens.match', () => {
  const tokens = new StaticTokens(
    parseTokenList(`alice:${ALICE},bob:${BOB},alice:${ALICE}-rotated`).entries,
  );

  it('answers the user of a known token', () => {
    expect(tokens.size).toBe(3);
    expect(tokens.match(ALICE)).toBe('alice');
    expect(tokens.match(`${ALICE}-rotated`)).toBe('alice');
    expect(tokens.match(BOB)).toBe('bob');
  });

  it('answers undefined for anything else: a prefix, an extension, one changed character, the user', () => {
    for (const token of [
      ALICE.slice(0, -1),
      `${ALICE}x`,
      ALICE.replace(/.$/, 'X'),
      'alice',
      `alice:${ALICE}`,
      '',
      ALICE.toUpperCase(),
    ])
      expect(tokens.match(token), token).toBeUndefined();
  });

  it('matches nothing when empty', () => {
    expect(new StaticTokens([]).match(ALICE)).toBeUndefined();
  });
});
