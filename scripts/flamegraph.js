// Turns a V8 CPU profile (`node --cpu-prof`, a .cpuprofile) into a self-contained SVG flame
// graph that GitHub shows as a static image (no scripts, no external fonts; a <title> per frame
// for hover tooltips), and with --top N prints Markdown tables (top functions by self time, the
// share of each category) for pasting into docs.
//   node scripts/flamegraph.js <in.cpuprofile> <out.svg> [--title "..."] [--top 20]
//        [--focus <functionName>] [--width 1200]
// Root at the bottom (a classic flame graph); width = inclusive CPU time. Time is weighted by
// the profile's timeDeltas (a sample lasts until the next one; the last one until endTime), not
// by sample counts. `(idle)` samples are left out entirely: "busy" is the rest. Frames narrower
// than 0.1 % of the graph are omitted (with their callees). Identical stacks (same function,
// url and line at the same path) are merged. --focus keeps only the stacks through a frame of
// that function, re-rooted at it (its outermost occurrence when it recurses).
// Tests: test/unit/flamegraph.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Categories in legend order: label and base hue/saturation of their frames. */
export const CATEGORIES = {
  ours: { label: 'resilient-ws', hue: 22, sat: 85 },
  modules: { label: 'node_modules', hue: 265, sat: 55 },
  node: { label: 'node internals', hue: 130, sat: 45 },
  native: { label: 'native / V8', hue: 0, sat: 0 },
  bench: { label: 'bench harness', hue: 190, sat: 60 },
  other: { label: 'other', hue: 50, sat: 75 },
};

/** Frames narrower than this share of the graph are not drawn. */
export const MIN_FRACTION = 0.001;

const IDLE = '(idle)';

/**
 * The category of a frame from its script url: native (no url: `(program)`,
 * `(garbage collector)`, `writev`...), node internals (`node:`), node_modules packages, the
 * bench harness (`/bench/`), our code (`/src/`, `/client/`, `/mcp/`, built or not) or other.
 */
export function categorize(url) {
  if (url === '') return 'native';
  if (url.startsWith('node:') || url.startsWith('internal/')) return 'node';
  if (url.includes('/node_modules/')) return 'modules';
  if (url.includes('/bench/')) return 'bench';
  if (url.includes('/src/') || url.includes('/client/') || url.includes('/mcp/')) return 'ours';
  return 'other';
}

/** `file:line` of a frame: node internals whole, other paths their last two segments. */
export function location(url, line) {
  if (url === '') return '';
  let file = url;
  if (!url.startsWith('node:')) {
    const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/\/?/i, '').replace(/[?#].*$/, '');
    file = path.split('/').filter(Boolean).slice(-2).join('/') || url;
  }
  return line >= 0 ? `${file}:${line + 1}` : file;
}

/** The label drawn on a frame: `functionName file:line`. */
export function frameLabel(node) {
  const loc = location(node.url, node.line);
  return loc === '' ? node.name : `${node.name} ${loc}`;
}

function newNode(name, url, line, category) {
  return { name, url, line, category, self: 0, total: 0, children: [], byKey: new Map() };
}

function keyOf(name, url, line) {
  return `${name}\u0000${url}\u0000${line}`;
}

function childFor(parent, name, url, line, category) {
  const key = keyOf(name, url, line);
  let child = parent.byKey.get(key);
  if (child === undefined) {
    child = newNode(name, url, line, category);
    parent.byKey.set(key, child);
    parent.children.push(child);
  }
  return child;
}

/** Post-order pass (iterative: stacks can be deep): totals, children sorted widest first. */
function finish(root) {
  const order = [];
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    order.push(node);
    for (const child of node.children) stack.push(child);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    let total = node.self;
    for (const child of node.children) total += child.total;
    node.total = total;
    node.children.sort((a, b) => b.total - a.total || (frameLabel(a) < frameLabel(b) ? -1 : 1));
    delete node.byKey;
  }
  return root;
}

/**
 * The merged call tree of a profile, times in ms: { root, busyMs, idleMs, samples, totalMs,
 * focus }. root is an `all` frame; each node is { name, url, line (0-based, -1 when none),
 * category, self, total, children }.
 */
