/**
 * Key layout: the Cluster slot hash, partition tags that spread evenly over the slots, and a
 * sid's keys all under its partition's tag.
 */
import { describe, expect, it } from 'vitest';
import { crc16, partitionOf, partitionTags, RedisKeys, slotOf } from './redis-keys.js';

describe('redis keys', () => {
  it('hashes as Redis Cluster does (CRC16/XMODEM)', () => {
    // The check value of CRC-16/XMODEM, and slots Redis itself gives (CLUSTER KEYSLOT).
    expect(crc16('123456789')).toBe(0x31c3);
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('bar')).toBe(5061);
  });

  it('gives partition i a tag in the i-th of n equal slot ranges, so shards get equal shares', () => {
    for (const n of [1, 16, 64, 256, 1024]) {
      const tags = partitionTags(n);
      expect(new Set(tags).size).toBe(n);
      tags.forEach((tag, i) => {
        const slot = slotOf(tag);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16384) / n));
        expect(slot).toBeLessThan(Math.floor(((i + 1) * 16384) / n));
      });
    }
    // What the table avoids (centrifugal/centrifuge#554): bare tags {0}…{31} leave half of 16
    // equal shards without a partition; the table gives each shard exactly 2.
    const perShard = (tags: string[]) => {
      const c = new Array<number>(16).fill(0);
      for (const t of tags) c[Math.floor(slotOf(t) / 1024)]!++;
      return c;
    };
    expect(
      perShard(Array.from({ length: 32 }, (_, i) => String(i))).filter((c) => c === 0),
    ).toHaveLength(8);
    expect(perShard(partitionTags(32))).toEqual(new Array<number>(16).fill(2));
  });

  it('spreads sids evenly over the partitions', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[partitionOf(`sid-${i}-${i * 7919}`, 64)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it("puts a sid's keys under its partition's tag", () => {
    const keys = new RedisKeys('rws', 64);
    const base = keys.partOf('abc');
    expect(base).toMatch(/^rws:\{p\d+\.\d+\}$/);
    expect(keys.part(partitionOf('abc', 64))).toBe(base);
  });
});
