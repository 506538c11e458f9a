/** The dead-letter panel: the oldest 20 matching a filter, replay one, purge the matching. */
import { api } from './api.js';
import { byId, h, rows, text } from './dom.js';
import * as f from './format.js';
import { showError } from './ui.js';

// ---------------------------------------------------------------------------------------
// Dead letters

interface DeadLetterView {
  id: string | number;
  sid: string;
  seq?: number;
  reason: string;
  /** ISO time. */
  at: string;
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

export async function refreshDlq(): Promise<void> {
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
        h('td', {}, f.clockTime(e.at)),
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

export async function purgeDlq(): Promise<void> {
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
