/**
 * Distributed mode under chaos, with every node a real process started through the CLI
 * (`bin/resilient-ws.js serve --store redis://…`; `npm run build` first) — the acceptance
 * tests of the Redis issue:
 *
 * 1. Moves: an SDK client behind a re-pointable proxy is moved between three nodes 100 times
 *    while 5000 messages are published, with idempotency ids and retries, through the nodes
 *    that do not hold it: none lost, none duplicated, none reordered; every resume recovered.
 * 2. SIGKILL: the client's node is killed mid-stream while messages are published through its
 *    own API; requests it never answered are retried elsewhere with the same id. Every
 *    message answered 202 (or 200 dup) arrives exactly once, in order; the dead node's other
 *    session is detached by dead-node detection and the node leaves `GET /api/nodes`.
 * 3. Redis restarts mid-stream (a private redis-server): empty, the resume says
 *    `unknown_session`; from an older snapshot, `epoch_changed` and seqs start over. Never a
 *    silent `recovered: true`; every node is ready again without a restart.
 *
 * Schedules are seeded (the seed is printed with the figures, for a replay). The machine's
 * Redis is shared: each test has its own key prefix, deleted afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ResilientClient,
  type ClientCloseEvent,
  type ClientResumedEvent,
  type WebSocketCtor,
} from '../../client/index.js';
import {
  deletePrefix,
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from '../../src/store/redis/redis-test-support.js';
import { ChaosProxy, seededRandom } from '../support/chaos-proxy.js';
import { NodeProcess, stopAllNodes } from '../support/node-process.js';
import { eventually, RawClient, sleep } from '../support/raw-client.js';

const hasRedis = await requireRedis('redis cluster chaos');

const prefixes: { url: string; prefix: string }[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await stopAllNodes();
});

afterAll(async () => {
  for (const p of prefixes.splice(0)) await deletePrefix(p.url, p.prefix).catch(() => undefined);
});

/** Start `names.length` node processes on one store and prefix (in parallel). */
async function startNodes(
  names: string[],
  options: { store?: string; args?: string[] } = {},
): Promise<NodeProcess[]> {
  const store = options.store ?? TEST_REDIS_URL;
  const prefix = freshPrefix();
  prefixes.push({ url: store, prefix });
  return Promise.all(
    names.map((node) => NodeProcess.start({ node, store, prefix, args: options.args ?? [] })),
  );
}

const target = (n: NodeProcess): { host: string; port: number } => {
  const u = new URL(n.httpUrl);
  return { host: u.hostname, port: Number(u.port) };
};

type PublishAnswer = { status: number; seq: number; dup: boolean };

/** One POST of a message with an idempotency id; throws on a network error or a timeout. */
async function postMessage(
  node: NodeProcess,
  sid: string,
  data: unknown,
  id: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.httpUrl}/api/sessions/${encodeURIComponent(sid)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(id === undefined ? { data } : { data, id }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

interface PublishStats {
  /** Attempts that failed with a network error or a 503 and were retried (same id). */
  retries: number;
  /** Answers 200 `dup: true`. */
  dups: number;
}

/**
 * Publish one message until a node answers 202 or 200 (dup): `pick(attempt)` names the node
 * of each attempt; a 503 or a network error is retried, with the same id, on the next pick.
 * Any other answer fails the test. Gives up after `deadlineMs`.
 */
async function publishReliably(
  pick: (attempt: number) => NodeProcess,
  sid: string,
  data: unknown,
  id: string | undefined,
  stats: PublishStats,
  deadlineMs = 20_000,
): Promise<PublishAnswer & { node: NodeProcess }> {
  const deadline = Date.now() + deadlineMs;
  let last = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const node = pick(attempt);
    try {
      const r = await postMessage(node, sid, data, id);
      if (r.status === 202 || r.status === 200) {
        const dup = r.body.dup === true;
        if (dup) stats.dups++;
        return { status: r.status, seq: r.body.seq as number, dup, node };
      }
      if (r.status !== 503)
        throw new Error(
          `publish ${id ?? ''} on ${node.name}: ${r.status} ${JSON.stringify(r.body)}`,
        );
      last = `503 ${JSON.stringify(r.body)}`;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('publish ')) throw e;
      last = String(e);
    }
    stats.retries++;
    await sleep(Math.min(100, 5 * (attempt + 1)));
  }
  throw new Error(`publish ${id ?? ''}: no node accepted it in time (last: ${last})`);
}

