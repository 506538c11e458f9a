/** A small DOM builder. Text always goes in as text (textContent): nothing from the server
 *  (session ids, dead-letter data, breaker names) is ever parsed as HTML. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replace an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no element #${id}`);
  return el as T;
}

/** Set a text only when it changed (no needless layout work every second). */
export function text(el: Element, value: string): void {
  if (el.textContent !== value) el.textContent = value;
}

/** A table body from rows; an empty list shows `empty` across the columns. */
export function rows(
  tbody: HTMLTableSectionElement,
  columns: number,
  list: Node[],
  empty: string,
): void {
  if (list.length === 0) {
    fill(tbody, h('tr', { class: 'empty' }, h('td', { colspan: columns }, empty)));
    return;
  }
  tbody.replaceChildren(...list);
}
