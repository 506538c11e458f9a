/**
 * The session bus over Redis pub/sub (src/store/session-bus.ts): every node subscribes to one
 * broadcast channel, `${prefix}:bus`, and publishes its events there; an event names the node
 * that published it and a node ignores its own, as the loopback bus does.
 *
 * Pub/sub is at most once: a message published while a subscriber is disconnected is gone.
 * That is acceptable because a bus event is only a hint (the store's seq is the truth), so
 * `reliable` is false and every node runs the periodic position check. On top of that the bus
 * repairs what it can see:
 * - Every time the channel subscription is confirmed (the first time and after each reconnect
 *   of the subscriber connection) every listener's `resync()` runs: events may have been
 *   published while this node was not listening.
 * - An idle-channel probe: when nothing arrived on the channel for `probeIntervalMs`, the bus
 *   publishes a probe; if nothing arrives within `probeTimeoutMs` after it, the subscriber is
 *   connected but deaf (centrifugal/centrifugo#1189: after a Sentinel failover a pod delivered
 *   nothing while /health was green). The bus drops the connection, ioredis reconnects it, the
 *   bus subscribes again and resyncs. Any message on the channel proves the subscription, so
 *   a busy channel is never probed and one node's probe serves every idle node.
 *
 * Connections: the bus owns `subscriber` (put in subscriber mode here, disconnected by
 * `close()`), and only borrows `publisher`, the node's shared command connection, which its
 * owner closes. Both are made by `createRedisClient` (offline queue off: a PUBLISH while Redis
 * is away fails at once, and the hint is counted as lost). The bus subscribes itself on every
 * 'ready' of the subscriber rather than trusting ioredis's `autoResubscribe` alone: that one
 * resubscribes only what ioredis believes is subscribed, and reports a failure nowhere.
 *
 * The wire format (encoding and decoding of messages) is in redis-bus-codec.ts.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { RwsError } from '../../errors.js';
import type { BusEvent, BusListener, SessionBus } from '../session-bus.js';
import { decodeBusMessage, encodeBusMessages, encodeBusProbe } from './redis-bus-codec.js';

export interface RedisBusOptions {
  /** The shared command connection: PUBLISH goes through it. Not closed by the bus. */
  publisher: Redis;
  /** A connection of the bus's own, put in subscriber mode; `close()` disconnects it. */
  subscriber: Redis;
  /** Key prefix of the deployment: the channel is `${prefix}:bus`. */
  prefix: string;
  /** Probe an idle channel after this many milliseconds without a message (default 5000). */
  probeIntervalMs?: number;
  /** A probe that has not come back after this many milliseconds means a deaf subscriber
   *  (default 2000). */
  probeTimeoutMs?: number;
  /** Told about errors the bus absorbs: a listener that threw, a subscriber connection error,
   *  a failed SUBSCRIBE. */
  onError?: (where: 'listener' | 'subscriber', error: unknown) => void;
}

export interface RedisBusStats {
  /** Event messages whose PUBLISH Redis acknowledged (an end with a reason is two). */
  published: number;
  /** PUBLISHes (events and probes) that failed: those hints are lost. */
  publishFailures: number;
  /** Messages that arrived on the channel (events of every node, own ones, probes). */
  received: number;
  /** Of those, messages that could not be decoded (ignored). */
  malformed: number;
  /** Times every listener was told to resync (a confirmed subscription). */
  resyncs: number;
  /** Probes published on an idle channel. */
  probes: number;
  /** Probes that did not come back: the subscriber was reconnected. */
  probeFailures: number;
}

interface Probe {
  sentAt: number;
  failed: boolean;
  timer: NodeJS.Timeout;
}

