/**
 * The admin API as the page calls it. The admin token, when the server has one, is asked for
 * once and kept in sessionStorage: this tab only, gone when it closes. Requests go to the
 * page's own origin (the server refuses admin requests from other origins, docs/protocol.md
 * §12), with `Authorization: Bearer`; the stats stream, an EventSource that cannot set
 * headers, takes it as `?token=`.
 */

const TOKEN_KEY = 'resilient-ws-admin-token';

/** An admin API error: the server's `{error: {code, message}}`, or the network's. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(value: string): void {
  try {
    if (value === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // Storage refused (private mode): the token lives as long as this page instead.
  }
  memoryToken = value;
}

let memoryToken = '';

function currentToken(): string {
  return token() || memoryToken;
}

/** Called when the server answers 401: the page asks for the token. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  const t = currentToken();
  if (t !== '') headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'network', `the server did not answer (${String(error)})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText);
  }
  return json as T;
}

/** The stats stream's URL, with the token when there is one. */
export function streamUrl(): string {
  const t = currentToken();
  return t === '' ? '/api/stats/stream' : `/api/stats/stream?token=${encodeURIComponent(t)}`;
}

/** Whether the page can reach the admin API: true, or the error that says why not. */
export async function probe(): Promise<true | ApiError> {
  try {
    await api('GET', '/api/breakers');
    return true;
  } catch (error) {
    return error instanceof ApiError ? error : new ApiError(0, 'network', String(error));
  }
}
