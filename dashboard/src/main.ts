/**
 * The dashboard page (/dashboard): live figures from the stats stream (one snapshot a second
 * shared by every viewer, docs/protocol.md §12.2), 5-minute charts, and panels that call the
 * admin API (breakers, top sessions, dead letters, event log), plus a "try it" client.
 */
import { EVENT_TYPES } from '../../src/server/event-log.js';
import { api, ApiError, probe, setToken, streamUrl, token, whenUnauthorized } from './api.js';
import { Chart, type ChartSpec } from './charts.js';
import { byId, fill, h, rows, text } from './dom.js';
import * as f from './format.js';
import {
  headline,
  labelled,
  eventsMissed,
  mergeEvents,
  sameRun,
  type BreakerInfo,
  type Headline,
  type LogEvent,
  type Snapshot,
} from './model.js';
import { startTryIt } from './tryit.js';

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

function buildCards(): void {
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

const charts: Chart[] = [];

function buildCharts(): void {
  const box = byId('charts');
  for (const spec of CHART_SPECS) charts.push(new Chart(spec, box));
  for (const c of charts) c.mount();
}

function chartPoints(x: Headline): Record<string, Record<string, number | null>> {
  return {
    throughput: { out: x.messagesOutPerSecond, in: x.messagesInPerSecond },
    sessions: { connections: x.connections, attached: x.attached, detached: x.detached },
    ack: { p50: x.ackP50, p99: x.ackP99 },
    drops: { drops: x.dropsPerSecond, outbox: x.outboxMessages },
    cpu: { cpu: x.cpu === null ? null : x.cpu * 100, loop: x.loopDelayP99 },
    memory: { rss: x.rssBytes },
  };
}

// ---------------------------------------------------------------------------------------
// State: the last snapshots and the selected view

let view = 'cluster';
let previous: Snapshot | undefined;
let latest: Snapshot | undefined;
/** Snapshots kept to redraw the charts when the view changes (5 minutes). */
const history: Snapshot[] = [];

function onSnapshot(s: Snapshot): void {
  // A restarted server (or another node behind the address) starts its event ids at 1 again:
  // the log shown is the serving run's, read anew (the stream carries only the latest).
  const newRun = latest !== undefined && !sameRun(latest, s);
  if (newRun) events.length = 0;
  history.push(s);
  if (history.length > 301) history.shift();
  previous = latest;
  latest = s;
  const x = headline(previous, s, view);
  renderCards(x, s);
  const t = Date.parse(s.at) / 1000;
  const points = chartPoints(x);
  for (const c of charts) {
    c.push(t, points[c.spec.id] ?? {});
    c.redraw();
  }
  renderNodes(s);
  renderOutbox(s);
  renderCounters(s);
  renderBreakers(s);
  const missed = eventsMissed(events.at(-1)?.id ?? 0, s);
  if (s.events !== undefined) addEvents(s.events);
  if (newRun || missed) void loadEvents();
  text(byId('served'), `node ${s.node} · up ${f.duration(s.uptimeSeconds)}`);
}

/** Recompute the charts for another view from the kept snapshots. */
function replayHistory(): void {
  for (const c of charts) c.ring.clear();
  for (let i = 0; i < history.length; i++) {
    const s = history[i]!;
    const x = headline(history[i - 1], s, view);
    const points = chartPoints(x);
    for (const c of charts) c.push(Date.parse(s.at) / 1000, points[c.spec.id] ?? {});
  }
  for (const c of charts) c.redraw();
  if (latest !== undefined) renderCards(headline(previous, latest, view), latest);
}

function renderCards(x: Headline, s: Snapshot): void {
  for (const c of CARDS) {
    const v = c.key === 'dlq' ? (s.dlq?.size ?? null) : x[c.key];
    text(cardValues.get(c.key)!, c.format(v));
  }
}

function renderNodes(s: Snapshot): void {
  const select = byId<HTMLSelectElement>('view');
  const nodes = s.nodes ?? [
    {
      node: s.node,
      self: true,
      alive: true,
      lastSeen: s.at,
      connections: s.connections,
      attached: s.sessions?.attachedHere ?? 0,
    },
  ];
  const wanted = ['cluster', ...nodes.map((n) => n.node)];
  const have = [...select.options].map((o) => o.value);
  if (wanted.join('\n') !== have.join('\n')) {
    const current = select.value;
    fill(
      select,
      h(
        'option',
        { value: 'cluster' },
        `cluster total (${nodes.filter((n) => n.alive).length} node${nodes.length === 1 ? '' : 's'})`,
      ),
      ...nodes.map((n) =>
        h(
          'option',
          { value: n.node },
          `${n.node}${n.self ? ' (this node)' : ''}${n.alive ? '' : ' (down)'}`,
        ),
      ),
    );
    select.value = wanted.includes(current) ? current : 'cluster';
  }
}

function renderOutbox(s: Snapshot): void {
  const o = s.outbox;
  fill(
    byId('outbox'),
    h('dt', {}, 'messages waiting'),
    h('dd', { id: 'outbox-messages' }, f.count(o?.messages)),
    h('dt', {}, 'bytes'),
    h('dd', {}, f.bytes(o?.bytes)),
    h('dt', {}, 'oldest message'),
    h('dd', {}, o === undefined ? '–' : f.duration(o.oldestAgeSeconds)),
    h('dt', {}, 'sessions'),
    h('dd', {}, f.count(s.sessions?.total)),
    h('dt', {}, 'dead letters'),
    h(
      'dd',
      { id: 'outbox-dlq' },
      `${f.count(s.dlq?.size)}${s.dlq?.bytes === undefined ? '' : `, ${f.bytes(s.dlq.bytes)}`} (evicted ${f.count(s.dlq?.evicted)})`,
    ),
  );
}

function renderCounters(s: Snapshot): void {
  const table = (id: string, metric: string, empty: string) => {
    const list = labelled(previous, s, metric).map((r) =>
      h(
        'tr',
        {},
        h('td', {}, r.label),
        h('td', { class: 'num' }, f.count(r.total)),
        h('td', { class: 'num' }, f.rate(r.perSecond)),
      ),
    );
    rows(
      byId<HTMLTableSectionElement>(id),
      3,
      list,
      s.metrics?.counters === undefined ? 'metrics are off on this server' : empty,
    );
  };
  table('drops', 'rws_messages_dropped_total', 'no message dropped');
  table('dedup', 'rws_dedup_hits_total', 'no duplicate seen');
  table('resumes', 'rws_resumes_total', 'no hello yet');
}

// ---------------------------------------------------------------------------------------
// Breakers

function breakerTransitions(name: string): string {
  const list = events.filter((e) => e.type === 'breaker' && e.detail?.name === name).slice(-3);
  if (list.length === 0) return '–';
  return list
    .map((e) => `${String(e.detail?.from)}→${String(e.detail?.to)} ${f.clockTime(e.at)}`)
    .join(', ');
}

function renderBreakers(s: Snapshot): void {
  const now = Date.parse(s.at);
  const list = (s.breakers ?? []).map((b: BreakerInfo) =>
    h(
      'tr',
      { 'data-breaker': b.name },
      h('td', {}, b.name),
      h('td', {}, h('span', { class: `state state-${b.state}`, 'data-state': b.state }, b.state)),
      h('td', {}, f.ago(b.lastChange ?? null, now)),
      h('td', {}, breakerTransitions(b.name)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            onclick: () => void breakerAction(b.name, 'reset'),
            'aria-label': `reset ${b.name}`,
          },
          'Reset',
        ),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: () => void breakerAction(b.name, 'force-open'),
            'aria-label': `force ${b.name} open`,
          },
          'Force open',
        ),
      ),
    ),
  );
  const tbody = byId<HTMLTableSectionElement>('breakers');
  // Keep the focused button across the 1 s refresh (keyboard users).
  const focused = document.activeElement?.closest('tr')?.getAttribute('data-breaker');
  const label = document.activeElement?.getAttribute('aria-label');
  rows(tbody, 5, list, 'no breaker on this node');
  if (focused !== undefined && focused !== null && label !== null && label !== undefined)
    tbody.querySelector<HTMLButtonElement>(`button[aria-label="${CSS.escape(label)}"]`)?.focus();
}

