/** The 5-minute charts: one uPlot per chart, fed from a SeriesRing, resized with its box. */
import uPlot from 'uplot';
import { h } from './dom.js';
import { SeriesRing } from './series.js';

export interface ChartSpec {
  id: string;
  title: string;
  /** Series: name (the ring's key), label, colour, scale ("y" or a second one). */
  series: Array<{ name: string; label: string; stroke: string; scale?: string }>;
  /** Formats axis values. */
  unit: (v: number) => string;
  /** A second axis for series on another scale. */
  secondUnit?: { scale: string; unit: (v: number) => string };
}

/** An axis wide enough for its longest label ("190.7 MiB" was clipped at a fixed 60 px). */
const axisWidth = (_u: uPlot, values: string[] | null): number =>
  values === null || values.length === 0
    ? 40
    : 16 + 7 * Math.max(...values.map((v) => String(v).length));

/** 5 minutes of 1 s snapshots. */
export const WINDOW_POINTS = 300;

export class Chart {
  readonly ring: SeriesRing;
  private plot: uPlot | undefined;
  private readonly box: HTMLElement;

  constructor(
    readonly spec: ChartSpec,
    parent: HTMLElement,
  ) {
    this.ring = new SeriesRing(
      spec.series.map((s) => s.name),
      WINDOW_POINTS,
    );
    this.box = h('div', { class: 'plot' });
    parent.append(
      h(
        'figure',
        { class: 'chart', id: `chart-${spec.id}`, 'aria-label': spec.title },
        h('h3', {}, spec.title),
        this.box,
      ),
    );
  }

  /** Create the plot (after the box is in the document, so it has a width). */
  mount(): void {
    const width = Math.max(240, this.box.clientWidth);
    const axes: uPlot.Axis[] = [
      { stroke: '#5b6470', grid: { stroke: '#eceef1' }, ticks: { stroke: '#d9dde3' } },
      {
        stroke: '#5b6470',
        grid: { stroke: '#eceef1' },
        ticks: { stroke: '#d9dde3' },
        size: axisWidth,
        values: (_u, vals) => vals.map((v) => this.spec.unit(v)),
      },
    ];
    const scales: uPlot.Scales = {
      x: { time: true },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    };
    const second = this.spec.secondUnit;
    if (second !== undefined) {
      scales[second.scale] = { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] };
      axes.push({
        scale: second.scale,
        side: 1,
        grid: { show: false },
        stroke: '#5b6470',
        size: axisWidth,
        values: (_u, vals) => vals.map((v) => second.unit(v)),
      });
    }
    this.plot = new uPlot(
      {
        width,
        height: 150,
        scales,
        axes,
        legend: { show: true, live: false },
        cursor: { show: false },
        series: [
          {},
          ...this.spec.series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 1.5,
            scale: s.scale ?? 'y',
            spanGaps: false,
            points: { show: false },
          })),
        ],
      },
      this.ring.columns(),
      this.box,
    );
    new ResizeObserver(() => {
      const w = Math.max(240, this.box.clientWidth);
      if (this.plot !== undefined && Math.abs(this.plot.width - w) > 2)
        this.plot.setSize({ width: w, height: 150 });
    }).observe(this.box);
  }

  push(timeSeconds: number, point: Partial<Record<string, number | null>>): void {
    this.ring.push(timeSeconds, point);
  }

  redraw(): void {
    this.plot?.setData(this.ring.columns());
  }

  clear(): void {
    this.ring.clear();
    this.redraw();
  }
}
