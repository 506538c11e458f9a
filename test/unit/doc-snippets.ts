/**
 * Docs that cannot drift: the TypeScript code blocks of the Markdown docs, type-checked as
 * modules against the package's public entry points (test/unit/doc-snippets.test.ts).
 *
 * A block is a fence whose info string starts with `ts` or `typescript`. Each block is one
 * module on its own: it imports what it uses (`resilient-ws`, `resilient-ws/client`,
 * `resilient-ws/testing`, or a dependency such as `jose`) and declares what belongs to the
 * reader's app (`declare function render(data: unknown): void;`). Top-level await is allowed.
 *
 * Opt-out, for a block that is a fragment on purpose: the word `nocheck` in the info string
 * followed by the reason, e.g. ```` ```ts nocheck: a type excerpt, not a module ````. Opt-outs
 * are listed by the test, so each one is a visible decision.
 *
 * The entry points resolve to the sources that package.json's `exports` are built from
 * (`./dist/src/index.d.ts` → `src/index.ts`), so the check needs no build and follows the
 * exports map if it changes.
 */
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface Snippet {
  /** The Markdown file, relative to the root the caller passed. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** Set when the block opted out: the text after `nocheck`. */
  nocheck: string | undefined;
  code: string;
}

export interface SnippetFailure {
  snippet: Snippet;
  /** `file:line: TS2339 message`, the line being the Markdown line of the error. */
  messages: string[];
}

// Any indentation: a fence inside a (nested) list item is indented by the item's.
const FENCE = /^( *)(`{3,}|~{3,})\s*([A-Za-z]*)(.*)$/;
const TS_LANGS = new Set(['ts', 'typescript']);

/** The fenced code blocks of one Markdown text whose language is TypeScript. */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = '', rest = ''] = open;
    const close = new RegExp(`^ *${fence[0]}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (close.test(l)) break;
      // A fence indented by n spaces strips up to n spaces from its lines (CommonMark).
      body.push(l.replace(new RegExp(`^ {0,${indent.length}}`), ''));
    }
    if (TS_LANGS.has(lang.toLowerCase())) {
      const m = /^\s*nocheck\b[\s:—-]*(.*)$/.exec(rest);
      out.push({
        file,
        line: i + 1,
        lang,
        nocheck: m ? m[1]!.trim() || '(no reason given)' : undefined,
        code: body.join('\n'),
      });
    }
    i = j;
  }
  return out;
}

/**
 * The hand-written Markdown to check: the READMEs (root, SDK, benchmarks), SECURITY.md and
 * everything under `docs/`. Not CHANGELOG.md (history) nor bench/results/ (generated).
 */
export function docFiles(root: string): string[] {
  const files = ['README.md', 'client/README.md', 'bench/README.md', 'SECURITY.md'].map((f) =>
    join(root, f),
  );
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) files.push(p);
    }
  };
  walk(join(root, 'docs'));
  return files.sort();
}

export function snippetsOf(root: string, files: readonly string[]): Snippet[] {
  return files.flatMap((f) => extractSnippets(relative(root, f), readFileSync(f, 'utf8')));
}

/**
 * `resilient-ws/…` → the source file its `types` export is built from. The export's `types`
 * path (`./dist/src/index.d.ts`) minus `dist/`, `.d.ts` → `.ts`.
 */
export function entryPoints(root: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, { types: string }>;
  };
  const paths: Record<string, string> = {};
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const name = sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`;
    paths[name] = join(root, target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));
  }
  return paths;
}

/**
 * Type-check every snippet not opted out, each as its own module in a temporary directory,
 * with the project's compiler settings (strict, exactOptionalPropertyTypes, …; unused locals
 * allowed: a snippet may show a value it does not use). Returns the snippets that fail.
 */
export function checkSnippets(root: string, snippets: readonly Snippet[]): SnippetFailure[] {
  const checked = snippets.filter((s) => s.nocheck === undefined);
  if (checked.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'rws-doc-snippets-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    // Dependencies the snippets import (`jose`, `@types/node`, …) are the project's.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const byFile = new Map<string, Snippet>();
    checked.forEach((s, i) => {
      const name = `${s.file.replace(/[^A-Za-z0-9]+/g, '_')}_L${s.line}_${i}.ts`;
      const path = join(dir, name);
      // `export {}` on the snippet's last line keeps its first line at line 1 and makes the
      // file a module even if the snippet imports nothing (no globals shared between blocks).
      writeFileSync(path, `${s.code}\nexport {};\n`);
      byFile.set(ts.sys.resolvePath(path), s);
    });
    const paths = Object.fromEntries(
      Object.entries(entryPoints(root)).map(([name, file]) => [name, [file]]),
    );
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      useUnknownInCatchVariables: true,
      noImplicitOverride: true,
      noFallthroughCasesInSwitch: true,
      isolatedModules: true,
      skipLibCheck: true,
      noEmit: true,
      paths,
    };
    const program = ts.createProgram([...byFile.keys()], options);
    // A setting the compiler refuses would fail every block for a reason that is not theirs.
    const setup = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    if (setup.length > 0)
      throw new Error(
        `the snippet compiler's setup: ${setup.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`,
      );
    const failures: SnippetFailure[] = [];
    for (const [path, snippet] of byFile) {
      const sf = program.getSourceFile(path);
      const diagnostics = sf
        ? [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]
        : [];
      const messages = diagnostics.map((d) => {
        const at = d.start === undefined ? 0 : sf!.getLineAndCharacterOfPosition(d.start).line;
        const mdLine = snippet.line + 1 + at;
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        return `${snippet.file}:${mdLine}: TS${d.code} ${text}`;
      });
      if (sf === undefined) messages.push(`${snippet.file}:${snippet.line}: not compiled`);
      if (messages.length > 0) failures.push({ snippet, messages });
    }
    return failures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