export function buildTree(profile) {
  const { nodes, samples, timeDeltas } = profile;
  const index = new Map();
  for (let i = 0; i < nodes.length; i++) index.set(nodes[i].id, i);

  // Self time per profile node: a sample lasts until the next one, the last one until endTime.
  const self = new Float64Array(nodes.length);
  const n = samples.length;
  let t = profile.startTime;
  const stamps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t += timeDeltas[i] ?? 0;
    stamps[i] = t;
  }
  let sampled = 0;
  for (let i = 0; i < n; i++) {
    const end = i + 1 < n ? stamps[i + 1] : Math.max(profile.endTime ?? stamps[i], stamps[i]);
    const ix = index.get(samples[i]);
    if (ix === undefined) continue;
    const dt = Math.max(0, end - stamps[i]) / 1000;
    self[ix] += dt;
    sampled++;
  }

  // Parents, then each profile node mapped onto a merged node (parents before children).
  const parent = new Int32Array(nodes.length).fill(-1);
  for (let i = 0; i < nodes.length; i++) {
    for (const id of nodes[i].children ?? []) {
      const c = index.get(id);
      if (c !== undefined) parent[c] = i;
    }
  }
  const root = newNode('all', '', -1, 'root');
  const merged = new Array(nodes.length);
  let idleMs = 0;
  let idleSamples = 0;
  const idleIds = new Set();
  for (let start = 0; start < nodes.length; start++) {
    if (merged[start] !== undefined) continue;
    // Walk up to the first mapped ancestor, then map the path down.
    const path = [];
    for (let i = start; i !== -1 && merged[i] === undefined; i = parent[i]) path.push(i);
    for (let p = path.length - 1; p >= 0; p--) {
      const i = path[p];
      const up = parent[i];
      const { functionName, url, lineNumber } = nodes[i].callFrame;
      if (up === -1) {
        merged[i] = root; // V8's (root)
      } else if (merged[up] === null || (functionName === IDLE && url === '')) {
        merged[i] = null; // (idle) and anything under it: not drawn, not counted
        idleMs += self[i];
        idleIds.add(nodes[i].id);
      } else {
        const name = functionName === '' ? '(anonymous)' : functionName;
        merged[i] = childFor(merged[up], name, url, lineNumber ?? -1, categorize(url));
      }
      if (merged[i] !== null) merged[i].self += self[i];
    }
  }
  for (const id of samples) if (idleIds.has(id)) idleSamples++;
  finish(root);
  return {
    root,
    busyMs: root.total,
    idleMs,
    samples: sampled - idleSamples,
    totalMs: root.total,
    focus: undefined,
  };
}

function mergeInto(target, source) {
  const stack = [[target, source]];
  while (stack.length > 0) {
    const [into, from] = stack.pop();
    into.self += from.self;
    for (const c of from.children)
      stack.push([childFor(into, c.name, c.url, c.line, c.category), c]);
  }
}

/**
 * Only the stacks through a frame named `functionName`, re-rooted at it: the outermost
 * occurrences on each stack merged under a new `all` (recursion is not counted twice).
 */
export function focusTree(tree, functionName) {
  const root = newNode('all', '', -1, 'root');
  const stack = [...tree.root.children];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node.name === functionName) {
      mergeInto(childFor(root, node.name, node.url, node.line, node.category), node);
    } else {
      for (const child of node.children) stack.push(child);
    }
  }
  finish(root);
  return { ...tree, root, totalMs: root.total, focus: functionName };
}

/** Frames to draw: { node, depth (0 = the `all` root), x, width } in px, widest-first order. */
export function layoutFrames(tree, { width = 1200, minFraction = MIN_FRACTION } = {}) {
  const frames = [];
  const total = tree.root.total;
  if (total <= 0) return frames;
  const scale = width / total;
  const min = total * minFraction;
  const stack = [{ node: tree.root, depth: 0, x: 0 }];
  while (stack.length > 0) {
    const { node, depth, x } = stack.pop();
    frames.push({ node, depth, x, width: node.total * scale });
    let cx = x;
    for (const child of node.children) {
      if (child.total >= min) stack.push({ node: child, depth: depth + 1, x: cx });
      cx += child.total * scale;
    }
  }
  return frames;
}

/** Self time per category, ms and share of the graph, in legend order (empty ones included). */
export function categoryShares(tree) {
  const ms = Object.fromEntries(Object.keys(CATEGORIES).map((c) => [c, 0]));
  const stack = [tree.root];
  while (stack.length > 0) {
    const node = stack.pop();
    // Samples on V8's (root) itself count as native.
    ms[node.category === 'root' ? 'native' : node.category] += node.self;
    for (const child of node.children) stack.push(child);
  }
  const total = tree.root.total;
  return Object.entries(CATEGORIES).map(([category, { label }]) => ({
    category,
    label,
    ms: ms[category],
    share: total > 0 ? ms[category] / total : 0,
  }));
}

