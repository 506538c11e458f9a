/**
 * The dead-letter routes of the admin API (docs/protocol.md "HTTP API"): list (filtered,
 * paged), get, delete, purge and replay. They read the port (src/outbox/dead-letter-store.ts)
 * and await every answer: with a shared store every node shows every node's dead letters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isDeadLetterReason,
  pageByBytes,
  type DeadLetter,
  type DeadLetterId,
} from '../outbox/dead-letter-store.js';
import { isoTime, MAX_LIMIT, type AdminContext } from './admin-context.js';
import { MAX_ID_LENGTH } from '../protocol/index.js';
import { allow, HttpError, idParam, intParam, readOptionalJson, sendJson } from './http-util.js';

/**
 * The byte budget of a `GET /api/dlq` page: the entries' data (`deadLetterBytes`) stop at
 * 1 MiB, except that a page always holds its first entry, however big, so paging never
 * stalls (such an entry is bounded by the largest message the server takes and by
 * `dlqMaxBytes`). A page cut by the budget has a `next`, like one cut by `limit`.
 */
export const DLQ_PAGE_BYTES = 1024 * 1024;

// Digits (the memory store's ids) or a stream id (`1700000000000-0`); the store parses them.
const DLQ_REPLAY = /^\/api\/dlq\/(\d+(?:-\d+)?)\/replay$/;
const DLQ_ENTRY = /^\/api\/dlq\/(\d+(?:-\d+)?)$/;

/** Handles a dead-letter route; false when the path is not one. */
export async function dlqRoute(
  ctx: AdminContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  method: string,
  query: URLSearchParams,
): Promise<boolean> {
  if (path === '/api/dlq') {
    allow(method, 'GET', 'DELETE');
    const reason = reasonParam(query);
    const sid = idParam(query, 'sid');
    if (method === 'DELETE') {
      const purged = await ctx.dlq.purge({
        ...(reason === undefined ? {} : { reason }),
        ...(sid === undefined ? {} : { sid }),
      });
      sendJson(res, 200, { purged, size: (await ctx.dlq.stats()).size });
      return true;
    }
    const limit = intParam(query, 'limit', 100, 1, MAX_LIMIT);
    const after = cursorParam(ctx, query);
    // Asked together: one wait, not two, on a networked store.
    const [entries, figures] = await Promise.all([
      // One entry past the page (by count or by bytes) tells that there is a next page.
      ctx.dlq.list({
        limit: limit + 1,
        maxBytes: DLQ_PAGE_BYTES,
        ...(after === undefined ? {} : { after }),
        ...(reason === undefined ? {} : { reason }),
        ...(sid === undefined ? {} : { sid }),
      }),
      ctx.dlq.stats(),
    ]);
    // Cut here too: a store may not know `maxBytes` (one written for an older port).
    const page = entries.slice(0, Math.min(limit, pageByBytes(entries, DLQ_PAGE_BYTES)));
    sendJson(res, 200, {
      size: figures.size,
      bytes: figures.bytes,
      evicted: figures.evicted,
      entries: page.map(entryView),
      // The cursor for the next page, present only when there is one.
      ...(entries.length > page.length ? { next: page[page.length - 1]!.id } : {}),
    });
    return true;
  }
  let m = DLQ_REPLAY.exec(path);
  if (m !== null) {
    allow(method, 'POST');
    const id = deadLetterId(ctx, m[1]!);
    const entry = await deadLetter(ctx, id);
    // One replay of an entry at a time: a second one racing the first would send it twice.
    if (!(await ctx.dlq.claim(id)))
      throw new HttpError(409, 'replay_in_progress', `dead letter ${id} is being replayed`);
    try {
      const body = await readOptionalJson(req, ctx.maxBodyBytes);
      const target = body.sid === undefined ? entry.sid : body.sid;
      if (typeof target !== 'string' || target.length === 0 || target.length > MAX_ID_LENGTH)
        throw new HttpError(
          400,
          'bad_request',
          `"sid" must be a string of 1-${MAX_ID_LENGTH} characters`,
        );
      // A new stored message (new seq). A full outbox refuses it (429 outbox_full) whatever
      // its policy, so it is never dropped again; the entry leaves the queue only once stored.
      const r = await ctx.hub.send(target, JSON.parse(entry.data) as unknown, { ifFull: 'reject' });
      if (!(await ctx.dlq.delete(id)))
        throw new HttpError(409, 'replay_in_progress', `dead letter ${id} went away`);
      sendJson(res, 202, { id, sid: target, ...r });
    } finally {
      await release(ctx, id);
    }
    return true;
  }
  m = DLQ_ENTRY.exec(path);
  if (m !== null) {
    allow(method, 'GET', 'DELETE');
    const id = deadLetterId(ctx, m[1]!);
    const entry = await deadLetter(ctx, id);
    if (method === 'DELETE') await ctx.dlq.delete(id);
    sendJson(res, 200, entryView(entry));
    return true;
  }
  return false;
}

/** A dead letter as the API shows it: its data as JSON, `at` as ISO 8601 (the store: ms). */
function entryView(e: DeadLetter): Record<string, unknown> {
  return { ...e, data: JSON.parse(e.data) as unknown, at: isoTime(e.at) };
}

/**
 * End a replay's claim. After the answer is sent a failure cannot reach the caller: it is
 * reported (`error` event, where `dead-letter`) and the claim is left to the store (a
 * networked store bounds a claim's life, src/outbox/dead-letter-store.ts).
 */
async function release(ctx: AdminContext, id: DeadLetterId): Promise<void> {
  try {
    await ctx.dlq.unclaim(id);
  } catch (error) {
    ctx.onError?.('dead-letter', error);
  }
}

/** A path segment as the store's id; one it cannot read is no dead letter of it (404). */
function deadLetterId(ctx: AdminContext, text: string): DeadLetterId {
  const id = ctx.dlq.parseId(text);
  if (id === undefined) throw unknownDeadLetter(text);
  return id;
}

async function deadLetter(ctx: AdminContext, id: DeadLetterId): Promise<DeadLetter> {
  const entry = await ctx.dlq.get(id);
  if (entry === undefined) throw unknownDeadLetter(String(id));
  return entry;
}

function unknownDeadLetter(id: string): HttpError {
  return new HttpError(
    404,
    'unknown_dead_letter',
    `no dead letter ${id.slice(0, 64)} (replayed, purged or evicted)`,
  );
}

/** `after`: the `next` of a previous page (a dead-letter id); absent: from the oldest. */
function cursorParam(ctx: AdminContext, q: URLSearchParams): DeadLetterId | undefined {
  const raw = q.get('after');
  if (raw === null) return undefined;
  const id = ctx.dlq.parseId(raw);
  if (id === undefined)
    throw new HttpError(
      400,
      'bad_request',
      `"after" must be a dead-letter id (the "next" of a previous page), got ${JSON.stringify(raw.slice(0, 32))}`,
    );
  return id;
}

function reasonParam(q: URLSearchParams) {
  const raw = q.get('reason');
  if (raw === null) return undefined;
  if (!isDeadLetterReason(raw))
    throw new HttpError(
      400,
      'bad_request',
      `unknown dead-letter reason ${JSON.stringify(raw.slice(0, 32))}`,
    );
  return raw;
}