export class RedisBus implements SessionBus {
  readonly reliable = false;
  /** The broadcast channel every node subscribes to. */
  readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly onError: RedisBusOptions['onError'];
  /** This bus instance, as the sender of its probes. */
  private readonly id = `bus-${randomBytes(6).toString('base64url')}`;
  private readonly nodes = new Map<string, BusListener>();
  private readonly counters: RedisBusStats = {
    published: 0,
    publishFailures: 0,
    received: 0,
    malformed: 0,
    resyncs: 0,
    probes: 0,
    probeFailures: 0,
  };
  private closed = false;
  /** The channel subscription is confirmed on the current connection. */
  private listening = false;
  /** Bumped by every (re)connection: a SUBSCRIBE answered for an older one is stale. */
  private generation = 0;
  private waiters: (() => void)[] = [];
  /** performance.now() of the last message heard (or of the confirmed subscription). */
  private lastHeard = performance.now();
  /** The probe in flight: when it left, and whether its PUBLISH failed. */
  private probe: Probe | undefined;
  private readonly probeTimer: NodeJS.Timeout;

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.channel) this.receive(message);
  };
  private readonly onReady = (): void => this.listen();
  private readonly onClose = (): void => {
    this.listening = false;
    this.generation++;
  };
  private readonly onSubscriberError = (error: unknown): void => this.report('subscriber', error);

  constructor(options: RedisBusOptions) {
    this.publisher = options.publisher;
    this.subscriber = options.subscriber;
    this.channel = `${options.prefix}:bus`;
    this.probeIntervalMs = options.probeIntervalMs ?? 5000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 2000;
    this.onError = options.onError;
    const s = this.subscriber;
    s.on('message', this.onMessage);
    s.on('ready', this.onReady);
    s.on('close', this.onClose);
    s.on('error', this.onSubscriberError);
    if (s.status === 'ready') this.listen();
    this.probeTimer = setInterval(() => this.tick(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** A snapshot of the counters (metrics, logs). */
  stats(): RedisBusStats {
    return { ...this.counters };
  }

  /** Whether the channel subscription is confirmed now. */
  get subscribed(): boolean {
    return this.listening;
  }

  /** Resolves once the channel subscription is confirmed (now, or after the next resync). */
  whenSubscribed(): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  publish(from: string, event: BusEvent): void {
    if (this.closed) return;
    for (const text of encodeBusMessages(from, event))
      this.send(text).then(
        () => this.counters.published++,
        () => this.counters.publishFailures++,
      );
  }

  subscribe(node: string, listener: BusListener): () => void {
    if (this.nodes.has(node))
      throw new RwsError('bad_options', `node ${node} is already subscribed to this bus`);
    this.nodes.set(node, listener);
    return () => {
      if (this.nodes.get(node) === listener) this.nodes.delete(node);
    };
  }

  /** Stop the probe, forget the listeners and disconnect the subscriber connection (it is the
   *  bus's); the publisher connection is left open. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.probeTimer);
    this.endProbe();
    this.nodes.clear();
    this.listening = false;
    const s = this.subscriber;
    s.off('message', this.onMessage);
    s.off('ready', this.onReady);
    s.off('close', this.onClose);
    // Keep a no-op error listener: a late socket error must not reach the console.
    s.off('error', this.onSubscriberError);
    s.on('error', () => {});
    s.disconnect();
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve();
  }

  /** PUBLISH `text` at once; never throws (a synchronous throw becomes a rejection). */
  private send(text: string): Promise<unknown> {
    try {
      return this.publisher.publish(this.channel, text);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Subscribe on the current connection; once confirmed, every listener resyncs. */
  private listen(): void {
    if (this.closed) return;
    const generation = ++this.generation;
    this.listening = false;
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (this.closed || generation !== this.generation) return;
        this.listening = true;
        this.lastHeard = performance.now();
        this.resync();
        for (const w of this.waiters.splice(0)) w();
      },
      (error: unknown) => {
        // The connection went away meanwhile: its next 'ready' subscribes again.
        if (this.closed || generation !== this.generation) return;
        this.report('subscriber', error);
        if (this.subscriber.status === 'ready') this.subscriber.disconnect(true);
      },
    );
  }

  private resync(): void {
    this.counters.resyncs++;
    for (const listener of [...this.nodes.values()]) {
      try {
        listener.resync();
      } catch (error) {
        this.report('listener', error);
      }
    }
  }

  private receive(text: string): void {
    this.counters.received++;
    this.lastHeard = performance.now();
    const m = decodeBusMessage(text);
    if (m === undefined) {
      this.counters.malformed++;
      return;
    }
    if (m.kind === 'probe') return; // any message proves the subscription; nothing to deliver
    for (const [node, listener] of [...this.nodes]) {
      if (node === m.from) continue;
      try {
        listener.event(m.event);
      } catch (error) {
        this.report('listener', error);
      }
    }
  }

  /** The idle-channel probe (every `probeIntervalMs`). */
  private tick(): void {
    if (this.closed || !this.listening || this.probe !== undefined) return;
    const now = performance.now();
    if (now - this.lastHeard < this.probeIntervalMs) return;
    const timer = setTimeout(() => this.probeTimedOut(), this.probeTimeoutMs);
    timer.unref();
    const probe: Probe = { sentAt: now, failed: false, timer };
    this.probe = probe;
    this.counters.probes++;
    this.send(encodeBusProbe(this.id)).catch(() => {
      this.counters.publishFailures++;
      probe.failed = true;
    });
  }

  private probeTimedOut(): void {
    const probe = this.probe;
    this.endProbe();
    if (probe === undefined || this.closed) return;
    // Heard something since it left: the subscription works.
    if (this.lastHeard >= probe.sentAt) return;
    // The probe never reached Redis: that says nothing about the subscriber (a command
    // connection that is down); its own reconnect and the next probe will tell.
    if (probe.failed) return;
    if (!this.listening || this.subscriber.status !== 'ready') return;
    // Connected but deaf: drop the connection; ioredis reconnects, `listen` subscribes again
    // and resyncs.
    this.counters.probeFailures++;
    this.onClose();
    this.subscriber.disconnect(true);
  }

  private endProbe(): void {
    if (this.probe !== undefined) clearTimeout(this.probe.timer);
    this.probe = undefined;
  }

  private report(where: 'listener' | 'subscriber', error: unknown): void {
    try {
      this.onError?.(where, error);
    } catch {
      // an error reporter that throws is not the bus's problem
    }
  }
}
