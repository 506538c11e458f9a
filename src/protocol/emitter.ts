/**
 * A tiny typed event emitter, shared by the server and the client SDK (no Node imports).
 * `emit` with no listener is one property read and a branch, so an event that nobody
 * observes costs nothing measurable; callers that would compute a payload can check
 * `has(name)` first. Listeners run synchronously in registration order; one that throws is
 * reported (`listenerFailed`) and never stops the others or breaks the caller: emitters are
 * called from socket callbacks and the delivery path, where an exception would lose data.
 */
export type Listener<T> = (payload: T) => void;

type Wrapped<T> = Listener<T> & { original?: Listener<T> };

export class Emitter<E extends object> {
  private readonly listeners: { [K in keyof E]?: Wrapped<E[K]>[] } = {};

  /** @param onListenerError where a throwing listener is reported (default: console.error). */
  constructor(private readonly onListenerError?: (error: unknown, event: keyof E) => void) {}

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    (this.listeners[event] ??= []).push(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const wrapper: Wrapped<E[K]> = (payload) => {
      off();
      fn(payload);
    };
    wrapper.original = fn;
    const off = this.on(event, wrapper);
    return off;
  }

  /** Removes `fn`, also when it was added with `once`. */
  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    const list = this.listeners[event];
    if (list === undefined) return;
    const i = list.findIndex((l) => l === fn || l.original === fn);
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
        this.listenerFailed(event, error);
      }
    }
  }

  /** Where a throwing listener is reported; subclasses may route it to their own channel. */
  protected listenerFailed(event: keyof E, error: unknown): void {
    if (this.onListenerError !== undefined) this.onListenerError(error, event);
    else console.error(`resilient-ws: a listener of "${String(event)}" threw`, error);
  }
}