/**
 * Functions (function + url + line) by self time, widest first: { name, url, line, category,
 * selfMs, selfShare, totalMs, totalShare } with shares of the graph. totalMs counts a function
 * once per stack (recursion is not counted twice).
 */
export function topFunctions(tree, n = Infinity) {
  const byKey = new Map();
  const onStack = new Map();
  const stack = [{ node: tree.root, enter: true }];
  while (stack.length > 0) {
    const { node, enter } = stack.pop();
    if (node === tree.root) {
      if (enter) {
        stack.push({ node, enter: false });
        for (const child of node.children) stack.push({ node: child, enter: true });
      }
      continue;
    }
    const key = keyOf(node.name, node.url, node.line);
    if (!enter) {
      onStack.set(key, onStack.get(key) - 1);
      continue;
    }
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = { name: node.name, url: node.url, line: node.line, category: node.category };
      entry.selfMs = 0;
      entry.totalMs = 0;
      byKey.set(key, entry);
    }
    entry.selfMs += node.self;
    const depth = onStack.get(key) ?? 0;
    if (depth === 0) entry.totalMs += node.total;
    onStack.set(key, depth + 1);
    stack.push({ node, enter: false });
    for (const child of node.children) stack.push({ node: child, enter: true });
  }
  const total = tree.root.total;
  return [...byKey.values()]
    .sort((a, b) => b.selfMs - a.selfMs || b.totalMs - a.totalMs)
    .slice(0, n)
    .map((e) => ({
      ...e,
      selfShare: total > 0 ? e.selfMs / total : 0,
      totalShare: total > 0 ? e.totalMs / total : 0,
    }));
}

const pct = (share) => `${(share * 100).toFixed(1)} %`;
const ms = (value) => value.toFixed(1);
const cell = (text) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
const code = (text) => (text === '' ? '' : `\`${cell(text)}\``);

/** The category of a function, with the package for node_modules (`node_modules (ws)`). */
function categoryCell(f) {
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(f.url);
  const label = CATEGORIES[f.category].label;
  return f.category === 'modules' && pkg !== null ? `${label} (${cell(pkg[1])})` : label;
}

function base(tree) {
  return tree.focus === undefined
    ? `${ms(tree.busyMs)} ms busy`
    : `${ms(tree.totalMs)} ms under \`${cell(tree.focus)}\` (${pct(tree.totalMs / tree.busyMs)} of ${ms(tree.busyMs)} ms busy)`;
}

