/**
 * Hash: xxHash64 vs SHA-256 over message bytes at 256 B, 1 KB, 10 KB and 100 KB
 * (docs/performance.md "Bars", row "hash"), for both xxHash64 backends: `@node-rs/xxhash` (native)
 * and `xxhash-wasm` (the fallback when the native binary cannot load). Two forms of each:
 * - bytes: a Buffer in, a hex digest out: the primitive, and the bar of docs/performance.md
 *   ("Bars").
 * - text: the JSON string in, a hex digest out: what the send path does for `dedup: 'content'`
 *   (ContentHasher.hash64hex; SHA-256 through `crypto.hash` on the same string).
 * Plus JSON.stringify of the 10 KB object, for context: the dedup key hashes the text the
 * send path serialized anyway, so this cost is never paid twice.
 */
import { hash as cryptoHash } from 'node:crypto';
import { xxh64 } from '@node-rs/xxhash';
import xxhashWasm from 'xxhash-wasm';
import {
  defaultLoaders,
  loadContentHasher,
  type ContentHasher,
} from '../src/outbox/content-hash.js';
import {
  QUICK,
  atLeast,
  keep,
  measureRounds,
  pairedRatio,
  report,
  spread,
  type Check,
  type Samples,
} from './lib/harness.js';

const SIZES = [
  { label: '256 B', bytes: 256 },
  { label: '1 KB', bytes: 1024 },
  { label: '10 KB', bytes: 10 * 1024 },
  { label: '100 KB', bytes: 100 * 1024 },
];
const ROUNDS = QUICK ? 15 : 41;
/** Target time per variant per round (ns): enough iterations to dwarf the timer. */
const ROUND_NS = QUICK ? 1_000_000 : 3_000_000;

/** A JSON object whose serialization is exactly `bytes` ASCII bytes (records + padding). */
function payload(bytes: number): { object: unknown; text: string } {
  const records = Array.from({ length: Math.floor(bytes / 96) }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    price: Math.round(i * 137.31) / 100,
    tags: ['a', 'b'],
    ok: i % 2 === 0,
  }));
  const object: { records: typeof records; pad: string } = { records, pad: '' };
  let text = JSON.stringify(object);
  while (text.length > bytes - 2 && object.records.length > 0) {
    object.records.pop();
    text = JSON.stringify(object);
  }
  object.pad = 'x'.repeat(bytes - text.length);
  text = JSON.stringify(object);
  if (Buffer.byteLength(text) !== bytes) throw new Error(`payload is not ${bytes} bytes`);
  return { object, text };
}

const native = await loadContentHasher();
const wasm: ContentHasher = await loadContentHasher({
  ...defaultLoaders,
  native: () => Promise.reject(new Error('forced fallback')),
});
const wasmApi = await xxhashWasm();
if (native.backend !== 'native' || wasm.backend !== 'wasm') throw new Error('backends not loaded');

// Inputs of the size being measured. Each variant below is its own loop (one monomorphic
// call site per variant: the harness's rule) and always sees the same input type.
let text = '';
let bytes: Buffer = Buffer.alloc(0);
let object: unknown = null;

const hex = (h: bigint): string => h.toString(16);

const variants = [
  {
    name: 'sha256 bytes',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = cryptoHash('sha256', bytes);
      return r;
    },
  },
  {
    name: 'xxh64 native bytes',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = hex(xxh64(bytes));
      return r;
    },
  },
  {
    name: 'xxh64 wasm bytes',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = hex(wasmApi.h64Raw(bytes));
      return r;
    },
  },
  {
    name: 'sha256 text',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = cryptoHash('sha256', text);
      return r;
    },
  },
  {
    name: 'xxh64 native text',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = native.hash64hex(text);
      return r;
    },
  },
  {
    name: 'xxh64 wasm text',
    run(n: number) {
      let r = '';
      for (let i = 0; i < n; i++) r = wasm.hash64hex(text);
      return r;
    },
  },
];

const stringifyVariant = {
  name: 'JSON.stringify',
  run(n: number) {
    let r = '';
    for (let i = 0; i < n; i++) r = JSON.stringify(object);
    return r;
  },
};

const rows: (string | number)[][] = [];
const checks: Check[] = [];
const data: Record<string, Samples> = {};
let hash10k: Samples = {};