async function breakerAction(name: string, action: 'reset' | 'force-open'): Promise<void> {
  const msg = byId('breakers-msg');
  try {
    const b = await api<BreakerInfo>('POST', `/api/breakers/${encodeURIComponent(name)}/${action}`);
    msg.className = 'msg';
    text(msg, `${name}: ${b.state}`);
    if (latest?.breakers !== undefined) {
      latest.breakers = latest.breakers.map((x) => (x.name === name ? { ...x, ...b } : x));
      renderBreakers(latest);
    }
  } catch (error) {
    showError(msg, error);
  }
}

// ---------------------------------------------------------------------------------------
// Top sessions and the session detail

interface SessionView {
  sid: string;
  attached: boolean;
  attachedHere?: boolean;
  node?: string;
  depth: number;
  bytes: number;
  oldestAgeSeconds: number;
  last: number;
  acked: number;
  [field: string]: unknown;
}

let detailSid: string | undefined;
const armed = new Map<string, number>();

/** A two-step button: the first press arms it for 3 s, the second acts. */
function confirmStep(key: string, button: HTMLButtonElement, label: string, act: () => void): void {
  const until = armed.get(key) ?? 0;
  if (Date.now() < until) {
    armed.delete(key);
    act();
    return;
  }
  armed.set(key, Date.now() + 3000);
  button.textContent = `Confirm ${label}`;
  setTimeout(() => {
    if (button.isConnected) button.textContent = label;
  }, 3000);
}

