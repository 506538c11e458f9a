/**
 * Key names of the Redis store (docs/scaling.md, "Keys"). Every key of a session and the
 * indexes of its partition share one hash tag, so that one Lua script can update a session
 * and its partition's indexes atomically, and Redis Cluster can place each partition on any
 * shard. Global keys (nodes, generation, dead letters) have tags of their own.
 *
 * Partition tags are precomputed so that their Cluster slots spread evenly: tag i hashes
 * into the i-th of `partitions` equal slot ranges. Bare tags `{0}`, `{1}` … cluster in a few
 * ranges and left half of a 16-shard cluster idle (centrifugal/centrifuge#554).
 */

/** CRC16-CCITT (XMODEM), the hash of Redis Cluster's key slots. */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a hash tag's keys. */
export const slotOf = (tag: string): number => crc16(tag) % 16384;

/**
 * `partitions` tags, tag i in slot range [i·16384/n, (i+1)·16384/n). Deterministic: every
 * node computes the same table.
 */
export function partitionTags(partitions: number): string[] {
  const tags: string[] = [];
  for (let i = 0; i < partitions; i++) {
    const lo = Math.floor((i * 16384) / partitions);
    const hi = Math.floor(((i + 1) * 16384) / partitions);
    for (let n = 0; ; n++) {
      const tag = `p${i}.${n}`;
      const slot = slotOf(tag);
      if (slot >= lo && slot < hi) {
        tags.push(tag);
        break;
      }
    }
  }
  return tags;
}

/** FNV-1a 32-bit: which partition a sid belongs to (any even hash would do). */
export function partitionOf(sid: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) {
    h ^= sid.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

export class RedisKeys {
  readonly tags: string[];

  constructor(
    readonly prefix: string,
    readonly partitions: number,
  ) {
    this.tags = partitionTags(partitions);
  }

  /** The `{tag}` part of every key of `sid`'s partition. */
  partOf(sid: string): string {
    return `${this.prefix}:{${this.tags[partitionOf(sid, this.partitions)]!}}`;
  }

  /** Keys of the partition with index `i` (its indexes). */
  part(i: number): string {
    return `${this.prefix}:{${this.tags[i]!}}`;
  }

  /** Global keys: nodes and the generation. */
  get global(): string {
    return `${this.prefix}:{g}`;
  }

  /** Dead letters. */
  get deadLetters(): string {
    return `${this.prefix}:{d}`;
  }
}
