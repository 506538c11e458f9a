/**
 * scripts/flamegraph.js (a .cpuprofile to an SVG flame graph and Markdown tables) on a small
 * hand-built profile: time-weighted (not sample counts), (idle) left out, identical stacks
 * merged, categories, frames under 0.1 % omitted, widths proportional to time, the tables.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- the script is plain JavaScript without types
import * as script from '../../scripts/flamegraph.js';

interface FrameNode {
  name: string;
  url: string;
  line: number;
  category: string;
  self: number;
  total: number;
  children: FrameNode[];
}
interface Tree {
  root: FrameNode;
  busyMs: number;
  idleMs: number;
  samples: number;
  totalMs: number;
  focus: string | undefined;
}
interface Flamegraph {
  buildTree(profile: unknown): Tree;
  focusTree(tree: Tree, functionName: string): Tree;
  layoutFrames(
    tree: Tree,
    opts?: { width?: number },
  ): { node: FrameNode; depth: number; x: number; width: number }[];
  categoryShares(tree: Tree): { category: string; label: string; ms: number; share: number }[];
  topFunctions(tree: Tree, n?: number): { name: string; selfMs: number; totalMs: number }[];
  topTable(tree: Tree, n?: number): string;
  categoryTable(tree: Tree): string;
  renderSvg(tree: Tree, opts?: { title?: string; width?: number }): string;
  location(url: string, line: number): string;
  fitLabel(label: string, px: number): string;
}
const fg = script as Flamegraph;

const frame = (functionName: string, url = '', lineNumber = -1, columnNumber = 0) => ({
  functionName,
  scriptId: '1',
  url,
  lineNumber,
  columnNumber,
});
const MAIN = frame('main', 'file:///app/dist/src/server/main.js', 9);
const SEND = 'file:///app/node_modules/ws/lib/sender.js';

/**
 * (root) ─┬ (program)                        10 ms
 *         ├ (idle)                          500 ms
 *         ├ main (ours)                     100 ms self
 *         │  ├ send (ws), column 4          150 ms (3 samples)
 *         │  ├ send (ws), column 8           50 ms (1 sample): the same frame, merged
 *         │  ├ writeGeneric (node:)          80 ms
 *         │  └ tiny (ours)                  0.4 ms: under 0.1 % of 500 ms, not drawn
 *         ├ (garbage collector)              60 ms
 *         └ pump (bench)                     40 ms self
 *            └ main (ours)                  9.6 ms: another path, not merged with the first
 */
function profile() {
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 9, 10] },
    { id: 2, callFrame: frame('(program)') },
    { id: 3, callFrame: frame('(idle)') },
    { id: 4, callFrame: MAIN, children: [5, 6, 7, 8] },
    { id: 5, callFrame: frame('send', SEND, 99, 4) },
    { id: 6, callFrame: frame('writeGeneric', 'node:internal/stream_base_commons', 10) },
    { id: 7, callFrame: frame('tiny', 'file:///app/src/x/tiny.js', 0) },
    { id: 8, callFrame: frame('send', SEND, 99, 8) },
    { id: 9, callFrame: frame('(garbage collector)') },
    { id: 10, callFrame: frame('pump', 'file:///app/dist/bench/lib/e2e.js', 4), children: [11] },
    { id: 11, callFrame: { ...MAIN, columnNumber: 2 } },
  ];
  // [node id, how long the sample lasts in ms]: a sample lasts until the next one.
  const timeline: [number, number][] = [
    [2, 10],
    [5, 50],
    [3, 300],
    [4, 100],
    [5, 50],
    [6, 80],
    [3, 200],
    [8, 50],
    [7, 0.4],
    [9, 60],
    [10, 40],
    [5, 50],
    [11, 9.6],
  ];
  const startTime = 1_000_000;
  const timeDeltas = timeline.map((_, i) => (i === 0 ? 0 : timeline[i - 1]![1] * 1000));
  const endTime = startTime + timeline.reduce((sum, [, ms]) => sum + ms * 1000, 0);
  return { nodes, startTime, endTime, samples: timeline.map(([id]) => id), timeDeltas };
}

const child = (node: FrameNode, name: string) => node.children.find((c) => c.name === name)!;

