/**
 * The session bus of one process: events reach every other subscribed node of this process,
 * in publish order, exactly once, a microtask later (never inside the publisher's call). One
 * node alone publishes to nobody. Several servers in one process that share one store (tests,
 * examples) share one loopback bus.
 */
import { RwsError } from '../errors.js';
import type { BusEvent, BusListener, SessionBus } from './session-bus.js';

export class LoopbackBus implements SessionBus {
  readonly reliable = true;
  private readonly nodes = new Map<string, BusListener>();

  publish(from: string, event: BusEvent): void {
    for (const [node, listener] of this.nodes) {
      if (node !== from) queueMicrotask(() => listener.event(event));
    }
  }

  subscribe(node: string, listener: BusListener): () => void {
    if (this.nodes.has(node))
      throw new RwsError('bad_options', `node ${node} is already subscribed to this bus`);
    this.nodes.set(node, listener);
    return () => {
      if (this.nodes.get(node) === listener) this.nodes.delete(node);
    };
  }

  /** Nodes subscribed now. */
  get size(): number {
    return this.nodes.size;
  }

  close(): Promise<void> {
    this.nodes.clear();
    return Promise.resolve();
  }
}
