/** The headline cards and the 5-minute charts: what they show, built once, fed per snapshot. */
import { Chart, type ChartSpec } from './charts.js';
import { byId, h, text } from './dom.js';
import * as f from './format.js';
import type { Headline, Snapshot } from './model.js';

// ---------------------------------------------------------------------------------------
// Headline cards

interface Card {
  key: keyof Headline | 'dlq';
  label: string;
  format: (v: number | null) => string;
}

const CARDS: Card[] = [
  { key: 'connections', label: 'Connections', format: f.count },
  { key: 'attached', label: 'Sessions attached', format: f.count },
  { key: 'detached', label: 'Sessions detached', format: f.count },
  { key: 'messagesOutPerSecond', label: 'Messages out /s', format: f.rate },
  { key: 'messagesInPerSecond', label: 'Messages in /s', format: f.rate },
  { key: 'ackP50', label: 'Ack latency p50', format: f.duration },
  { key: 'ackP99', label: 'Ack latency p99', format: f.duration },
  { key: 'dropsPerSecond', label: 'Drops /s', format: f.rate },
  { key: 'cpu', label: 'CPU (of one core)', format: f.percent },
  { key: 'rssBytes', label: 'Memory (RSS)', format: f.bytes },
  { key: 'loopDelayP99', label: 'Event-loop delay p99', format: f.duration },
  { key: 'dlq', label: 'Dead letters', format: f.count },
];

const cardValues = new Map<string, HTMLElement>();

export function buildCards(): void {
  const box = byId('cards');
  for (const c of CARDS) {
    const value = h('div', { class: 'value', id: `card-${c.key}` }, '–');
    cardValues.set(c.key, value);
    box.append(h('div', { class: 'card' }, h('div', { class: 'label' }, c.label), value));
  }
}

// ---------------------------------------------------------------------------------------
// Charts

const ms = (v: number) =>
  v >= 1 ? `${v.toFixed(1)} s` : `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms`;
const CHART_SPECS: ChartSpec[] = [
  {
    id: 'throughput',
    title: 'Messages per second',
    series: [
      { name: 'out', label: 'out', stroke: '#1f6feb' },
      { name: 'in', label: 'in', stroke: '#8250df' },
    ],
    unit: (v) => f.rate(v),
  },
  {
    id: 'sessions',
    title: 'Connections and sessions',
    series: [
      { name: 'connections', label: 'connections', stroke: '#1f6feb' },
      { name: 'attached', label: 'attached', stroke: '#1a7f37' },
      { name: 'detached', label: 'detached', stroke: '#9a6700' },
    ],
    unit: (v) => f.count(v),
  },
  {
    id: 'ack',
    title: 'Ack latency',
    series: [
      { name: 'p50', label: 'p50', stroke: '#1a7f37' },
      { name: 'p99', label: 'p99', stroke: '#cf222e' },
    ],
    unit: ms,
  },
  {
    id: 'drops',
    title: 'Drops per second and outbox depth',
    series: [
      { name: 'drops', label: 'drops /s', stroke: '#cf222e' },
      { name: 'outbox', label: 'outbox messages', stroke: '#57606a', scale: 'outbox' },
    ],
    unit: (v) => f.rate(v),
    secondUnit: { scale: 'outbox', unit: (v) => f.count(v) },
  },
  {
    id: 'cpu',
    title: 'CPU and event-loop delay p99',
    series: [
      { name: 'cpu', label: 'CPU %', stroke: '#1f6feb' },
      { name: 'loop', label: 'loop delay p99', stroke: '#9a6700', scale: 'loop' },
    ],
    unit: (v) => `${v.toFixed(0)} %`,
    secondUnit: { scale: 'loop', unit: ms },
  },
  {
    id: 'memory',
    title: 'Memory (RSS)',
    series: [{ name: 'rss', label: 'RSS', stroke: '#8250df' }],
    unit: (v) => f.bytes(v),
  },
];

export const charts: Chart[] = [];

export function buildCharts(): void {
  const box = byId('charts');
  for (const spec of CHART_SPECS) charts.push(new Chart(spec, box));
  for (const c of charts) c.mount();
}

export function chartPoints(x: Headline): Record<string, Record<string, number | null>> {
  return {
    throughput: { out: x.messagesOutPerSecond, in: x.messagesInPerSecond },
    sessions: { connections: x.connections, attached: x.attached, detached: x.detached },
    ack: { p50: x.ackP50, p99: x.ackP99 },
    drops: { drops: x.dropsPerSecond, outbox: x.outboxMessages },
    cpu: { cpu: x.cpu === null ? null : x.cpu * 100, loop: x.loopDelayP99 },
    memory: { rss: x.rssBytes },
  };
}

export function renderCards(x: Headline, s: Snapshot): void {
  for (const c of CARDS) {
    const v = c.key === 'dlq' ? (s.dlq?.size ?? null) : x[c.key];
    text(cardValues.get(c.key)!, c.format(v));
  }
}