describe('flamegraph script', () => {
  const tree = fg.buildTree(profile());

  it('weights samples by time, leaves (idle) out and merges identical frames', () => {
    expect(tree.busyMs).toBeCloseTo(500, 6);
    expect(tree.idleMs).toBeCloseTo(500, 6);
    expect(tree.samples).toBe(11);
    expect(tree.root.children.map((c) => [c.name, +c.total.toFixed(3)])).toEqual([
      ['main', 380.4],
      ['(garbage collector)', 60],
      ['pump', 49.6],
      ['(program)', 10],
    ]);
    const main = child(tree.root, 'main');
    // Four samples of send against one of main: by time send is 200 ms, main 100 ms.
    expect(main.children.map((c) => c.name)).toEqual(['send', 'writeGeneric', 'tiny']);
    expect(child(main, 'send').self).toBeCloseTo(200, 6);
    expect(main.self).toBeCloseTo(100, 6);
    expect(child(child(tree.root, 'pump'), 'main').total).toBeCloseTo(9.6, 6);
  });

  it('categorizes frames', () => {
    const main = child(tree.root, 'main');
    expect(main.category).toBe('ours');
    expect(child(main, 'tiny').category).toBe('ours');
    expect(child(main, 'send').category).toBe('modules');
    expect(child(main, 'writeGeneric').category).toBe('node');
    expect(child(tree.root, '(garbage collector)').category).toBe('native');
    expect(child(tree.root, 'pump').category).toBe('bench');
    expect(
      fg.categoryShares(tree).map(({ category, share }) => [category, +share.toFixed(4)]),
    ).toEqual([
      ['ours', 0.22],
      ['modules', 0.4],
      ['node', 0.16],
      ['native', 0.14],
      ['bench', 0.08],
      ['other', 0],
    ]);
  });

  it('lays frames out proportionally to time and omits those under 0.1 %', () => {
    const frames = fg.layoutFrames(tree, { width: 1000 });
    const at = (name: string, depth: number) =>
      frames.find((f) => f.node.name === name && f.depth === depth)!;
    expect(frames.map((f) => f.node.name).sort()).toEqual(
      [
        '(garbage collector)',
        '(program)',
        'all',
        'main',
        'main',
        'pump',
        'send',
        'writeGeneric',
      ].sort(),
    );
    expect(at('all', 0).width).toBeCloseTo(1000, 6);
    expect(at('main', 1).width).toBeCloseTo(760.8, 6);
    expect(at('send', 2)).toMatchObject({ x: 0 });
    expect(at('send', 2).width).toBeCloseTo(400, 6);
    expect(at('writeGeneric', 2).x).toBeCloseTo(400, 6);
    expect(at('(garbage collector)', 1).x).toBeCloseTo(760.8, 6);
    expect(at('main', 2).width).toBeCloseTo(19.2, 6);
  });

  it('renders an SVG with a titled, labelled rect per frame', () => {
    const svg = fg.renderSvg(tree, { title: 'bench <e2e>', width: 1020 });
    expect(svg).toContain('bench &lt;e2e&gt;');
    expect(svg).toContain('500.0 ms busy');
    expect(svg).toContain('root at the bottom');
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<title>(idle)');
    expect(svg).not.toContain('tiny');
    // 1000 px inside the padding: each frame's rect is its share of 500 ms (less a 0.5 px gap).
    const frames = [
      ...svg.matchAll(/<g><title>([^\n<]*)[^<]*<\/title><rect [^>]*width="([\d.]+)"/g),
    ];
    expect(frames).toHaveLength(8);
    const widths = new Map(frames.map(([, label, w]) => [label!, Number(w) + 0.5] as const));
    expect(widths.get('main server/main.js:10')).toBeCloseTo(760.8, 1);
    expect(widths.get('send lib/sender.js:100')).toBeCloseTo(400, 1);
    expect(widths.get('writeGeneric node:internal/stream_base_commons:11')).toBeCloseTo(160, 1);
    expect(widths.get('(garbage collector)')).toBeCloseTo(120, 1);
    expect(widths.get('pump lib/e2e.js:5')).toBeCloseTo(99.2, 1);
    expect(svg).toContain('resilient-ws 22.0 %');
    expect(svg).toContain('node_modules 40.0 %');
  });

  it('prints the top functions and the categories as Markdown tables', () => {
    const top = fg.topTable(tree, 3).split('\n');
    expect(top[0]).toBe('Top 3 functions by self time (of 500.0 ms busy):');
    expect(top.slice(4)).toEqual([
      '| 1 | `send` | `lib/sender.js:100` | node_modules (ws) | 200.0 | 40.0 % | 40.0 % |',
      '| 2 | `main` | `server/main.js:10` | resilient-ws | 109.6 | 21.9 % | 78.0 % |',
      '| 3 | `writeGeneric` | `node:internal/stream_base_commons:11` | node internals | 80.0 | 16.0 % | 16.0 % |',
    ]);
    const categories = fg.categoryTable(tree);
    expect(categories).toContain('| resilient-ws | 110.0 | 22.0 % |');
    expect(categories).toContain('| native / V8 | 70.0 | 14.0 % |');
    expect(categories).toContain('| bench harness | 40.0 | 8.0 % |');
  });

  it('--focus keeps the stacks through a function, re-rooted at it', () => {
    const focused = fg.focusTree(tree, 'main');
    expect(focused.totalMs).toBeCloseTo(390, 6);
    expect(focused.busyMs).toBeCloseTo(500, 6);
    expect(focused.root.children.map((c) => c.name)).toEqual(['main']);
    expect(focused.root.children[0]!.self).toBeCloseTo(109.6, 6);
    expect(fg.topTable(focused, 1)).toContain(
      '(of 390.0 ms under `main` (78.0 % of 500.0 ms busy))',
    );
  });

  it('shortens locations and fits labels', () => {
    expect(fg.location('file:///work/main/dist/src/session/hub.js', 169)).toBe(
      'session/hub.js:170',
    );
    expect(fg.location('node:internal/streams/writable', 743)).toBe(
      'node:internal/streams/writable:744',
    );
    expect(fg.location('', -1)).toBe('');
    expect(fg.fitLabel('abcdefghij', 1000)).toBe('abcdefghij');
    expect(fg.fitLabel('abcdefghijklmnopqrstuvwxyz', 60)).toBe('abcdef…');
    expect(fg.fitLabel('abcdefghij', 10)).toBe('');
  });
});
