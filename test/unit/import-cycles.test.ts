/**
 * No import cycles in the library, type-only imports included: a cycle through a type is
 * harmless at run time (verbatimModuleSyntax erases it) but it is the mark of a friend object
 * (docs/architecture.md, "Session state on a node"). The graph is read from the sources'
 * import statements; test files are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.ts$/.test(entry.name) && !/\.(test|contract)\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

/** file → the project files it imports (value and type imports alike). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found.map((c) => c.map((f) => relative(ROOT, f)).sort());
}

describe('import cycles', () => {
  it('finds a cycle when there is one (the check itself)', () => {
    const a = join(ROOT, 'a.ts');
    const b = join(ROOT, 'b.ts');
    const c = join(ROOT, 'c.ts');
    const graph = new Map([
      [a, [b]],
      [b, [a, c]],
      [c, []],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts']]);
  });

  it('reads type-only imports as edges', () => {
    const graph = importGraph([join(ROOT, 'src/session/handshake.ts')]);
    const targets = graph
      .get(join(ROOT, 'src/session/handshake.ts'))!
      .map((f) => relative(ROOT, f));
    expect(targets).toContain('src/session/session-registry.ts'); // `import type`
  });

  it('src/, client/ and mcp/ have none, type-only imports included', () => {
    const graph = importGraph([
      ...sources(join(ROOT, 'src')),
      ...sources(join(ROOT, 'client')),
      ...sources(join(ROOT, 'mcp')),
    ]);
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });
});
