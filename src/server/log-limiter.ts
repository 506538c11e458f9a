/**
 * Rate limit for repeated log lines: the first line of a key is written at once; further lines
 * of that key within the window are counted, and when the window ends one line says how many
 * there were (`repeated: N`). So a flood of identical warnings (an upstream that is down, a
 * client that sends garbage in a loop) costs one line per key per window, and nothing is
 * hidden: every suppressed line is in a count.
 */
import type { Clock, TimerHandle } from '../clock.js';

export type LineLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface LogLine {
  readonly level: LineLevel;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg: string;
}

export interface RepeatLimiterOptions {
  /** Length of a key's window; default 10 s. */
  readonly windowMs?: number;
  /** Most keys tracked at once; lines of further keys are counted together. Default 1000. */
  readonly maxKeys?: number;
}

interface Entry {
  start: number;
  suppressed: number;
  last: LogLine;
}

export class RepeatLimiter {
  private readonly windowMs: number;
  private readonly maxKeys: number;
  // Insertion order is window-start order (a renewed window is re-inserted), so the entries
  // whose window ended are always a prefix: expiry never scans the whole map.
  private readonly entries = new Map<string, Entry>();
  private overflow = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly write: (line: LogLine) => void,
    private readonly clock: Clock,
    options: RepeatLimiterOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 10_000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /** Writes `line` unless a line of `key` was written within the window; then counts it. */
  log(key: string, line: LogLine): void {
    this.expire(this.clock.now());
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.suppressed++;
      entry.last = line;
      this.arm();
    } else if (this.entries.size >= this.maxKeys) {
      this.overflow++;
      this.arm();
    } else {
      this.entries.set(key, { start: this.clock.now(), suppressed: 0, last: line });
      this.write(line);
    }
  }

  /** Writes every pending count now (at shutdown) and forgets all keys. */
  flush(): void {
    for (const entry of this.entries.values()) this.report(entry);
    this.entries.clear();
    this.reportOverflow();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.start < this.windowMs) break;
      this.entries.delete(key);
      if (entry.suppressed > 0) {
        this.report(entry);
        // The count line opens a new window: under a steady flood, one line per window.
        this.entries.set(key, { start: now, suppressed: 0, last: entry.last });
      }
    }
  }

  private report(entry: Entry): void {
    if (entry.suppressed === 0) return;
    const { level, fields, msg } = entry.last;
    this.write({ level, fields: { ...fields, repeated: entry.suppressed }, msg });
  }

  private reportOverflow(): void {
    if (this.overflow === 0) return;
    this.write({
      level: 'warn',
      fields: { repeated: this.overflow, maxKeys: this.maxKeys },
      msg: 'log lines suppressed: too many distinct repeated lines at once',
    });
    this.overflow = 0;
  }

  // One timer, only while there is a count to report, so that a count is written even when
  // no further line of its key ever comes.
  private arm(): void {
    this.timer ??= this.clock.every(this.windowMs, () => {
      this.expire(this.clock.now());
      this.reportOverflow();
      if ([...this.entries.values()].every((e) => e.suppressed === 0)) {
        this.timer?.cancel();
        this.timer = undefined;
      }
    });
  }
}
