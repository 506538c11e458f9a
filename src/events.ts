/**
 * A tiny typed event emitter. `emit` with no listener is one property read and a branch, so
 * an event that nobody observes costs nothing measurable; callers that would compute a
 * payload can check `has(name)` first.
 */
export type EventMap = { [name: string]: unknown };
export type Listener<T> = (payload: T) => void;

export class Emitter<E extends EventMap> {
  private readonly listeners: { [K in keyof E]?: Listener<E[K]>[] } = {};

  on<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    const list = (this.listeners[name] ??= []);
    list.push(fn);
    return () => this.off(name, fn);
  }

  once<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    const wrapper: Listener<E[K]> & { original?: Listener<E[K]> } = (payload) => {
      off();
      fn(payload);
    };
    wrapper.original = fn;
    const off = this.on(name, wrapper);
    return off;
  }

  off<K extends keyof E>(name: K, fn: Listener<E[K]>): void {
    const list = this.listeners[name];
    if (list === undefined) return;
    const i = list.findIndex(
      (l) => l === fn || (l as { original?: Listener<E[K]> }).original === fn,
    );
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) delete this.listeners[name];
  }

  has<K extends keyof E>(name: K): boolean {
    return this.listeners[name] !== undefined;
  }

  emit<K extends keyof E>(name: K, payload: E[K]): void {
    const list = this.listeners[name];
    if (list === undefined) return;
    if (list.length === 1) {
      list[0]!(payload);
      return;
    }
    for (const fn of list.slice()) fn(payload);
  }
}
