/**
 * A tiny typed event emitter. Listeners run synchronously in registration order; one that
 * throws is reported to `onListenerError` and never stops the others, because the emitter
 * is called from socket callbacks where an exception would break delivery.
 */
export type Listener<T> = (payload: T) => void;

export class Emitter<E extends object> {
  private readonly listeners: { [K in keyof E]?: Listener<E[K]>[] } = {};

  constructor(private readonly onListenerError: (error: unknown, event: keyof E) => void) {}

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    (this.listeners[event] ??= []).push(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      fn(payload);
    });
    return off;
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) delete this.listeners[event];
  }

  has<K extends keyof E>(event: K): boolean {
    return this.listeners[event] !== undefined;
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    // Copy only when needed: a listener may remove itself (once) while we iterate.
    for (const fn of list.length === 1 ? list : list.slice()) {
      try {
        fn(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
