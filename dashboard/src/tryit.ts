/**
 * "Try it": a real client session in the page (the client SDK over this server's WebSocket
 * endpoint). It sends client messages and shows the answers; "server traffic" has the server
 * push a numbered message to this session every 250 ms (through the admin API, as an
 * application would with `server.send`); "drop connection" cuts the socket (the SDK
 * reconnects and resumes at once); "hold down" keeps it from reconnecting for N seconds while
 * the traffic goes on, so the resume has something to replay. The resume shows `recovered`,
 * `reason`, `missing` and the seqs replayed: the messages the server had assigned before the
 * resume and this page had not yet received.
 */
import { ResilientClient, type WebSocketCtor, type WebSocketLike } from '../../client/index.js';
import { api } from './api.js';
import { byId, fill, h, text } from './dom.js';
import { clockTime } from './format.js';

/** A socket that never connects (the network is "held down"): it fails like a refused one. */
class HeldSocket implements WebSocketLike {
  readyState = 0;
  readonly bufferedAmount = 0;
  private readonly listeners = new Map<string, Array<(ev: unknown) => void>>();
  constructor() {
    setTimeout(() => this.fail(), 30);
  }
  addEventListener(type: string, listener: (ev: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  send(): void {
    throw new Error('not connected');
  }
  close(): void {
    this.fail();
  }
  private fail(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const l of this.listeners.get('error') ?? [])
      l({ message: 'network held down by the page' });
    for (const l of this.listeners.get('close') ?? []) l({ code: 1006, reason: '' });
  }
}

export function startTryIt(o: { onActivity: () => void }): void {
  let client: ResilientClient | undefined;
  let socket: WebSocket | undefined;
  let heldUntil = 0;
  let traffic: ReturnType<typeof setInterval> | undefined;
  let pushed = 0;
  let received = 0;
  /** The highest seq the server assigned to a pushed message (from the admin API's answer). */
  let assigned = 0;
  /** Replay tracking: seqs ≤ `replayUpTo` received after a resume are the replayed ones. */
  let replayUpTo = 0;
  let replayed: number[] = [];
  let replayTimer: ReturnType<typeof setTimeout> | undefined;
  let seen = 0;

  const el = {
    open: byId<HTMLButtonElement>('try-open'),
    traffic: byId<HTMLButtonElement>('try-traffic'),
    drop: byId<HTMLButtonElement>('try-drop'),
    hold: byId<HTMLButtonElement>('try-hold'),
    close: byId<HTMLButtonElement>('try-close'),
    seconds: byId<HTMLInputElement>('try-seconds'),
    form: byId<HTMLFormElement>('try-send'),
    input: byId<HTMLInputElement>('try-text'),
    send: byId<HTMLButtonElement>('try-send-btn'),
    figures: byId('try-figures'),
    resume: byId('try-resume'),
    log: byId('try-log'),
  };

  const log = (line: string): void => {
    el.log.prepend(
      h('li', {}, h('span', { class: 't' }, clockTime(new Date().toISOString())), line),
    );
    while (el.log.children.length > 200) el.log.lastElementChild?.remove();
  };

  const render = (): void => {
    fill(
      el.figures,
      h('dt', {}, 'state'),
      h('dd', { id: 'try-state' }, client?.state ?? 'no session'),
      h('dt', {}, 'session'),
      h('dd', { class: 'mono', id: 'try-sid' }, client?.session?.sid ?? '–'),
      h('dt', {}, 'pushed by the server / received'),
      h('dd', { id: 'try-counts' }, `${pushed} / ${received}`),
      h('dt', {}, 'last seq'),
      h('dd', { id: 'try-seq' }, String(seen)),
      h('dt', {}, 'reconnects · duplicates dropped'),
      h(
        'dd',
        {},
        client === undefined
          ? '–'
          : `${client.stats.reconnects} · ${client.stats.duplicatesDropped}`,
      ),
    );
  };

  const enable = (on: boolean): void => {
    el.open.disabled = on;
    for (const b of [el.traffic, el.drop, el.hold, el.close, el.send, el.input]) b.disabled = !on;
  };

  // A WebSocket constructor the page controls: the SDK gets a held (failing) socket while the
  // network is "down", else a real one that "drop" can close.
  const Socket = function (url: string, protocols?: string | string[]): WebSocketLike {
    if (Date.now() < heldUntil) return new HeldSocket();
    const ws = new WebSocket(url, protocols);
    socket = ws;
    return ws;
  } as unknown as WebSocketCtor;

  const stopTraffic = (): void => {
    if (traffic !== undefined) clearInterval(traffic);
    traffic = undefined;
    el.traffic.setAttribute('aria-pressed', 'false');
    el.traffic.textContent = 'Server traffic: off';
  };

  const push = async (): Promise<void> => {
    const sid = client?.session?.sid;
    if (sid === undefined) return;
    const n = pushed + 1;
    pushed = n;
    try {
      const r = await api<{ seq?: number }>(
        'POST',
        `/api/sessions/${encodeURIComponent(sid)}/messages`,
        {
          data: { n, from: 'try-it' },
        },
      );
      if (r.seq !== undefined) assigned = Math.max(assigned, r.seq);
    } catch (error) {
      log(`push ${n} refused: ${String((error as Error).message)}`);
      stopTraffic();
    }
    render();
  };

  el.open.addEventListener('click', () => {
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    pushed = received = assigned = seen = replayUpTo = 0;
    replayed = [];
    const c = new ResilientClient(url, {
      WebSocket: Socket,
      backoff: { baseMs: 200, capMs: 1000 },
    });
    client = c;
    c.on('open', (e) => {
      log(`open: session ${e.sid}${e.resumed ? ' (resumed)' : ''}`);
      render();
      o.onActivity();
    });
    c.on('resumed', (e) => {
      const line = `recovered=${e.recovered}${e.reason !== undefined ? ` reason=${e.reason}` : ''}${e.missing !== undefined ? ` missing=${e.missing}` : ''}`;
      replayUpTo = assigned;
      replayed = [];
      text(el.resume, `${line} · replaying…`);
      log(`resumed: ${line}`);
      if (replayTimer !== undefined) clearTimeout(replayTimer);
      // The replay follows the welcome at once; 500 ms later it is over.
      replayTimer = setTimeout(() => {
        const seqs = replayed.length === 0 ? 'none' : compact(replayed);
        text(el.resume, `${line} · replayed seqs: ${seqs}`);
        log(`replayed seqs: ${seqs}`);
      }, 500);
    });
    c.on('gap', (e) => log(`gap: ${JSON.stringify(e)}`));
    c.on('message', (m) => {
      received++;
      if (m.seq !== undefined) {
        seen = Math.max(seen, m.seq);
        if (m.seq <= replayUpTo) replayed.push(m.seq);
      }
      if (received <= 3 || received % 20 === 0 || (m.seq !== undefined && m.seq <= replayUpTo))
        log(`message seq ${m.seq ?? '–'}: ${JSON.stringify(m.data)}`);
      render();
    });
    c.on('reconnecting', (e) => {
      log(
        `close ${e.lastCloseCode}${e.reason === '' ? '' : ` (${e.reason})`}, reconnecting (attempt ${e.attempt} in ${e.delayMs} ms)`,
      );
      render();
    });
    c.on('sessionEnded', (e) => log(`session ended by the server: ${e.reason}`));
    c.on('close', (e) => {
      log(`close ${e.code}${e.reason === '' ? '' : ` (${e.reason})`}`);
      stopTraffic();
      enable(false);
      render();
    });
    c.on('error', (e) => log(`error ${e.code}: ${e.message}`));
    c.connect();
    enable(true);
    render();
  });

  el.traffic.addEventListener('click', () => {
    if (traffic !== undefined) return stopTraffic();
    traffic = setInterval(() => void push(), 250);
    el.traffic.setAttribute('aria-pressed', 'true');
    el.traffic.textContent = 'Server traffic: on';
  });

  el.drop.addEventListener('click', () => {
    log('dropping the connection');
    socket?.close(4000, 'dropped by the dashboard');
  });

  el.hold.addEventListener('click', () => {
    const s = Math.max(1, Math.min(60, Number(el.seconds.value) || 3));
    heldUntil = Date.now() + s * 1000;
    log(`network held down for ${s} s`);
    socket?.close(4000, 'held down by the dashboard');
  });

  el.close.addEventListener('click', () => {
    stopTraffic();
    void client?.close();
    log('session ended (bye)');
  });

  el.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = client;
    if (c === undefined) return;
    const data = el.input.value;
    c.send(data).then(
      (reply) => log(`sent ${JSON.stringify(data)} → ok ${JSON.stringify(reply)}`),
      (error: unknown) => log(`sent ${JSON.stringify(data)} → ${String((error as Error).message)}`),
    );
  });

  render();
}

/** 3,4,5,6,9 → "3–6, 9". */
export function compact(seqs: number[]): string {
  const s = [...new Set(seqs)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const start = s[i]!;
    while (i + 1 < s.length && s[i + 1] === s[i]! + 1) i++;
    out.push(start === s[i] ? String(start) : `${start}–${s[i]}`);
  }
  return out.join(', ');
}
