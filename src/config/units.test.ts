import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['0s', 0],
    ['1500', 1500],
    [' 30S ', 30_000],
    ['5M', 300_000],
    ['250MS', 250],
    [1500, 1500],
    [0, 0],
  ])('reads %j as %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['-1'],
    ['-5s'],
    [-1],
    ['1.5ms'],
    [1.5],
    ['abc'],
    [''],
    ['30 s'],
    ['30sec'],
    ['30s junk'],
    ['30s5'],
    ['1e3'],
    ['0x10'],
    ['5d'],
    ['.5s'],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
  ])('rejects %j', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('parseSize', () => {
  it.each([
    ['64kb', 65_536],
    ['1mb', 1_048_576],
    ['1gb', 1_073_741_824],
    ['512b', 512],
    ['1KB', 1024],
    ['1Mb', 1_048_576],
    ['0.5kb', 512],
    ['1000', 1000],
    [4096, 4096],
  ])('reads %j as %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([
    ['-1kb'],
    [-1],
    ['1.1b'],
    ['1.5'],
    [10.5],
    ['1.1kb'],
    ['1mib'],
    ['1m'],
    ['lots'],
    ['1mb!'],
    ['mb'],
  ])('rejects %j', (input) => {
    expect(parseSize(input)).toBeUndefined();
  });
});

describe('formatting', () => {
  it('shows durations as docs/configuration.md writes them', () => {
    expect(formatDuration(300_000)).toBe('300s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(0)).toBe('0s');
  });

  it('shows sizes in the largest exact 1024-based unit', () => {
    expect(formatSize(1_048_576)).toBe('1mb');
    expect(formatSize(65_536)).toBe('64kb');
    expect(formatSize(1000)).toBe('1000b');
    expect(formatSize(2 * 1_073_741_824)).toBe('2gb');
    expect(formatSize(0)).toBe('0b');
  });

  it('round-trips through the parsers', () => {
    for (const ms of [0, 1, 999, 1000, 25_000, 300_000, 3_600_000, 5_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
    for (const bytes of [0, 1, 1000, 1024, 1536, 1_048_576, 3 * 1_073_741_824]) {
      expect(parseSize(formatSize(bytes))).toBe(bytes);
    }
  });
});
