import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import {
  CONTENT_ID_PREFIX,
  defaultLoaders,
  idempotencyId,
  loadContentHasher,
  type ContentHasher,
} from './content-hash.js';

const failing = (message: string) => (): Promise<never> => Promise.reject(new Error(message));

async function bothBackends(): Promise<ContentHasher[]> {
  const native = await loadContentHasher();
  const wasm = await loadContentHasher({ ...defaultLoaders, native: failing('no binary') });
  return [native, wasm];
}

// Reference digests of the xxHash64 spec (seed 0).
const VECTORS: [string, string][] = [
  ['', 'ef46db3751d8e999'],
  ['a', 'd24ec4f1a98c6e5b'],
  ['abc', '44bc2cf5ad770999'],
];

describe('loadContentHasher', () => {
  it('loads the native backend when its binary is available', async () => {
    const h = await loadContentHasher();
    expect(h.backend).toBe('native');
    expect(h.fallbackCause).toBeUndefined();
  });

  it('falls back to wasm when the native binary cannot load, keeping the reason', async () => {
    const h = await loadContentHasher({ ...defaultLoaders, native: failing('no binary') });
    expect(h.backend).toBe('wasm');
    expect((h.fallbackCause as Error).message).toBe('no binary');
  });

  it('fails with content_hash_unavailable when neither backend loads', async () => {
    const error: unknown = await loadContentHasher({
      native: failing('no binary'),
      wasm: failing('no wasm'),
    }).catch((e: unknown) => e);
    expect(isRwsError(error) && error.code).toBe('content_hash_unavailable');
  });
});

describe('hash64hex', () => {
  it('matches the xxHash64 reference digests on both backends', async () => {
    for (const h of await bothBackends())
      for (const [text, digest] of VECTORS) expect(h.hash64hex(text)).toBe(digest);
  });

  it('gives the same digest on both backends for ASCII, non-ASCII and large texts', async () => {
    const [native, wasm] = await bothBackends();
    const texts = [
      JSON.stringify({ n: 1 }),
      JSON.stringify({ city: 'Zürich', emoji: '🚀', cjk: '漢字' }),
      'x'.repeat(256 * 1024 - 4), // the largest text encoded into the reused buffer
      'x'.repeat(256 * 1024 - 3), // past it: encoded into a fresh buffer
      'é'.repeat(128 * 1024 - 2), // two bytes each: exactly fills the reused buffer
      '€'.repeat(90_000), // three bytes each: does not fit, detected from the bytes written
      '🚀'.repeat(70_000), // surrogate pairs, four bytes each
      JSON.stringify({ big: 'y'.repeat(300_000) }),
    ];
    for (const t of texts) {
      expect(native!.hash64hex(t)).toMatch(/^[0-9a-f]{16}$/);
      expect(native!.hash64hex(t)).toBe(wasm!.hash64hex(t));
    }
  });

  it('hashes the UTF-8 bytes: a string and its bytes hash alike', async () => {
    const { xxh64 } = await defaultLoaders.native();
    const text = JSON.stringify({ s: 'naïve ☃' });
    const [native] = await bothBackends();
    expect(native!.hash64hex(text)).toBe(
      xxh64(Buffer.from(text, 'utf8')).toString(16).padStart(16, '0'),
    );
  });

  it('distinguishes texts that differ in one byte, and a short text after a long one', async () => {
    const [native] = await bothBackends();
    const a = native!.hash64hex('{"v":"' + 'a'.repeat(1000) + '"}');
    const b = native!.hash64hex('{"v":"' + 'a'.repeat(999) + 'b"}');
    expect(a).not.toBe(b);
    // The reused buffer must not leak bytes of the previous, longer text.
    expect(native!.hash64hex('abc')).toBe('44bc2cf5ad770999');
    expect(native!.hash64hex('abc')).not.toBe(createHash('sha256').update('abc').digest('hex'));
  });
});

describe('idempotencyId', () => {
  const hash = (json: string): string => `h(${json})`;
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      return isRwsError(error) ? error.code : 'not-rws';
    }
    return undefined;
  };

  it('is the explicit id, or none, without dedup', () => {
    expect(idempotencyId('1', { id: 'a' }, hash)).toBe('a');
    expect(idempotencyId('1', {}, hash)).toBeUndefined();
    expect(idempotencyId('1', { key: 'k', volatile: false }, undefined)).toBeUndefined();
  });

  it('refuses an explicit id in the reserved xxh64: namespace (bad_options)', () => {
    const forged = (): unknown => idempotencyId('1', { id: `${CONTENT_ID_PREFIX}0123` }, hash);
    expect(code(forged)).toBe('bad_options');
    expect(forged).toThrow(/xxh64:.*reserved/);
    expect(idempotencyId('1', { id: 'xxh64' }, hash)).toBe('xxh64');
    expect(idempotencyId('1', { id: 'order-xxh64:1' }, hash)).toBe('order-xxh64:1');
  });

  it("is the prefixed hash of the serialized text with dedup: 'content'", () => {
    expect(idempotencyId('{"a":1}', { dedup: 'content' }, hash)).toBe(
      `${CONTENT_ID_PREFIX}h({"a":1})`,
    );
  });

  it('refuses content dedup together with id, volatile or key, naming them', () => {
    const both = (): unknown => idempotencyId('1', { id: 'a', dedup: 'content' }, hash);
    expect(code(both)).toBe('bad_options');
    expect(both).toThrow(/id.*dedup/);
    expect(code(() => idempotencyId('1', { volatile: true, dedup: 'content' }, hash))).toBe(
      'bad_options',
    );
    expect(code(() => idempotencyId('1', { key: 'p', dedup: 'content' }, hash))).toBe(
      'bad_options',
    );
  });

  it('refuses an unknown dedup mode', () => {
    const o = { dedup: 'bytes' } as unknown as { dedup: 'content' };
    expect(code(() => idempotencyId('1', o, hash))).toBe('bad_options');
  });

  it('fails with content_hash_unavailable when no hasher is configured', () => {
    expect(code(() => idempotencyId('1', { dedup: 'content' }, undefined))).toBe(
      'content_hash_unavailable',
    );
  });
});
