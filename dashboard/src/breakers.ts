/** The breakers panel: each breaker of this node with its state, transitions, reset, force open. */
import { api } from './api.js';
import { byId, h, rows, text } from './dom.js';
import * as f from './format.js';
import { events } from './log-panel.js';
import type { BreakerInfo, Snapshot } from './model.js';
import { showError } from './ui.js';

/** The snapshot shown last (an action's answer updates its breaker at once). */
let shown: Snapshot | undefined;

// ---------------------------------------------------------------------------------------
// Breakers

function breakerTransitions(name: string): string {
  const list = events.filter((e) => e.type === 'breaker' && e.detail?.name === name).slice(-3);
  if (list.length === 0) return '–';
  return list
    .map((e) => `${String(e.detail?.from)}→${String(e.detail?.to)} ${f.clockTime(e.at)}`)
    .join(', ');
}

export function renderBreakers(s: Snapshot): void {
  shown = s;
  const now = Date.parse(s.at);
  const list = (s.breakers ?? []).map((b: BreakerInfo) =>
    h(
      'tr',
      { 'data-breaker': b.name },
      h('td', {}, b.name),
      h('td', {}, h('span', { class: `state state-${b.state}`, 'data-state': b.state }, b.state)),
      h('td', {}, f.ago(b.lastChange?.at ?? null, now)),
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
    if (shown?.breakers !== undefined) {
      shown.breakers = shown.breakers.map((x) => (x.name === name ? { ...x, ...b } : x));
      renderBreakers(shown);
    }
  } catch (error) {
    showError(msg, error);
  }
}
