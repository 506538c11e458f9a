/** The top-sessions panel: the top 10 by depth or age (never the full list), kick, the detail. */
import { api, ApiError } from './api.js';
import { byId, fill, h, rows, text } from './dom.js';
import * as f from './format.js';
import { eventItem, events } from './log-panel.js';
import { confirmStep, isArmed, showError } from './ui.js';

// ---------------------------------------------------------------------------------------
// Top sessions and the session detail

interface SessionView {
  sid: string;
  attached: boolean;
  attachedHere?: boolean;
  node?: string;
  depth: number;
  bytes: number;
  oldestAgeMs: number;
  last: number;
  acked: number;
  [field: string]: unknown;
}

let detailSid: string | undefined;

export async function refreshSessions(): Promise<void> {
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
        // Still armed across the 2 s refresh that rebuilt the button.
        isArmed(`kick:${s.sid}`) ? 'Confirm Kick' : 'Kick',
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
        h('td', { class: 'num' }, f.durationMs(s.oldestAgeMs)),
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
