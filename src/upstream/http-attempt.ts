/**
 * One upstream attempt: POST a JSON body, read a bounded response, and classify the outcome.
 * The caller owns timing, retries and the breaker; this file only speaks HTTP.
 */

export type AttemptOutcome =
  /** 2xx: the parsed JSON body, the text if it is not JSON, undefined if empty. */
  | { kind: 'ok'; status: number; data: unknown }
  /** 4xx: the client's fault. `retryable` only for 408 and 429 (come back later). */
  | { kind: 'rejected'; status: number; message: string; retryable: boolean }
  /** 5xx, 3xx, a connection error or a response over the size bound. */
  | { kind: 'failed'; status: number | undefined; message: string }
  /** The signal fired (timeout or drain: the caller knows which). */
  | { kind: 'aborted' };

export interface AttemptRequest {
  url: string;
  body: string;
  signal: AbortSignal;
  maxResponseBytes: number;
}

/** Longest upstream error message kept in a nack (it goes to a client). */
const MAX_MESSAGE_CHARS = 200;

export async function attempt(req: AttemptRequest): Promise<AttemptOutcome> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: req.body,
      signal: req.signal,
      // A redirect means a misconfigured URL: following it would re-send (or drop) the body.
      redirect: 'manual',
    });
  } catch (error) {
    if (req.signal.aborted) return { kind: 'aborted' };
    return { kind: 'failed', status: undefined, message: connectionMessage(error) };
  }
  const { status } = res;
  let text: string | undefined;
  try {
    text = await readBounded(res, req.maxResponseBytes);
  } catch (error) {
    if (req.signal.aborted) return { kind: 'aborted' };
    return { kind: 'failed', status, message: connectionMessage(error) };
  }
  if (status >= 200 && status < 300) {
    if (text === undefined)
      return {
        kind: 'failed',
        status,
        message: `the upstream's response is larger than ${req.maxResponseBytes} bytes`,
      };
    return { kind: 'ok', status, data: parseBody(text) };
  }
  if (status >= 400 && status < 500)
    return {
      kind: 'rejected',
      status,
      message: `upstream answered ${status}${detail(text)}`,
      retryable: status === 408 || status === 429,
    };
  // A 5xx body is the upstream's internals (stack traces, hosts): the client gets the status.
  return { kind: 'failed', status, message: `upstream answered ${status}` };
}

/** The body as text, or undefined if it is larger than `max` bytes (reading stops there). */
async function readBounded(res: Response, max: number): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max || res.body === null) {
    await res.body?.cancel();
    return declared > max ? undefined : '';
  }
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `: <message>` from `{"error":{"message"}}`, `{"error":"…"}` or a text body; truncated. */
function detail(text: string | undefined): string {
  if (text === undefined || text.trim() === '') return '';
  let message = text.trim();
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string } | null;
    const e = body?.error;
    if (typeof e === 'string') message = e;
    else if (typeof e?.message === 'string') message = e.message;
  } catch {
    // Not JSON: the text itself.
  }
  return `: ${message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message}`;
}

/**
 * fetch hides the reason in `cause` (ECONNREFUSED …); name it by its code only. The error's
 * own message can hold the URL, credentials included, and this text goes to clients.
 */
function connectionMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const name = error instanceof Error ? error.name : undefined;
  return `upstream unreachable (${code ?? name ?? 'connection failed'})`;
}