for (const size of SIZES) {
  const p = payload(size.bytes);
  text = p.text;
  bytes = Buffer.from(p.text, 'utf8');
  object = p.object;
  // Native and wasm must agree (ids are shared across nodes through the store).
  if (native.hash64hex(text) !== wasm.hash64hex(text)) throw new Error('backends disagree');
  // ~1 ns/byte for SHA-256 (the slowest): size the loops so a round takes ROUND_NS.
  const iterations = Math.max(10, Math.round(ROUND_NS / (size.bytes + 200)));
  const list = size.bytes === 10 * 1024 ? [...variants, stringifyVariant] : variants;
  const s = measureRounds(list, { rounds: ROUNDS, iterations, warmup: 3 });
  data[size.label] = s;
  if (size.bytes === 10 * 1024) hash10k = s;
  for (const v of list) {
    const ns = spread(s[v.name]!).median;
    const base = v.name.endsWith('text') ? 'sha256 text' : 'sha256 bytes';
    const ratio = v.name === 'JSON.stringify' ? undefined : pairedRatio(s[base]!, s[v.name]!);
    rows.push([
      size.label,
      v.name,
      ns / 1000,
      size.bytes / ns, // bytes per ns = GB/s
      ratio === undefined
        ? '—'
        : `${ratio.median.toFixed(2)}× (${ratio.q1.toFixed(2)}–${ratio.q3.toFixed(2)})`,
    ]);
  }
  keep(s);
}

const bar = QUICK ? 3 : 5;
const quickNote = QUICK
  ? 'quick mode: a ratio to SHA-256 in the same rounds, so the CPU speed cancels; CPUs with SHA extensions give the lowest ratio (7.0 on an EPYC in full mode); bar 3 for 1 ms rounds on a shared box; full mode uses 5'
  : undefined;
checks.push(
  atLeast(
    'xxh64 native bytes: speed-up over SHA-256 at 10 KB (median of paired rounds)',
    pairedRatio(hash10k['sha256 bytes']!, hash10k['xxh64 native bytes']!).median,
    bar,
    quickNote,
  ),
);
// Our own bars (not in docs/performance.md ("Bars")), checked in full mode only: in quick mode's 1
// ms rounds the string-encoding path was seen 4x slower in one CI run out of several (an outlier
// the 41-round full mode absorbs), and a gate must not fail on noise.
if (!QUICK)
  checks.push(
    atLeast(
      'hub path: ContentHasher.hash64hex (native) over SHA-256 of the same text at 10 KB',
      pairedRatio(hash10k['sha256 text']!, hash10k['xxh64 native text']!).median,
      2,
      'own bar, not in docs/performance.md ("Bars"): guards the reused-buffer encoding (napi string copy measured ~2x slower)',
    ),
    atLeast(
      'JSON.stringify of the 10 KB object / hub-path hash of its text (why the key never re-serializes)',
      pairedRatio(hash10k['JSON.stringify']!, hash10k['xxh64 native text']!).median,
      3,
      'context: hashing must stay far cheaper than a second serialization',
    ),
  );

report({
  row: 'hash',
  name: 'hash',
  title: 'Hash: xxHash64 (native and wasm) vs SHA-256',
  method: [
    `Paired interleaved rounds (${ROUNDS} rounds + 3 warm-up, order rotated; each variant its own loop), one process.`,
    'Input: JSON text of exactly the given size (ASCII) and its UTF-8 Buffer. "bytes": Buffer in, hex out',
    '(`crypto.hash`, `@node-rs/xxhash` xxh64, `xxhash-wasm` h64Raw). "text": the JSON string in, hex out:',
    'the hub\'s `dedup: "content"` path (ContentHasher.hash64hex; native encodes into a reused buffer).',
    'Speed-up = SHA-256 time / variant time per round, same form (bytes vs bytes, text vs text): median (IQR).',
    'GB/s = bytes per ns. JSON.stringify of the 10 KB object is context: the hub hashes the text it already serialized.',
  ].join(' '),
  table: { columns: ['size', 'variant', 'µs/msg', 'GB/s', 'speed-up vs SHA-256'], rows },
  checks,
  data,
});