async function refreshSessions(): Promise<void> {
  const sort = byId<HTMLSelectElement>('sessions-sort').value;
  const msg = byId('sessions-msg');
  try {
    const r = await api<{ total: number; sessions: SessionView[] }>(
      'GET',
      `/api/sessions?sort=${sort}&limit=10`,
    );
    text(byId('sessions-total'), `${f.count(r.total)} sessions in all; the 10 first shown`);
    const list = r.sessions.map((s) => {
      const kick = h(
        'button',
        { type: 'button', class: 'danger', 'aria-label': `kick ${s.sid}` },
        'Kick',
      );
      kick.addEventListener('click', () =>
        confirmStep(`kick:${s.sid}`, kick, 'Kick', () => void kickSession(s.sid)),
      );
      return h(
        'tr',
        { 'data-sid': s.sid },
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'link mono',
              onclick: () => void showSession(s.sid),
              'aria-label': `details of ${s.sid}`,
            },
            s.sid,
          ),
        ),
        h(
          'td',
          {},
          s.attached ? `attached${s.node !== undefined ? ` (${s.node})` : ''}` : 'detached',
        ),
        h('td', { class: 'num' }, f.count(s.depth)),
        h('td', { class: 'num' }, f.bytes(s.bytes)),
        h('td', { class: 'num' }, f.duration(s.oldestAgeSeconds)),
        h('td', { class: 'num' }, `${s.last} / ${s.acked}`),
        h('td', {}, kick),
      );
    });
    const focusedLabel = document.activeElement?.closest('#sessions')
      ? document.activeElement.getAttribute('aria-label')
      : null;
    rows(
      byId<HTMLTableSectionElement>('sessions'),
      7,
      list,
      'no session yet: connect a client, or open one in "Try it" below',
    );
    if (focusedLabel !== null)
      byId('sessions')
        .querySelector<HTMLButtonElement>(`button[aria-label="${CSS.escape(focusedLabel)}"]`)
        ?.focus();
    // A failed refresh's error goes once the next one succeeds; an action's message stays.
    if (msg.classList.contains('error')) {
      msg.className = 'msg';
      text(msg, '');
    }
    if (detailSid !== undefined) void showSession(detailSid, false);
  } catch (error) {
    showError(msg, error);
  }
}

async function kickSession(sid: string): Promise<void> {
  const msg = byId('sessions-msg');
  try {
    await api('DELETE', `/api/sessions/${encodeURIComponent(sid)}`);
    msg.className = 'msg';
    text(msg, `session ${sid} ended`);
    if (detailSid === sid) closeDetail();
    void refreshSessions();
  } catch (error) {
    showError(msg, error);
  }
}

