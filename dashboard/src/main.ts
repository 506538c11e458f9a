/**
 * The dashboard page (/dashboard): live figures from the stats stream (one snapshot a second
 * shared by every viewer, docs/protocol.md §12.2), 5-minute charts, and panels that call the
 * admin API (breakers, top sessions, dead letters, event log), plus a "try it" client.
 */
import { probe, setToken, streamUrl, token, whenUnauthorized } from './api.js';
import { renderBreakers } from './breakers.js';
import { byId, fill, h, rows, text } from './dom.js';
import { purgeDlq, refreshDlq } from './dlq.js';
import { buildCards, buildCharts, chartPoints, charts, renderCards } from './figures.js';
import * as f from './format.js';
import { addEvents, buildEventFilters, events, loadEvents } from './log-panel.js';
import { eventsMissed, headline, labelled, sameRun, type Snapshot } from './model.js';
import { refreshSessions } from './sessions.js';
import { startTryIt } from './tryit.js';
import { confirmStep } from './ui.js';

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
  text(byId('served'), `node ${s.node} · up ${f.durationMs(s.uptimeMs)}`);
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
    h('dd', {}, o === undefined ? '–' : f.durationMs(o.oldestAgeMs)),
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
// The stream, the token, the polls

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
