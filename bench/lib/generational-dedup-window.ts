/**
 * The dedup window in generations (issue 16, part 6): the same contract as the product's
 * `DedupWindow` (src/store/dedup-window.ts), measured against it by the `dedup-window`
 * benchmark and tested against it as the reference (generational-dedup-window.test.ts). It
 * lives here, not in src/, because it lost: see docs/performance.md ("dedup window").
 *
 * Ids go into the newest generation: a Map from id to slot, and per slot, in recording order,
 * the id, its time and its value (no object per id). A new generation starts when the newest
 * one holds `ceil(maxIds / 2)` slots or is `windowMs` old (one window per generation keeps a
 * miss to two or three Map lookups; `windowMs / 2` made it three or four, and slower). A
 * cursor walks the oldest generation's slots in order as the clock moves: each slot it
 * passes is forgotten (expired, or pushed out by `maxIds`), counted, and left in its Map;
 * once it has passed every slot, the generation is dropped whole. So `size` and every answer
 * are exact to the id and the ms, and forgetting an id is a sequential read, not a delete
 * in a Map of every id. A lookup tries the generations newest first (an id has one Map entry
 * at most); a slot behind the cursor is a miss; a slot in a generation whose earliest time
 * has expired is checked against its own time.
 *
 * `delete`, a re-recorded id and an id found expired behind a fresher one (a clock that
 * stepped back) remove their Map entry at once and leave an empty slot.
 *
 * Bounds (slots: array slots; each generation's Map entries are at most its slots):
 * - ids remembered (`size`) ≤ `maxIds`, the oldest forgotten first, as `DedupWindow`;
 * - slots held ≤ `maxIds + 2 × ceil(maxIds / 2)` (≈ 2 × maxIds): forgotten ids wait in the
 *   oldest generation (at most one generation's slots, ≈ maxIds / 2 beyond `maxIds`), and
 *   once the empty slots left by `delete` and re-recording push the total past the bound,
 *   the generations are rebuilt from the ids remembered (O(slots), after at least
 *   `2 × ceil(maxIds / 2)` new slots: O(1) amortized);
 * - generations held ≤ 6 for a non-decreasing clock: the oldest (where the cursor is), the
 *   newest, and between them only full ones (each started within the last window, so none
 *   ended by time), at most 4 within the slot bound; a rebuild also runs past
 *   `MAX_GENERATIONS`, whatever the clock does.
 */
class Generation<V> {
  /** id → its slot. A forgotten id keeps its entry (its slot is behind the cursor). */
  readonly slots = new Map<string, number>();
  /** Per slot in recording order; `undefined` once deleted or re-recorded. */
  readonly ids: (string | undefined)[] = [];
  readonly at: number[] = [];
  readonly values: V[] = [];
  /** The earliest time recorded here: while `minAt + windowMs > now`, none has expired. */
  minAt: number;
  constructor(readonly startAt: number) {
    this.minAt = startAt;
  }

  push(id: string, value: V, at: number): void {
    this.slots.set(id, this.ids.length);
    this.ids.push(id);
    this.at.push(at);
    this.values.push(value);
    if (at < this.minAt) this.minAt = at;
  }
}

/** A generation holds at most `ceil(maxIds / SHARE)` slots. */
const SHARE = 2;
/** Past this many generations, they are rebuilt (see above). */
const MAX_GENERATIONS = 7;

export class GenerationalDedupWindow<V> {
  /** Oldest first; the last one takes new ids. */
  private gens: Generation<V>[] = [];
  /** Slots of `gens[0]` before this one are forgotten. */
  private cursor = 0;
  private live = 0;
  /** Slots held in every generation, forgotten and empty ones included. */
  private held = 0;
  private readonly genIds: number;
  private readonly genMs: number;
  private readonly maxHeld: number;

  /**
   * @param windowMs how long an id is remembered, ms; an id seen at `t` is forgotten at
   *   `t + windowMs`.
   * @param maxIds most ids remembered; the oldest go first.
   * @param onForget called with each id the window forgets by itself (expired, or pushed out
   *   by `maxIds`); not for `delete` or a re-recorded id.
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxIds: number,
    private readonly onForget?: (id: string) => void,
  ) {
    this.genIds = Math.max(1, Math.ceil(maxIds / SHARE));
    this.genMs = windowMs;
    this.maxHeld = maxIds + 2 * this.genIds;
  }

  get size(): number {
    return this.live;
  }

  /** The value recorded for `id` if it was seen within the window. */
  get(id: string, now: number): V | undefined {
    this.expire(now);
    const gens = this.gens;
    for (let g = gens.length - 1; g >= 0; g--) {
      const gen = gens[g]!;
      const slot = gen.slots.get(id);
      if (slot === undefined) continue;
      if (g === 0 && slot < this.cursor) return undefined;
      // A clock that stepped backwards can leave an expired id behind a fresher one.
      if (gen.minAt + this.windowMs <= now && gen.at[slot]! + this.windowMs <= now) {
        this.clear(gen, slot, id);
        this.onForget?.(id);
        return undefined;
      }
      return gen.values[slot];
    }
    return undefined;
  }

