/**
 * The label sets of one metric, with a hard cap. Past `cap` distinct label sets every new
 * one is folded into a single overflow series (every label value `_overflow`) and counted,
 * so memory is bounded by the cap whatever the traffic sends (the original kept a record
 * per ever-new client id and grew ~350 B per id).
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
   * @param onDrop called each time a label set is refused because the cap is reached.
   */
  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly string[],
    private readonly cap: number,
    private readonly make: (values: readonly string[]) => C,
    private readonly onDrop: () => void,
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
    if (this.map.size < this.cap) {
      const child = this.make([...values]);
      this.map.set(key, child);
      return child;
    }
    this.onDrop();
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
