/**
 * A gauge computed at scrape time by a callback, never by a timer (a timer would run whether
 * or not anyone scrapes, and the original's un-stopped cleanup task leaked every discarded
 * metrics object). Label sets above the cap are summed into the overflow series, and each
 * refused label set is counted once, not once per scrape.
 */
import { foldScrape, RefusedOnce, type FoldedSample } from './labels.js';
import type { Collectable, FamilySnapshot, MetricDefinitionBase } from './types.js';

export interface GaugeDefinition extends MetricDefinitionBase {
  /** The value now: a number (unlabelled), or one value per label set. `undefined`: no sample. */
  collect: () => number | undefined | Iterable<readonly [readonly string[], number]>;
}

export class Gauge implements Collectable {
  readonly name: string;
  private readonly refused: RefusedOnce;

  constructor(
    private readonly def: GaugeDefinition,
    private readonly cap: number,
    onDrop: () => void,
  ) {
    this.name = def.name;
    this.refused = new RefusedOnce(cap, onDrop);
  }

  snapshot(): FamilySnapshot {
    const labelNames = this.def.labelNames ?? [];
    const v = this.def.collect();
    let series: FoldedSample[];
    if (v === undefined) series = [];
    else if (typeof v === 'number') series = [{ labelValues: [], value: v }];
    else series = foldScrape(this.name, labelNames, this.cap, v, this.refused);
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
