/**
 * A gauge computed at scrape time by a callback, never by a timer (a timer would run whether
 * or not anyone scrapes, and the original's un-stopped cleanup task leaked every discarded
 * metrics object). Label sets above the cap are summed into the overflow series.
 */
import { LabelSets } from './labels.js';
import type { Collectable, FamilySnapshot, MetricDefinitionBase } from './types.js';

export interface GaugeDefinition extends MetricDefinitionBase {
  /** The value now: a number (unlabelled), or one value per label set. `undefined`: no sample. */
  collect: () => number | undefined | Iterable<readonly [readonly string[], number]>;
}

interface Slot {
  labelValues: readonly string[];
  value: number;
}

export class Gauge implements Collectable {
  readonly name: string;

  constructor(
    private readonly def: GaugeDefinition,
    private readonly cap: number,
    private readonly onDrop: () => void,
  ) {
    this.name = def.name;
  }

  snapshot(): FamilySnapshot {
    const labelNames = this.def.labelNames ?? [];
    const v = this.def.collect();
    let series: Slot[];
    if (v === undefined) series = [];
    else if (typeof v === 'number') series = [{ labelValues: [], value: v }];
    else {
      // Built per scrape and dropped after it: the cap bounds the scrape's size.
      const sets = new LabelSets<Slot>(
        this.name,
        labelNames,
        this.cap,
        (labelValues) => ({ labelValues, value: 0 }),
        this.onDrop,
      );
      for (const [values, value] of v) sets.get(values).value += value;
      series = sets.children();
    }
    return {
      name: this.name,
      help: this.def.help,
      type: 'gauge',
      ...(this.def.unit === undefined ? {} : { unit: this.def.unit }),
      labelNames,
      series,
    };
  }
}