/** Markdown: the top n functions by self time (shares of busy time, or of the focus). */
export function topTable(tree, n = 20) {
  const rows = topFunctions(tree, n).map(
    (f, i) =>
      `| ${i + 1} | ${code(f.name)} | ${code(location(f.url, f.line))} | ${categoryCell(f)} | ${ms(f.selfMs)} | ${pct(f.selfShare)} | ${pct(f.totalShare)} |`,
  );
  return [
    `Top ${rows.length} functions by self time (of ${base(tree)}):`,
    '',
    '| # | function | location | category | self ms | self | total |',
    '| ---: | --- | --- | --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** Markdown: self time by category. */
export function categoryTable(tree) {
  const rows = categoryShares(tree).map((c) => `| ${c.label} | ${ms(c.ms)} | ${pct(c.share)} |`);
  return [
    `Self time by category (of ${base(tree)}):`,
    '',
    '| category | self ms | share |',
    '| --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}

export function escapeXml(text) {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A frame's fill: its category's hue, lightness varied a little by function name. */
export function fillOf(node) {
  if (node.category === 'root') return 'hsl(0,0%,88%)';
  const { hue, sat } = CATEGORIES[node.category];
  const h = hash(node.name);
  return `hsl(${(hue + (h % 16) + 352) % 360},${sat}%,${62 + ((h >>> 4) % 14)}%)`;
}

const FONT = 'ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace';
const FONT_SIZE = 11;
const CHAR_WIDTH = FONT_SIZE * 0.62;
const FRAME_HEIGHT = 16;
const PAD = 10;
const HEAD = 78;

/** The label cut to fit in `px` (an ellipsis when cut; empty when not even 3 characters fit). */
export function fitLabel(label, px) {
  const chars = Math.floor((px - 6) / CHAR_WIDTH);
  if (chars < 3) return '';
  return label.length <= chars ? label : `${label.slice(0, chars - 1)}…`;
}

const r2 = (v) => Math.round(v * 100) / 100;

/** The SVG flame graph (root at the bottom) of a tree. */
export function renderSvg(tree, { title = 'CPU profile', width = 1200, minFraction } = {}) {
  const inner = width - 2 * PAD;
  const frames = layoutFrames(tree, { width: inner, minFraction });
  const depth = frames.reduce((m, f) => Math.max(m, f.depth), 0);
  const height = HEAD + (depth + 1) * FRAME_HEIGHT + PAD;
  const bottom = height - PAD; // the root frame's lower edge
  const total = tree.root.total;
  const shares = categoryShares(tree);
  const kind = `Flame graph, root at the bottom: width = inclusive CPU time, weighted by the sampling intervals; (idle) excluded; frames under ${r2(100 * (minFraction ?? MIN_FRACTION))} % of the width omitted.`;
  const focus =
    tree.focus === undefined
      ? ''
      : ` · focus ${tree.focus}: ${ms(tree.totalMs)} ms (${pct(tree.totalMs / tree.busyMs)} of busy)`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}" font-size="${FONT_SIZE}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PAD}" y="22" font-size="16" font-weight="bold" fill="#000">${escapeXml(title)}</text>`,
    `<text x="${PAD}" y="40" fill="#000">${escapeXml(`${ms(tree.busyMs)} ms busy (${tree.samples} samples; ${ms(tree.idleMs)} ms idle)${focus}`)}</text>`,
    `<text x="${PAD}" y="55" fill="#555">${escapeXml(kind)}</text>`,
  ];
  out.push(`<text x="${PAD}" y="72" fill="#555">self time:</text>`);
  let lx = PAD + 11 * CHAR_WIDTH;
  for (const s of shares) {
    if (s.ms === 0) continue;
    const text = `${s.label} ${pct(s.share)}`;
    out.push(
      `<rect x="${lx}" y="62" width="12" height="12" fill="${fillOf({ name: '', category: s.category })}" stroke="#777" stroke-width="0.5"/>`,
      `<text x="${lx + 16}" y="72" fill="#000">${escapeXml(text)}</text>`,
    );
    lx += 16 + text.length * CHAR_WIDTH + 18;
  }
  for (const f of frames) {
    const { node } = f;
    const label = frameLabel(node);
    const x = PAD + f.x;
    const y = bottom - (f.depth + 1) * FRAME_HEIGHT;
    const w = f.width > 1 ? f.width - 0.5 : f.width;
    const where =
      node.url === '' || node.url.startsWith('node:')
        ? ''
        : `\n${node.url}${node.line >= 0 ? `:${node.line + 1}` : ''}`;
    const tip =
      node === tree.root
        ? `all: ${ms(total)} ms`
        : `${label}\n${CATEGORIES[node.category].label}; total ${ms(node.total)} ms (${pct(node.total / total)}), self ${ms(node.self)} ms (${pct(node.self / total)})${where}`;
    const text = fitLabel(node === tree.root ? `all ${ms(total)} ms` : label, f.width);
    out.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${r2(x)}" y="${y}" width="${r2(w)}" height="${FRAME_HEIGHT - 1}" fill="${fillOf(node)}"/>` +
        (text === ''
          ? ''
          : `<text x="${r2(x + 3)}" y="${y + FRAME_HEIGHT - 4.5}" fill="#000">${escapeXml(text)}</text>`) +
        '</g>',
    );
  }
  out.push('</svg>', '');
  return out.join('\n');
}

function main() {
  const usage =
    'usage: node scripts/flamegraph.js <in.cpuprofile> <out.svg> [--title "..."] [--top N] [--focus <functionName>] [--width px]';
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        title: { type: 'string' },
        top: { type: 'string' },
        focus: { type: 'string' },
        width: { type: 'string', default: '1200' },
      },
    });
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  const top = values.top === undefined ? 0 : Number(values.top);
  const width = Number(values.width);
  if (
    positionals.length !== 2 ||
    !Number.isSafeInteger(top) ||
    top < 0 ||
    !Number.isFinite(width) ||
    width < 200
  ) {
    console.error(usage);
    process.exit(2);
  }
  const [input, output] = positionals;
  let tree = buildTree(JSON.parse(readFileSync(input, 'utf8')));
  if (values.focus !== undefined) {
    tree = focusTree(tree, values.focus);
    if (tree.totalMs === 0) {
      console.error(`no stack contains a frame named ${values.focus}`);
      process.exit(1);
    }
  }
  const title = values.title ?? basename(input);
  writeFileSync(output, renderSvg(tree, { title, width }));
  const drawn = layoutFrames(tree, { width }).length;
  console.error(
    `${output}: ${drawn} frames, ${ms(tree.totalMs)} ms of ${ms(tree.busyMs)} ms busy (${ms(tree.idleMs)} ms idle excluded)`,
  );
  if (top > 0) console.log(`${topTable(tree, top)}\n\n${categoryTable(tree)}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
