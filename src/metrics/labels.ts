/**
 * The label sets of one metric, with a hard cap. Past `cap` distinct label sets every new
 * one is folded into a single overflow series (every label value `_overflow`) and counted,
 * so memory is bounded by the cap whatever the traffic sends (the original kept a record
 * per ever-new client id and grew ~350 B per id). A real label set whose every value is
 * `_overflow` is the overflow series itself (never a second series with the same labels).
 */
import { RwsError } from '../errors.js';

/** The label value of the overflow series. */
export const OVERFLOW_VALUE = '_overflow';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function checkLabelNames(metric: string, names: readonly string[]): void {
  for (const n of names) {
    if (!LABEL_NAME.test(n) || n.startsWith('__'))
      throw new RwsError('metric_bad_label', `metric ${metric}: bad label name "${n}"`);
  }
  if (new Set(names).size !== names.length)
    throw new RwsError('metric_bad_label', `metric ${metric}: repeated label name`);
}

/** An injective key: length-prefixed values, so no value can forge another set's key. */
function keyOf(values: readonly string[]): string {
  if (values.length === 1) return values[0]!;
  let key = '';
  for (const v of values) key += `${v.length}:${v}`;
  return key;
}

export class LabelSets<C> {
  private readonly map = new Map<string, C>();
  private overflow: C | undefined;

  /**
   * @param cap most distinct label sets kept (the overflow series comes on top).
   * @param make builds the child of one label set (called once per set).
   * @param onDrop called each time a label set is refused because the cap is reached, with
   *   the set's key (injective: equal keys, equal label sets).
   */
  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly string[],
    private readonly cap: number,
    private readonly make: (values: readonly string[]) => C,
    private readonly onDrop: (key: string) => void,
  ) {}

  get(values: readonly string[]): C {
    if (values.length !== this.labelNames.length)
      throw new RwsError(
        'metric_bad_label',
        `metric ${this.metric} has labels [${this.labelNames.join(', ')}], got ${values.length} value(s)`,
      );
    const key = keyOf(values);
    const found = this.map.get(key);
    if (found !== undefined) return found;
    // The overflow series' own labels: sharing it is not a refusal (nothing is counted).
    if (values.length > 0 && values.every((v) => v === OVERFLOW_VALUE)) return this.overflowChild();
    if (this.map.size < this.cap) {
      const child = this.make([...values]);
      this.map.set(key, child);
      return child;
    }
    this.onDrop(key);
    return this.overflowChild();
  }

  private overflowChild(): C {
    return (this.overflow ??= this.make(this.labelNames.map(() => OVERFLOW_VALUE)));
  }

  /** Number of label sets held, the overflow series included. */
  get size(): number {
    return this.map.size + (this.overflow === undefined ? 0 : 1);
  }

  /** Every child, in creation order, the overflow series last. */
  children(): C[] {
    const all = [...this.map.values()];
    if (this.overflow !== undefined) all.push(this.overflow);
    return all;
  }
}

/**
 * Counts the label sets a metric computed at scrape time refuses, each once rather than once
 * per scrape (its label sets are rebuilt at every scrape, so the same sets are refused again
 * and again). Remembers at most `bound` refused sets: past that, a set not remembered is not
 * counted, so the count may fall short but never grows with the number of scrapes.
 */
export class RefusedOnce {
  private readonly seen = new Set<string>();

  constructor(
    private readonly bound: number,
    private readonly onDrop: () => void,
  ) {}

  /** The `onDrop` of a per-scrape {@link LabelSets}. */
  readonly refuse = (key: string): void => {
    if (this.seen.has(key) || this.seen.size >= this.bound) return;
    this.seen.add(key);
    this.onDrop();
  };
}

/** One sample of a labelled metric computed at scrape time. */
export interface FoldedSample {
  labelValues: readonly string[];
  value: number;
}

/**
 * Folds the samples of one scrape through the label-set cap: samples with the same label
 * values are summed, and those past the cap are summed into the overflow series. The sets are
 * built per scrape and dropped after it, so the cap bounds the scrape's size.
 */
export function foldScrape(
  metric: string,
  labelNames: readonly string[],
  cap: number,
  samples: Iterable<readonly [readonly string[], number]>,
  refused: RefusedOnce,
): FoldedSample[] {
  const sets = new LabelSets<FoldedSample>(
    metric,
    labelNames,
    cap,
    (labelValues) => ({ labelValues, value: 0 }),
    refused.refuse,
  );
  for (const [values, value] of samples) sets.get(values).value += value;
  return sets.children();
}
