/**
 * Docs that cannot drift: every TypeScript block of the hand-written docs type-checks against
 * the package's entry points (`resilient-ws`, `resilient-ws/client`, `resilient-ws/mcp`,
 * `resilient-ws/testing`), each block a module of its own (test/unit/doc-snippets.ts says
 * how). A failure names the Markdown file and line. A block that is a fragment on purpose
 * opts out with ```` ```ts nocheck: reason ````; every opt-out is listed in `OPT_OUTS` below,
 * so adding one is a visible change.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSnippets, docFiles, entryPoints, snippetsOf, type Snippet } from './doc-snippets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = join(ROOT, 'test/unit/fixtures/doc-snippets.md');

/** The blocks of the docs that opt out of the check: `file: reason`. None so far. */
const OPT_OUTS: string[] = [];

const where = (s: Snippet) => `${s.file}:${s.line}`;

describe('TypeScript blocks in the docs', () => {
  const snippets = snippetsOf(ROOT, docFiles(ROOT));

  it('are found where the docs have them', () => {
    // A guard on the extractor: finding nothing would make the check below pass vacuously.
    const files = new Set(snippets.map((s) => s.file));
    expect([...files].sort()).toEqual(
      expect.arrayContaining(['README.md', 'client/README.md', 'docs/security.md', 'docs/mcp.md']),
    );
    expect(docFiles(ROOT).map((f) => f.slice(ROOT.length + 1))).toEqual(
      expect.arrayContaining(['SECURITY.md', 'bench/README.md', 'docs/protocol.md']),
    );
  });

  it('opt out only where listed', () => {
    const optedOut = snippets.filter((s) => s.nocheck !== undefined);
    expect(optedOut.map((s) => `${s.file}: ${s.nocheck}`)).toEqual(OPT_OUTS);
  });

  it('type-check against the public entry points', () => {
    const failures = checkSnippets(ROOT, snippets);
    expect(failures.flatMap((f) => f.messages)).toEqual([]);
  }, 120_000);
});

describe('the snippet checker', () => {
  it("resolves the package's entry points to the sources its exports are built from", () => {
    expect(entryPoints(ROOT)).toEqual({
      'resilient-ws': join(ROOT, 'src/index.ts'),
      'resilient-ws/client': join(ROOT, 'client/index.ts'),
      // The single-file browser build has the client's types.
      'resilient-ws/client/browser': join(ROOT, 'client/index.ts'),
      'resilient-ws/mcp': join(ROOT, 'mcp/index.ts'),
      'resilient-ws/testing': join(ROOT, 'src/testing.ts'),
    });
  });

  it('reports a broken block by file and line, skips opt-outs, ignores other languages', () => {
    const file = 'test/unit/fixtures/doc-snippets.md';
    const snippets = snippetsOf(ROOT, [FIXTURE]);
    expect(snippets.map((s) => [where(s), s.lang, s.nocheck])).toEqual([
      [`${file}:7`, 'ts', undefined],
      [`${file}:17`, 'ts', undefined],
      [`${file}:27`, 'ts', 'an excerpt, not a module'],
      [`${file}:39`, 'typescript', undefined],
    ]);
    // The indented block lost its indentation (it compiles as a module).
    expect(
      snippets[3]!.code.startsWith("import { ResilientClient } from 'resilient-ws/client';"),
    ).toBe(true);
    const failures = checkSnippets(ROOT, snippets);
    expect(failures.map((f) => where(f.snippet))).toEqual([`${file}:17`]);
    // The line of the error in the Markdown file, not in the block.
    expect(failures[0]!.messages).toEqual([
      expect.stringMatching(
        /^test\/unit\/fixtures\/doc-snippets\.md:22: TS2339 Property 'seq' does not exist on type 'SendResult'\./,
      ),
    ]);
  }, 120_000);
});