/** Lost, duplicated and reordered counts of `seen` against the expected sequence 1..n. */
function tally(seen: number[], n: number): { lost: number; dup: number; reordered: number } {
  const count = new Map<number, number>();
  let dup = 0;
  let reordered = 0;
  let max = 0;
  for (const x of seen) {
    const c = (count.get(x) ?? 0) + 1;
    count.set(x, c);
    if (c > 1) {
      dup++;
      continue;
    }
    if (x < max) reordered++;
    max = Math.max(max, x);
  }
  let lost = 0;
  for (let i = 1; i <= n; i++) if (!count.has(i)) lost++;
  return { lost, dup, reordered };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function nodeNames(via: NodeProcess): Promise<string[]> {
  const r = await getJson(`${via.httpUrl}/api/nodes`);
  return (r.body.nodes as { node: string }[]).map((x) => x.node).sort();
}

interface Watched {
  client: ResilientClient;
  seen: { n: number; seq: number | undefined }[];
  resumes: (ClientResumedEvent & { at: number })[];
  closes: ClientCloseEvent[];
  gaps: number;
  opens: number;
  sid: string;
}

/** An SDK client (the `ws` package, a small backoff) connected to `url`, watched. */
async function watchedClient(url: string, random: () => number): Promise<Watched> {
  const client = new ResilientClient(url, {
    WebSocket: WebSocket as unknown as WebSocketCtor,
    backoff: { baseMs: 5, capMs: 50 },
    random,
    heartbeatTimeoutMs: 5000,
  });
  const w: Watched = { client, seen: [], resumes: [], closes: [], gaps: 0, opens: 0, sid: '' };
  client.on('message', (m) => w.seen.push({ n: (m.data as { n: number }).n, seq: m.seq }));
  client.on('resumed', (e) => w.resumes.push({ ...e, at: Date.now() }));
  client.on('close', (e) => w.closes.push(e));
  client.on('gap', () => w.gaps++);
  client.on('open', (e) => {
    w.opens++;
    w.sid = e.sid;
  });
  cleanups.push(() => client.close());
  client.connect();
  await eventually(() => w.opens > 0, 10_000, 'the client’s first welcome');
  return w;
}

const resumeSummary = (r: ClientResumedEvent[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const e of r) {
    const k = e.recovered ? 'recovered' : `not recovered (${e.reason ?? '?'})`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
};

describe.skipIf(!hasRedis)('distributed mode under chaos (node processes)', () => {
  it('moves: 100 moves between 3 nodes while 5000 messages are published elsewhere — 0 lost, 0 duplicated, 0 reordered', async () => {
    const MESSAGES = 5000;
    const MOVES = 100;
    const STEP = Math.floor(MESSAGES / (MOVES + 1));
    const seed = Date.now() % 1_000_000;
    const random = seededRandom(seed);
    const started = Date.now();
    const nodes = await startNodes(['n1', 'n2', 'n3']);
    const proxy = new ChaosProxy(target(nodes[0]!));
    cleanups.push(() => proxy.close());
    const port = await proxy.listen();
    let holder = 0;
    const w = await watchedClient(`ws://127.0.0.1:${port}/ws`, random);
    const sid = w.sid;

    let published = 0;
    let moves = 0;
    let reposts = 0;
    const stats: PublishStats = { retries: 0, dups: 0 };
    const seqs: number[] = [];

    const mover = (async () => {
      while (moves < MOVES) {
        // Move k lands around message k·STEP (seeded jitter), so moves cover the stream.
        const due = Math.floor((moves + 1) * STEP + (random() - 0.5) * STEP * 0.8);
        while (published < due) await sleep(1);
        const next = (holder + 1 + Math.floor(random() * 2)) % 3;
        const opensBefore = w.opens;
        proxy.target = target(nodes[next]!);
        holder = next;
        proxy.cut();
        moves++;
        await eventually(
          () => w.opens > opensBefore && w.client.state === 'open',
          10_000,
          `welcome after move ${moves}`,
        );
        const view = await getJson(`${nodes[next]!.httpUrl}/api/sessions/${sid}`);
        expect(view.body, `move ${moves}`).toMatchObject({
          attached: true,
          node: nodes[next]!.name,
        });
      }
    })();

    const publisher = (async () => {
      for (let n = 1; n <= MESSAGES; n++) {
        // Keep the stream and the moves in step: never more than two steps ahead.
        while (moves < MOVES && n > (moves + 2) * STEP) await sleep(1);
        // The nodes that do not hold the client, in turn (the holder may change meanwhile).
        const others = (attempt: number): NodeProcess => {
          const o = [0, 1, 2].filter((i) => i !== holder);
          return nodes[o[(n + attempt) % o.length]!]!;
        };
        const id = `m-${n}`;
        const r = await publishReliably(others, sid, { n }, id, stats);
        seqs.push(r.seq);
        published = n;
        // Now and then the same id again through another node: the original seq, stored once.
        if (random() < 0.02) {
          reposts++;
          const again = await publishReliably((a) => others(a + 1), sid, { n }, id, stats);
          expect(again, `repost of ${id}`).toMatchObject({ status: 200, seq: r.seq, dup: true });
        }
      }
    })();

    await Promise.all([publisher, mover]);
    await eventually(() => w.seen.length >= MESSAGES, 30_000, `all ${MESSAGES} messages`).catch(
      () => undefined,
    );
    await sleep(200); // anything late (a duplicate) arrives now
    const t = tally(
      w.seen.map((s) => s.n),
      MESSAGES,
    );
    const elapsed = Date.now() - started;
    console.log(
      `[redis-cluster-chaos moves] seed=${seed} nodes=3 moves=${moves} cuts=${proxy.cuts} messages=${MESSAGES} received=${w.seen.length} lost=${t.lost} duplicated=${t.dup} reordered=${t.reordered} resumes=${JSON.stringify(resumeSummary(w.resumes))} gaps=${w.gaps} sdkDupsDropped=${w.client.stats.duplicatesDropped} publishRetries=${stats.retries} reposts=${reposts} dupAnswers=${stats.dups} ${elapsed}ms`,
    );
    expect(moves).toBe(MOVES);
    expect(t).toEqual({ lost: 0, dup: 0, reordered: 0 });
    expect(w.seen.length).toBe(MESSAGES);
    // Every accepted publish took the next seq: one store, one stream, whatever the node.
    expect(seqs).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    expect(w.seen.map((s) => s.seq)).toEqual(seqs);
    expect(w.resumes.length).toBeGreaterThanOrEqual(MOVES);
    expect(w.resumes.every((r) => r.recovered)).toBe(true);
    expect(w.gaps).toBe(0);
  });

  it('SIGKILL of the client’s node mid-stream: every accepted message exactly once, in order; its other session detached, the node unlisted', async () => {
    const MESSAGES = 1500;
    const KILL_AFTER = 400;
    const seed = Date.now() % 1_000_000;
    const random = seededRandom(seed);
    const started = Date.now();
    const nodes = await startNodes(['a', 'b', 'c'], { args: ['--node-timeout', '2s'] });
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const proxy = new ChaosProxy(target(a));
    cleanups.push(() => proxy.close());
    const port = await proxy.listen();
    const w = await watchedClient(`ws://127.0.0.1:${port}/ws`, random);
    const sid = w.sid;
    // A second session on A, straight to it, that never comes back.
    const orphan = await RawClient.connect(a.url);
    cleanups.push(() => {
      orphan.ws.terminate();
      return Promise.resolve();
    });
    orphan.send({ t: 'hello', v: 1 });
    const orphanSid = (await orphan.next((f) => f.t === 'welcome')).sid as string;
    await eventually(async () => (await nodeNames(b)).length === 3, 10_000, 'three nodes listed');
    for (const s of [sid, orphanSid])
      expect((await getJson(`${b.httpUrl}/api/sessions/${s}`)).body).toMatchObject({
        attached: true,
        node: 'a',
      });

    const stats: PublishStats = { retries: 0, dups: 0 };
    const accepted: { n: number; seq: number; node: string }[] = [];
    let aFailed = false;
    let failedOnA = 0; // requests sent to A, unanswered, retried elsewhere
    let killedAt = 0;

    const killer = (async () => {
      while (accepted.length < KILL_AFTER) await sleep(1);
      proxy.target = target(b);
      killedAt = Date.now();
      await a.kill();
    })();

    const publisher = (async () => {
      for (let n = 1; n <= MESSAGES; n++) {
        // A until a request to it fails (it was killed); then B and C in turn. A request A
        // never answered is retried on B or C with the same id.
        const pick = (attempt: number): NodeProcess => {
          if (attempt > 0 && !aFailed) {
            aFailed = true;
            failedOnA++;
          }
          if (!aFailed) return a;
          return (n + attempt) % 2 === 0 ? b : c;
        };
        const r = await publishReliably(pick, sid, { n }, `k-${n}`, stats);
        accepted.push({ n, seq: r.seq, node: r.node.name });
      }
    })();

    // Dead-node detection, watched from the kill on: the orphan is detached, A leaves the list.
    let detachedAfter = -1;
    let unlistedAfter = -1;
    const detection = (async () => {
      await killer;
      await eventually(
        async () => {
          if (detachedAfter < 0) {
            const v = await getJson(`${b.httpUrl}/api/sessions/${orphanSid}`);
            if (v.body.attached === false) detachedAfter = Date.now() - killedAt;
          }
          if (unlistedAfter < 0 && !(await nodeNames(c)).includes('a'))
            unlistedAfter = Date.now() - killedAt;
          return detachedAfter >= 0 && unlistedAfter >= 0;
        },
        15_000,
        'A’s sessions detached and A unlisted',
      ).catch(() => undefined);
    })();
    await Promise.all([publisher, killer, detection]);
    await eventually(() => w.seen.length >= MESSAGES, 30_000, `all ${MESSAGES} messages`).catch(
      () => undefined,
    );
    await sleep(200);
    const t = tally(
      w.seen.map((s) => s.n),
      MESSAGES,
    );
    const viaA = accepted.filter((x) => x.node === 'a').length;
    console.log(
      `[redis-cluster-chaos sigkill] seed=${seed} messages=${MESSAGES} acceptedByA=${viaA} acceptedByB/C=${MESSAGES - viaA} retriedAfterAFailed=${failedOnA} publishRetries=${stats.retries} dupAnswers=${stats.dups} received=${w.seen.length} lost=${t.lost} duplicated=${t.dup} reordered=${t.reordered} resumes=${JSON.stringify(resumeSummary(w.resumes))} closes=${JSON.stringify(w.closes.map((x) => x.code))} orphanDetachedAfter=${detachedAfter}ms aUnlistedAfter=${unlistedAfter}ms ${Date.now() - started}ms`,
    );
    expect(a.running).toBe(false);
    expect(viaA).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(viaA).toBeLessThan(MESSAGES);
    expect(t).toEqual({ lost: 0, dup: 0, reordered: 0 });
    expect(w.seen.length).toBe(MESSAGES);
    expect(accepted.map((x) => x.seq)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    expect(w.resumes.length).toBeGreaterThanOrEqual(1);
    expect(w.resumes.every((r) => r.recovered)).toBe(true);
    expect((await getJson(`${b.httpUrl}/api/sessions/${sid}`)).body).toMatchObject({
      attached: true,
    });
    expect(detachedAfter, 'the orphan session detached by dead-node detection').toBeGreaterThan(0);
    expect(unlistedAfter, 'A gone from /api/nodes').toBeGreaterThan(0);
    expect(await nodeNames(b)).toEqual(['b', 'c']);
    expect((await getJson(`${c.httpUrl}/api/sessions/${orphanSid}`)).body).toMatchObject({
      attached: false,
    });
  });
});

describe.skipIf(!hasRedis)('distributed mode: Redis restarts mid-stream (node processes)', () => {
  /** A private redis-server that snapshots only on a manual SAVE, into its own directory. */
  async function privateRedis(): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'rws-chaos-redis-'));
    const redis = await PrivateRedis.start(['--dir', dir, '--dbfilename', 'dump.rdb']);
    cleanups.push(async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    return redis;
  }

  /** Publish {n} to `sid` through `via` every few ms until `stop()`; counts the answers. */
  function stream(via: NodeProcess, sid: () => string) {
    const answers = new Map<number | string, number>();
    const accepted: { n: number; seq: number; sid: string; at: number }[] = [];
    let n = 0;
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        n++;
        const s = sid();
        try {
          const r = await postMessage(via, s, { n }, `s-${s}-${n}`);
          answers.set(r.status, (answers.get(r.status) ?? 0) + 1);
          if (r.status === 202)
            accepted.push({ n, seq: r.body.seq as number, sid: s, at: Date.now() });
        } catch {
          answers.set('network', (answers.get('network') ?? 0) + 1);
        }
        await sleep(3);
      }
    })();
    return {
      answers,
      accepted,
      async stop() {
        stopped = true;
        await done;
      },
    };
  }

  /** Wait (bounded; the assertions tell what is missing) for the last accepted ones to arrive. */
  async function delivered(w: Watched, accepted: { n: number }[]): Promise<void> {
    const last = accepted.at(-1)?.n;
    if (last === undefined) return;
    await eventually(() => w.seen.some((x) => x.n === last), 10_000, `message ${last}`).catch(
      () => undefined,
    );
    await sleep(100);
  }

  async function allReady(nodes: NodeProcess[]): Promise<void> {
    await eventually(
      async () => {
        for (const n of nodes) {
          const r = await fetch(`${n.httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
          await r.arrayBuffer();
          if (r.status !== 200) return false;
        }
        return true;
      },
      15_000,
      'every node ready again',
    );
  }

  it('an empty restart: the resume says unknown_session (a new session), never recovered; nodes ready again, new messages flow', async () => {
    const started = Date.now();
    const redis = await privateRedis();
    const nodes = await startNodes(['a', 'b'], { store: redis.url });
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const w = await watchedClient(a.url, seededRandom(1));
    const firstSid = w.sid;
    const s = stream(b, () => w.sid);
    await eventually(() => w.seen.length >= 200, 10_000, '200 messages before the restart');
    const restartAt = Date.now();
    await redis.kill();
    await sleep(300);
    await redis.restart(); // no snapshot: empty
    await eventually(
      () => w.resumes.some((r) => r.at >= restartAt && r.reason === 'unknown_session'),
      20_000,
      'a resume answered unknown_session',
    ).catch(() => undefined);
    await allReady(nodes).catch(() => undefined);
    const seenBefore = w.seen.length;
    await eventually(
      () => w.sid !== firstSid && w.seen.length >= seenBefore + 100,
      15_000,
      'new messages on the new session',
    ).catch(() => undefined);
    await s.stop();
    await delivered(
      w,
      s.accepted.filter((x) => x.sid === w.sid),
    );
    const after = w.resumes.filter((r) => r.at >= restartAt);
    const fresh = w.seen.slice(seenBefore).map((x) => x.seq);
    console.log(
      `[redis-cluster-chaos redis-empty-restart] received=${w.seen.length} (after the restart ${fresh.length}) resumes=${JSON.stringify(resumeSummary(w.resumes))} closes=${JSON.stringify(w.closes.map((x) => x.code))} publishAnswers=${JSON.stringify(Object.fromEntries(s.answers))} newSid=${w.sid !== firstSid} ${Date.now() - started}ms`,
    );
    expect(
      after.some((r) => r.recovered),
      'a silent recovered: true',
    ).toBe(false);
    expect(after.map((r) => r.reason)).toContain('unknown_session');
    expect(w.sid).not.toBe(firstSid);
    await allReady(nodes);
    // The new session's stream starts at seq 1 and arrives whole, in order.
    const newSession = s.accepted.filter((x) => x.sid === w.sid);
    expect(newSession.length).toBeGreaterThan(0);
    const got = w.seen.filter((x) => newSession.some((y) => y.n === x.n)).map((x) => x.seq);
    expect(got).toEqual(newSession.map((x) => x.seq));
    expect(newSession[0]!.seq).toBe(1);
  });

  it('a restart from an older snapshot: the resume says epoch_changed, never recovered with reused seqs; seqs start over; nodes ready again', async () => {
    const started = Date.now();
    const redis = await privateRedis();
    const nodes = await startNodes(['a', 'b'], {
      store: redis.url,
    });
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const w = await watchedClient(a.url, seededRandom(2));
    const sid = w.sid;
    const s = stream(b, () => sid);
    await eventually(() => w.seen.length >= 100, 10_000, '100 messages before the snapshot');
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    expect(await admin.save()).toBe('OK');
    admin.disconnect();
    const seenAtSave = w.seen.length;
    await eventually(() => w.seen.length >= seenAtSave + 100, 10_000, '100 more after SAVE');
    const lastBeforeKill = w.seen.at(-1)!.seq!;
    const restartAt = Date.now();
    await redis.kill();
    await sleep(300);
    // Every answer from here on comes from the restarted Redis.
    const acceptedBefore = s.accepted.length;
    await redis.restart(); // loads the snapshot: older than what the nodes wrote
    await eventually(
      () => w.resumes.some((r) => r.at >= restartAt),
      20_000,
      'a resume after the restart',
    ).catch(() => undefined);
    await allReady(nodes).catch(() => undefined);
    const seenAtResume = w.seen.length;
    await eventually(() => w.seen.length >= seenAtResume + 100, 15_000, 'new messages').catch(
      () => undefined,
    );
    await s.stop();
    const accepted = s.accepted.slice(acceptedBefore);
    await delivered(w, accepted);
    const after = w.resumes.filter((r) => r.at >= restartAt);
    console.log(
      `[redis-cluster-chaos redis-snapshot-restart] lastSeqBeforeKill=${lastBeforeKill} received=${w.seen.length} resumes=${JSON.stringify(resumeSummary(w.resumes))} closes=${JSON.stringify(w.closes.map((x) => x.code))} publishAnswers=${JSON.stringify(Object.fromEntries(s.answers))} acceptedAfterRestart=${accepted.length} firstSeqsAfter=${JSON.stringify(accepted.slice(0, 3).map((x) => x.seq))} ${Date.now() - started}ms`,
    );
    expect(after.length, 'a resume after the restart').toBeGreaterThan(0);
    expect(
      after.some((r) => r.recovered),
      'a silent recovered: true',
    ).toBe(false);
    expect(after[0]).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    expect(w.sid, 'the same session, a new epoch').toBe(sid);
    // The new epoch's seqs start over at 1 and reach the client whole, in order.
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted[0]!.seq).toBe(1);
    expect(accepted.map((x) => x.seq)).toEqual(
      Array.from({ length: accepted.length }, (_, i) => i + 1),
    );
    const nsAfter = new Set(accepted.map((x) => x.n));
    const got = w.seen.filter((x) => nsAfter.has(x.n));
    expect(got.map((x) => x.seq)).toEqual(accepted.map((x) => x.seq));
    await allReady(nodes);
  });
});
