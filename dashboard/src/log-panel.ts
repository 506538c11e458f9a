/** The event log panel: the serving run's notable events (GET /api/events, then the stream's). */
import { EVENT_TYPES } from '../../src/server/event-log.js';
import { api } from './api.js';
import { byId, fill, h } from './dom.js';
import * as f from './format.js';
import { mergeEvents, type LogEvent } from './model.js';

// ---------------------------------------------------------------------------------------
// Event log

const MAX_EVENTS = 500;
/** The serving run's entries, in id order (see `mergeEvents`). */
export const events: LogEvent[] = [];

export function eventItem(e: LogEvent): HTMLLIElement {
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

export function addEvents(list: LogEvent[]): void {
  if (mergeEvents(events, list, MAX_EVENTS)) renderEvents();
}

export function renderEvents(): void {
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

export function buildEventFilters(): void {
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

export async function loadEvents(): Promise<void> {
  try {
    const r = await api<{ events: LogEvent[] }>('GET', '/api/events?limit=200');
    addEvents(r.events);
  } catch {
    // An older server without the event log: the stream's events still fill it.
  }
  renderEvents();
}