async function showSession(sid: string, focus = true): Promise<void> {
  const box = byId('session-detail');
  // The session chosen now: an answer for an earlier choice, or one that arrives after Close,
  // is dropped (the 2 s refresh asks again for the one shown).
  detailSid = sid;
  try {
    const s = await api<SessionView>('GET', `/api/sessions/${encodeURIComponent(sid)}`);
    if (detailSid !== sid) return;
    box.hidden = false;
    const close = h('button', { type: 'button', onclick: closeDetail }, 'Close');
    const recent = events.filter((e) => e.sid === sid).slice(-10);
    fill(
      box,
      h('h3', {}, 'Session ', h('code', {}, sid)),
      h(
        'dl',
        { class: 'figures' },
        ...Object.entries(s).flatMap(([k, v]) => [
          h('dt', {}, k),
          h('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)),
        ]),
      ),
      h('p', {}, recent.length === 0 ? 'No logged event for this session.' : 'Its latest events:'),
      recent.length === 0 ? null : h('ol', { class: 'log' }, ...recent.map(eventItem)),
      close,
    );
    if (focus) close.focus();
  } catch (error) {
    if (detailSid !== sid) return;
    if (error instanceof ApiError && error.status === 404) {
      fill(
        box,
        h('p', {}, 'Session ', h('code', {}, sid), ' no longer exists.'),
        h('button', { type: 'button', onclick: closeDetail }, 'Close'),
      );
      detailSid = undefined;
    } else showError(byId('sessions-msg'), error);
  }
}

function closeDetail(): void {
  detailSid = undefined;
  const box = byId('session-detail');
  box.hidden = true;
  box.replaceChildren();
}

// ---------------------------------------------------------------------------------------
// Dead letters

interface DeadLetterView {
  id: string | number;
  sid: string;
  seq?: number;
  reason: string;
  at: number;
  data: unknown;
}

function dlqFilter(): string {
  const q = new URLSearchParams();
  const reason = byId<HTMLSelectElement>('dlq-reason').value;
  const sid = byId<HTMLInputElement>('dlq-sid').value.trim();
  if (reason !== '') q.set('reason', reason);
  if (sid !== '') q.set('sid', sid);
  return q.toString();
}

async function refreshDlq(): Promise<void> {
  const msg = byId('dlq-msg');
  try {
    const filter = dlqFilter();
    const r = await api<{
      size: number;
      evicted: number;
      entries: DeadLetterView[];
      next?: string;
    }>('GET', `/api/dlq?limit=20${filter === '' ? '' : `&${filter}`}`);
    text(
      byId('dlq-total'),
      `${f.count(r.size)} held, ${f.count(r.evicted)} evicted${r.next !== undefined ? '; the 20 oldest matching shown' : ''}`,
    );
    const list = r.entries.map((e) => {
      const replay = h(
        'button',
        {
          type: 'button',
          'aria-label': `replay dead letter ${e.id}`,
          onclick: () => void replayDeadLetter(e.id),
        },
        'Replay',
      );
      const data = JSON.stringify(e.data);
      return h(
        'tr',
        { 'data-dlq': String(e.id) },
        h('td', { class: 'mono' }, String(e.id)),
        h('td', { class: 'mono' }, e.sid),
        h('td', { class: 'num' }, e.seq === undefined ? '–' : e.seq),
        h('td', {}, e.reason),
        h('td', {}, f.clockTime(new Date(e.at).toISOString())),
        h(
          'td',
          { class: 'data mono', title: data },
          data.length > 80 ? `${data.slice(0, 80)}…` : data,
        ),
        h('td', {}, replay),
      );
    });
    rows(
      byId<HTMLTableSectionElement>('dlq'),
      7,
      list,
      filter === '' ? 'the dead-letter queue is empty' : 'no dead letter matches the filter',
    );
  } catch (error) {
    showError(msg, error);
  }
}

async function replayDeadLetter(id: string | number): Promise<void> {
  const msg = byId('dlq-msg');
  try {
    const r = await api<{ sid: string; seq?: number; delivered?: boolean }>(
      'POST',
      `/api/dlq/${encodeURIComponent(String(id))}/replay`,
    );
    msg.className = 'msg';
    text(
      msg,
      `dead letter ${id} replayed to ${r.sid}${r.seq !== undefined ? ` as seq ${r.seq}` : ''}`,
    );
    void refreshDlq();
  } catch (error) {
    showError(msg, error);
  }
}

async function purgeDlq(): Promise<void> {
  const msg = byId('dlq-msg');
  try {
    const filter = dlqFilter();
    const r = await api<{ purged: number }>(
      'DELETE',
      `/api/dlq${filter === '' ? '' : `?${filter}`}`,
    );
    msg.className = 'msg';
    text(msg, `${r.purged} dead letter${r.purged === 1 ? '' : 's'} purged`);
    void refreshDlq();
  } catch (error) {
    showError(msg, error);
  }
}

// ---------------------------------------------------------------------------------------
// Event log

const MAX_EVENTS = 500;
/** The serving run's entries, in id order (see `mergeEvents`). */
const events: LogEvent[] = [];

function eventItem(e: LogEvent): HTMLLIElement {
  const detail = Object.entries(e.detail ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return h(
    'li',
    { 'data-type': e.type },
    h('span', { class: 't' }, f.clockTime(e.at)),
    h('span', { class: `k k-${e.type}` }, e.type),
    e.sid === undefined ? null : h('code', {}, e.sid, ' '),
    detail,
  );
}

function addEvents(list: LogEvent[]): void {
  if (mergeEvents(events, list, MAX_EVENTS)) renderEvents();
}

function renderEvents(): void {
  const types = new Set(
    [...document.querySelectorAll<HTMLInputElement>('#events-types input:checked')].map(
      (i) => i.value,
    ),
  );
  const sid = byId<HTMLInputElement>('events-sid').value.trim();
  const shown = events
    .filter((e) => types.has(e.type) && (sid === '' || (e.sid ?? '').includes(sid)))
    .slice(-200)
    .reverse();
  const log = byId('events');
  if (shown.length === 0)
    fill(
      log,
      h(
        'li',
        { class: 'empty' },
        events.length === 0
          ? 'No event yet: resumes, gaps, breaker changes, overflows, reaps and takeovers appear here.'
          : 'No event matches the filter.',
      ),
    );
  else log.replaceChildren(...shown.map(eventItem));
}

function buildEventFilters(): void {
  const box = byId('events-types');
  for (const t of EVENT_TYPES)
    box.append(
      h(
        'label',
        { class: 'inline' },
        h('input', { type: 'checkbox', value: t, checked: true, onchange: renderEvents }),
        t,
      ),
    );
  byId('events-sid').addEventListener('input', renderEvents);
}

async function loadEvents(): Promise<void> {
  try {
    const r = await api<{ events: LogEvent[] }>('GET', '/api/events?limit=200');
    addEvents(r.events);
  } catch {
    // An older server without the event log: the stream's events still fill it.
  }
  renderEvents();
}

// ---------------------------------------------------------------------------------------
// The stream, the token, the polls

function showError(el: HTMLElement, error: unknown): void {
  el.className = 'msg error';
  text(el, error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
}

let source: EventSource | undefined;

function openStream(): void {
  source?.close();
  const status = byId('stream');
  const s = new EventSource(streamUrl());
  source = s;
  s.onopen = () => {
    status.className = 'status live';
    text(status, 'live');
  };
  s.onmessage = (ev: MessageEvent<string>) => {
    try {
      onSnapshot(JSON.parse(ev.data) as Snapshot);
    } catch (error) {
      console.warn('bad snapshot', error);
    }
  };
  s.onerror = () => {
    status.className = 'status down';
    text(status, 'reconnecting…');
    // A closed EventSource (an HTTP error such as 401 or 503) does not retry by itself.
    if (s.readyState === EventSource.CLOSED && source === s) setTimeout(() => void connect(), 2000);
  };
}

async function connect(): Promise<void> {
  const ok = await probe();
  if (ok !== true) {
    if (ok.status === 401) return askToken(token() === '' ? '' : 'that token was refused');
    const status = byId('stream');
    status.className = 'status down';
    text(status, ok.status === 0 ? 'server unreachable' : ok.code);
    setTimeout(() => void connect(), 2000);
    return;
  }
  openStream();
  void loadEvents();
  void refreshSessions();
  void refreshDlq();
}

function askToken(error: string): void {
  const dialog = byId<HTMLDialogElement>('login');
  text(byId('login-error'), error);
  if (!dialog.open) dialog.showModal();
  byId('login-token').focus();
}

function setupLogin(): void {
  whenUnauthorized(() => askToken('the admin token was refused'));
  byId('login-form').addEventListener('submit', () => {
    setToken(byId<HTMLInputElement>('login-token').value.trim());
    void connect();
  });
}

/** Sections on screen now: a list the viewer cannot see is not polled. */
const onScreen = new Set<string>();
const watcher =
  typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
        for (const e of entries) {
          if (e.isIntersecting) onScreen.add(e.target.id);
          else onScreen.delete(e.target.id);
        }
      })
    : undefined;

/**
 * Poll `f` every `ms` while the tab is visible, the stream is up and the `section` is on
 * screen: each poll is a request of this viewer alone (the snapshot is shared, the lists are
 * not), so a hidden tab or a scrolled-away list costs the server nothing.
 */
function every(ms: number, section: string, f: () => Promise<void>): void {
  const el = byId(section);
  if (watcher === undefined) onScreen.add(section);
  else watcher.observe(el);
  setInterval(() => {
    if (
      document.visibilityState === 'visible' &&
      source?.readyState === EventSource.OPEN &&
      onScreen.has(section)
    )
      void f();
  }, ms);
}

function start(): void {
  buildCards();
  buildCharts();
  buildEventFilters();
  setupLogin();
  byId<HTMLSelectElement>('view').addEventListener('change', (ev) => {
    view = (ev.target as HTMLSelectElement).value;
    replayHistory();
  });
  byId('sessions-sort').addEventListener('change', () => void refreshSessions());
  byId('dlq-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void refreshDlq();
  });
  const purge = byId<HTMLButtonElement>('dlq-purge');
  purge.addEventListener('click', () =>
    confirmStep('purge', purge, 'Purge matching…', () => void purgeDlq()),
  );
  every(2000, 'sessions-panel', refreshSessions);
  every(3000, 'dlq-panel', refreshDlq);
  startTryIt({ onActivity: () => void refreshSessions() });
  void connect();
}

start();
