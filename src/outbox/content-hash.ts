/**
 * Content-hash dedup for outbound sends: xxHash64 of the JSON text the hub serialized
 * anyway, used as the message's idempotency id, so a repeated payload shares the id window
 * and gets the original seq back. Never a second JSON.stringify: serializing a 10 KB object
 * costs ~20x more than hashing it (bench/hash.bench.ts).
 *
 * The hash comes from `@node-rs/xxhash` (native) or, when its binary cannot load on this
 * platform, from `xxhash-wasm`. Both give the same digest for the same text, so nodes with
 * different backends sharing a store (Redis) agree on every id.
 */
import { RwsError } from '../errors.js';

export interface ContentHasher {
  readonly backend: 'native' | 'wasm';
  /** xxHash64 (seed 0) of the UTF-8 bytes of `text`: 16 lowercase hex digits. */
  hash64hex(text: string): string;
  /** Why the native backend did not load (only when `backend` is `wasm`). */
  readonly fallbackCause?: unknown;
}

/** The parts of `@node-rs/xxhash` used here. */
export interface NativeXxhash {
  xxh64(input: Uint8Array | string): bigint;
}

/** The parts of `xxhash-wasm` used here. */
export interface WasmXxhash {
  h64ToString(input: string): string;
}

/** How each backend is loaded; tests inject failing ones to force the fallback. */
export interface HasherLoaders {
  native: () => Promise<NativeXxhash>;
  wasm: () => Promise<WasmXxhash>;
}

export const defaultLoaders: HasherLoaders = {
  native: async () => await import('@node-rs/xxhash'),
  wasm: async () => (await import('xxhash-wasm')).default(),
};

/**
 * Loads the hasher once at start-up: native first, wasm if the native binary cannot load
 * (the wasm module compiles asynchronously, hence a promise). Rejects with
 * `content_hash_unavailable` only if neither loads.
 */
export async function loadContentHasher(
  loaders: HasherLoaders = defaultLoaders,
): Promise<ContentHasher> {
  let nativeError: unknown;
  try {
    return nativeHasher(await loaders.native());
  } catch (error) {
    nativeError = error;
  }
  try {
    return wasmHasher(await loaders.wasm(), nativeError);
  } catch (error) {
    throw new RwsError('content_hash_unavailable', 'neither xxHash64 backend could be loaded', {
      cause: new AggregateError([nativeError, error], 'native and wasm xxHash64 failed to load'),
    });
  }
}

/** Size of the reused encoding buffer: ASCII texts up to ~256 KiB are hashed without allocating. */
const SCRATCH_BYTES = 256 * 1024;

export function nativeHasher(lib: NativeXxhash): ContentHasher {
  const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  const { buffer, byteOffset } = scratch;
  return {
    backend: 'native',
    hash64hex(text: string): string {
      // napi-rs copies a string argument into a fresh Rust String (measured ~2x slower at
      // 10 KB than this): encode into a reused buffer and pass a view of the bytes instead.
      // A plain Uint8Array view: Buffer#subarray costs ~3x more (species lookup).
      const written = text.length <= SCRATCH_BYTES ? scratch.write(text, 'utf8') : SCRATCH_BYTES;
      // write() stops before a character that does not fit (4 bytes at most), so anything
      // short of the last 4 bytes means the whole text was written.
      const digest =
        written <= SCRATCH_BYTES - 4
          ? lib.xxh64(new Uint8Array(buffer, byteOffset, written))
          : lib.xxh64(Buffer.from(text, 'utf8'));
      return digest.toString(16).padStart(16, '0');
    },
  };
}

export function wasmHasher(lib: WasmXxhash, fallbackCause?: unknown): ContentHasher {
  return {
    backend: 'wasm',
    // Encodes straight into the wasm memory (TextEncoder.encodeInto) and pads to 16 digits.
    hash64hex: (text: string): string => lib.h64ToString(text),
    ...(fallbackCause === undefined ? {} : { fallbackCause }),
  };
}

/** The send options that decide a message's idempotency id. */
export interface DedupSendOptions {
  id?: string;
  key?: string;
  volatile?: boolean;
  dedup?: 'content';
}

/** Prefix of content-hash ids: names the algorithm, so a change of hash cannot collide. */
export const CONTENT_ID_PREFIX = 'xxh64:';

/**
 * The idempotency id of a send whose data serialized to `json`: the explicit `id`, the
 * content hash's (`xxh64:<hex>`) with `dedup: 'content'`, or none. The `xxh64:` prefix is
 * reserved: an explicit id starting with it is refused (`bad_options`).
 *
 * Content dedup refuses `volatile` and `key`: volatile and keyed (progress) frames repeat the
 * same payload on purpose, and suppressing them is the original's bug (it swallowed its own
 * keep-alive progress frames). Heartbeats never pass through send.
 */
export function idempotencyId(
  json: string,
  options: DedupSendOptions,
  hash: ((json: string) => string) | undefined,
): string | undefined {
  if (options.dedup === undefined) {
    // Content ids share the dedup window with caller ids: a caller id in their namespace
    // could make a later content-deduped send of other data answer `dup: true`, unsent.
    if (options.id?.startsWith(CONTENT_ID_PREFIX) === true)
      throw new RwsError(
        'bad_options',
        `message ids starting with "${CONTENT_ID_PREFIX}" are reserved for dedup: 'content'; choose another id`,
      );
    return options.id;
  }
  if (options.dedup !== 'content')
    throw new RwsError('bad_options', `dedup must be 'content' (got ${String(options.dedup)})`);
  if (options.id !== undefined)
    throw new RwsError(
      'bad_options',
      "give either id or dedup: 'content', not both (the content hash is the id)",
    );
  if (options.volatile === true)
    throw new RwsError('bad_options', "volatile messages are never deduped: drop dedup: 'content'");
  if (options.key !== undefined)
    throw new RwsError(
      'bad_options',
      "keyed (progress) messages are never deduped: drop key or dedup: 'content'",
    );
  if (hash === undefined)
    throw new RwsError(
      'content_hash_unavailable',
      "dedup: 'content' needs a content hasher (HubOptions.contentHash); none is configured",
    );
  return CONTENT_ID_PREFIX + hash(json);
}
