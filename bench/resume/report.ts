/**
 * The resume benchmark's report (bench/resume.bench.ts): its table, checks and method text.
 */
import { QUICK, atLeast, atMost, report } from '../lib/harness.js';
import { SIO_RECOVERY_MS } from '../lib/systems.js';
import type { ChaosResult } from './chaos.js';
import {
  CUTS,
  DEFAULT_SESSION_TTL_MS,
  LANES,
  LATE_EVERY,
  MAX_AFTER,
  RATE,
  RWS_BACKOFF,
  SIO_RECONNECT,
  TRIALS,
  ms3,
  pct,
  round,
} from './common.js';
import type { OutsideResult } from './outside-window.js';
import { OUTSIDE } from './peers.js';

export interface ResumeRun {
  seed: number;
  pin: boolean;
  rws: ChaosResult;
  sio: ChaosResult;
  outside: OutsideResult;
  totalMs: number;
}

export function resumeReport(run: ResumeRun): void {
  const { seed, pin, rws, sio, totalMs } = run;
  const { ttl, overflow, sioOut, sioServerConnections, rwsOutsideMs, sioOutsideMs } = run.outside;
  const ttlOk = ttl.filter((t) => t.ok).length;
  const ofOk = overflow.filter((t) => t.ok).length;
  const sioOutFalse = sioOut.filter((t) => t.recovered === false).length;
  const sioOutTrue = sioOut.filter((t) => t.recovered === true).length;
  const sioOutNone = sioOut.filter((t) => t.recovered === undefined).length;
  const maxAway = Math.max(...rws.toDelivery);
  const sdk = rws.extra.sdkStats as { acksSent: number; duplicatesDropped: number };
  const evictedTotal = overflow.reduce((s, t) => s + (t.detail.evicted as number), 0);
  const belowAck = overflow.reduce((s, t) => s + (t.detail.evictedAtOrBelowAck as number), 0);
  const ttlAway = ttl.map((t) => t.detail.away as number);
  const ttlReaped = ttl.map((t) => t.detail.reapedAfter as number);
  const sioAway = sioOut.map((t) => t.away);
  // Counts as text: the markdown formatter would print a 0 as 0.000.
  const row = (figure: string, a: string | number, b: string | number): string[] => [
    figure,
    String(a),
    String(b),
  ];
  const reasonText = (r: Record<string, number>): string =>
    Object.keys(r).length === 0
      ? ''
      : ` (${Object.entries(r)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const quickNote = QUICK ? `quick mode: ${CUTS} drops (full mode: 1000)` : undefined;

  const method =
    `Process layout: each server in its own child process${pin ? ' pinned to CPU 0 with taskset' : ' (not pinned: no taskset)'}; ` +
    `the clients, the TCP proxies, the cut schedule and the counting in the parent process${pin ? ', pinned to CPU 1' : ''}. ` +
    `resilient-ws: createServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', metrics: true }) with product defaults ` +
    `(session TTL ${DEFAULT_SESSION_TTL_MS / 1000} s, outboxMax 1000), streaming server.send(sid, {n}) to one session at ${RATE} msg/s ` +
    `(each tick sends what is due since the start; sends awaited in order); the real SDK client (ResilientClient, the ws package as its WebSocket) ` +
    `connects through a ChaosProxy (TCP_NODELAY on both of its sockets, as ws sets on its own: with Nagle on, the proxy added up to 40 ms of delayed ACK to multi-write handshakes). Socket.IO 4.8.4: new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: ${SIO_RECOVERY_MS} }, transports: ['websocket'] }) (bench/lib/systems.ts) ` +
    `streaming socket.emit('m', {n}) to the client's current socket at ${RATE} msg/s; client io(url, { transports: ['websocket'], ` +
    `reconnectionDelay: ${SIO_RECONNECT.reconnectionDelay}, reconnectionDelayMax: ${SIO_RECONNECT.reconnectionDelayMax} }) through the same kind of proxy. ` +
    `Cut schedule (both): ${CUTS} cuts (the proxy destroys both sockets, no close handshake); each cut waits until 1–${MAX_AFTER} messages (uniform) ` +
    `were delivered on the connection opened after the previous cut, then 0–3 ms (before the SDK's batched ack, 25 ms, went out: the resume's ack trims the outbox) ` +
    `or, for 1 cut in ${LATE_EVERY}, 26–40 ms (after a live ack), so cuts land in replays, between a delivery and its ack, and in the live stream; ` +
    `the schedule is seeded (seed ${seed}). Reconnect backoff made small for both so the cuts fit the time budget: SDK backoff { baseMs: ${RWS_BACKOFF.baseMs}, capMs: ${RWS_BACKOFF.capMs} } ` +
    `(full jitter: 0–10 ms, mean 5 ms); Socket.IO reconnectionDelay ${SIO_RECONNECT.reconnectionDelay} ms ± 50 % (randomizationFactor 0.5), max ${SIO_RECONNECT.reconnectionDelayMax} ms. ` +
    `Counted at the client from the payload numbers: duplicated = an n delivered again; reordered = an n delivered for the first time below a higher one already delivered; ` +
    `lost = the n in 1..sent never delivered, after the stream stopped and a final drain on a connection left up. Time to resumed delivery: from the cut to the first message ` +
    `delivered on a connection opened after it, split into cut → the client's next connection attempt (detection + backoff) and attempt → first message (handshake + resume + replay). ` +
    `All drops are within the window: the longest cut → resumed delivery (${maxAway.toFixed(0)} ms) is far below the ${DEFAULT_SESSION_TTL_MS / 1000} s session TTL. ` +
    `Outside the window, ${TRIALS} trials each, ${LANES} at a time (each with its own proxy, client and session); an outage points the proxy at a listener that destroys every socket, so ` +
    `the client's reconnects fail until it ends: (a) server with sessionTtl ${OUTSIDE.sessionTtlMs} ms, sweepInterval ${OUTSIDE.sweepIntervalMs} ms; the outage lasts until the server has ` +
    `detached and reaped the session (its reap event); pass = welcome resumed:false, recovered:false, reason unknown_session, a new sid, no missing, and the SDK's resumed event the same. ` +
    `(b) server with outboxMax ${OUTSIDE.outboxMax} (drop-oldest); 3 messages delivered, then (even trials) the server has the client's ack or (odd trials) the cut comes before the batched ack; ` +
    `during the outage ${OUTSIDE.outboxMax + 1}–${OUTSIDE.outboxMax + 40} messages are sent; pass = welcome recovered:false, reason gap, missing = the evicted seqs (from the dead-letter queue) above the ` +
    `client's resume ack = the server's resume event = the SDK's resumed and gap events = what the client never receives, and it receives exactly the newest ${OUTSIDE.outboxMax}, in order. ` +
    `Socket.IO outside its window: maxDisconnectionDuration ${OUTSIDE.sioWindowMs} ms, the outage lasts until the server saw the disconnect plus ${OUTSIDE.sioWindowMs + 50} ms; figure: socket.recovered on reconnect.`;

  const lostAt = (r: ChaosResult): string =>
    r.lost === 0 ? '0' : `${r.lost} (${r.lostSilently} at reconnects that said recovered)`;
  report({
    name: 'resume',
    title: 'Resume under forced disconnects',
    row: 'resume',
    method,
    table: {
      columns: ['figure', 'resilient-ws', 'Socket.IO 4.8 + recovery'],
      rows: [
        row('forced disconnects (proxy cuts)', rws.cuts, sio.cuts),
        row('messages streamed', rws.sent, sio.sent),
        row('lost', lostAt(rws), lostAt(sio)),
        row('duplicated', rws.duplicates, sio.duplicates),
        row('reordered', rws.reordered, sio.reordered),
        row(
          'reconnects with recovered: true / false',
          `${rws.recoveredTrue} / ${rws.recoveredFalse}${reasonText(rws.notRecoveredReasons)}`,
          `${sio.recoveredTrue} / ${sio.recoveredFalse}`,
        ),
        row('gap events', rws.gapEvents, 'n/a (no such event)'),
        row(
          'SDK: live ack frames sent / replayed duplicates dropped by seq',
          `${sdk.acksSent} / ${sdk.duplicatesDropped}`,
          'n/a (no acks)',
        ),
        row('stalls (no delivery 5 s after a cut)', rws.stalls.length, sio.stalls.length),
        row(
          'time to resumed delivery p50 / p99 / max (ms)',
          ms3(rws.toDelivery),
          ms3(sio.toDelivery),
        ),
        row(
          '  cut → reconnect attempt (detection + backoff)',
          ms3(rws.toAttempt),
          ms3(sio.toAttempt),
        ),
        row(
          '  attempt → first message (handshake + resume + replay)',
          ms3(rws.attemptToDelivery),
          ms3(sio.attemptToDelivery),
        ),
        row('chaos run duration', s(rws.durationMs), s(sio.durationMs)),
        row(
          'outside the window: session expired (TTL / maxDisconnectionDuration)',
          `${ttlOk}/${TRIALS} recovered:false, reason unknown_session`,
          `${sioOutFalse}/${TRIALS} recovered:false (${sioOutTrue} true, ${sioOutNone} no reconnect)`,
        ),
        row(
          '  time away p50 / max (ms)',
          `${pct(ttlAway, 0.5).toFixed(0)} / ${Math.max(...ttlAway).toFixed(0)} (reaped after ${pct(ttlReaped, 0.5).toFixed(0)})`,
          `${pct(sioAway, 0.5).toFixed(0)} / ${Math.max(...sioAway).toFixed(0)}`,
        ),
        row(
          'outside the window: outbox overflowed while away',
          `${ofOk}/${TRIALS} reason gap, missing = evicted above the ack = not received (${evictedTotal} evicted, ${belowAck} of them already delivered)`,
          'not measured (no outbox bound: its packet log is pruned by age only)',
        ),
        row('outside-window runs duration', s(rwsOutsideMs), s(sioOutsideMs)),
        row('whole benchmark', s(totalMs), ''),
      ],
    },
    checks: [
      atLeast(`forced disconnects made (resilient-ws)`, rws.cuts, CUTS, quickNote),
      atMost(`lost messages over ${CUTS} drops within the window`, rws.lost, 0, quickNote),
      atMost(
        `duplicated messages over ${CUTS} drops within the window`,
        rws.duplicates,
        0,
        quickNote,
      ),
      atMost(
        `reordered messages over ${CUTS} drops within the window`,
        rws.reordered,
        0,
        quickNote,
      ),
      atLeast(
        `share of ${TRIALS} expired-session trials answered recovered:false, reason unknown_session`,
        ttlOk / TRIALS,
        1,
      ),
      atLeast(
        `share of ${TRIALS} overflow trials answered recovered:false, reason gap, right missing`,
        ofOk / TRIALS,
        1,
      ),
    ],
    data: {
      seed,
      pinned: pin,
      rate: RATE,
      cuts: CUTS,
      trials: TRIALS,
      rws: { ...rws, toDelivery: undefined, toAttempt: undefined, attemptToDelivery: undefined },
      sio: { ...sio, toDelivery: undefined, toAttempt: undefined, attemptToDelivery: undefined },
      // Per cut, in ms (rounded to 10 µs).
      timings: {
        rws: {
          toDelivery: round(rws.toDelivery),
          toAttempt: round(rws.toAttempt),
          attemptToDelivery: round(rws.attemptToDelivery),
        },
        sio: {
          toDelivery: round(sio.toDelivery),
          toAttempt: round(sio.toAttempt),
          attemptToDelivery: round(sio.attemptToDelivery),
        },
      },
      ttlFailures: ttl.filter((t) => !t.ok).slice(0, 20),
      overflowFailures: overflow.filter((t) => !t.ok).slice(0, 20),
      overflowSample: overflow.slice(0, 4),
      sioOutside: {
        recoveredFalse: sioOutFalse,
        recoveredTrue: sioOutTrue,
        noReconnect: sioOutNone,
        serverConnections: sioServerConnections,
      },
      durationsMs: {
        total: totalMs,
        rwsChaos: rws.durationMs,
        sioChaos: sio.durationMs,
        rwsOutside: rwsOutsideMs,
        sioOutside: sioOutsideMs,
      },
    },
  });
}