  /** Record `id` as seen at `now`. A re-recorded id moves to the back with its new time. */
  set(id: string, value: V, now: number): void {
    if (this.maxIds <= 0 || this.windowMs <= 0) return;
    this.expire(now);
    this.delete(id);
    let current = this.gens[this.gens.length - 1];
    if (
      current === undefined ||
      current.ids.length >= this.genIds ||
      now - current.startAt >= this.genMs
    ) {
      current = new Generation<V>(now);
      this.gens.push(current);
    }
    current.push(id, value, now);
    this.live++;
    this.held++;
    if (this.live > this.maxIds) this.forgetOldest();
    if (this.held > this.maxHeld || this.gens.length > MAX_GENERATIONS) this.rebuild();
  }

  /**
   * Change the value of a recorded `id`, keeping its time and place (an expired id still here
   * is changed too: the next check drops it). Returns false when `id` is not recorded.
   */
  update(id: string, value: V): boolean {
    const gens = this.gens;
    for (let g = gens.length - 1; g >= 0; g--) {
      const gen = gens[g]!;
      const slot = gen.slots.get(id);
      if (slot === undefined) continue;
      if (g === 0 && slot < this.cursor) return false;
      gen.values[slot] = value;
      return true;
    }
    return false;
  }

  delete(id: string): void {
    const gens = this.gens;
    for (let g = gens.length - 1; g >= 0; g--) {
      const gen = gens[g]!;
      const slot = gen.slots.get(id);
      if (slot === undefined) continue;
      if (g === 0 && slot < this.cursor) gen.slots.delete(id);
      else this.clear(gen, slot, id);
      return;
    }
  }

  /** Forgets a remembered id out of turn: its Map entry goes, its slot stays empty. */
  private clear(gen: Generation<V>, slot: number, id: string): void {
    gen.slots.delete(id);
    gen.ids[slot] = undefined;
    gen.values[slot] = undefined as V; // let the value go with the id
    this.live--;
  }

  /** Moves the cursor past every expired id, dropping the generations it has passed. */
  private expire(now: number): void {
    const gens = this.gens;
    if (gens.length === 0) return;
    let gen = gens[0]!;
    let cursor = this.cursor;
    const windowMs = this.windowMs;
    for (;;) {
      if (cursor < gen.ids.length) {
        const id = gen.ids[cursor];
        if (id !== undefined) {
          if (gen.at[cursor]! + windowMs > now) break;
          this.live--;
          this.onForget?.(id);
        }
        cursor++;
      } else {
        this.drop();
        cursor = 0;
        if (gens.length === 0) break;
        gen = gens[0]!;
      }
    }
    this.cursor = cursor;
  }

  /** `maxIds` is passed: forgets the oldest remembered id. */
  private forgetOldest(): void {
    const gens = this.gens;
    let gen = gens[0]!;
    let cursor = this.cursor;
    for (;;) {
      if (cursor < gen.ids.length) {
        const id = gen.ids[cursor++];
        if (id === undefined) continue;
        this.live--;
        this.onForget?.(id);
        break;
      }
      this.drop();
      gen = gens[0]!; // the newest holds the id just recorded
      cursor = 0;
    }
    this.cursor = cursor;
  }

  /** Drops the oldest generation whole: its cursor has passed every slot. */
  private drop(): void {
    this.held -= this.gens.shift()!.ids.length;
    this.cursor = 0;
  }

  /**
   * Rebuilds every generation from the ids remembered, in order: past `maxHeld` slots (empty
   * slots from `delete` and re-recording) or `MAX_GENERATIONS` generations.
   */
  private rebuild(): void {
    const old = this.gens;
    const gens: Generation<V>[] = [];
    let current: Generation<V> | undefined;
    for (let g = 0; g < old.length; g++) {
      const gen = old[g]!;
      for (let slot = g === 0 ? this.cursor : 0; slot < gen.ids.length; slot++) {
        const id = gen.ids[slot];
        if (id === undefined) continue;
        if (current === undefined || current.ids.length >= this.genIds) {
          current = new Generation<V>(gen.at[slot]!);
          gens.push(current);
        }
        current.push(id, gen.values[slot]!, gen.at[slot]!);
      }
    }
    this.gens = gens;
    this.cursor = 0;
    this.held = this.live;
  }
}
