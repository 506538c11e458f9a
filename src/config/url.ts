/**
 * URL settings (upstreamUrl): what is accepted, and how a value is shown without the
 * credentials it may carry.
 */

// The scheme is required as written: the WHATWG parser would also take `http:host/x` or
// `http:\\host`, which nobody means, and `localhost:9000/x` parses with scheme `localhost:`.
const HTTP_URL = /^https?:\/\/\S+$/i;

/**
 * Empty, or an absolute http(s) URL with a host and without `user:password@`: Node's fetch
 * throws on credentials in a URL, and its error message would carry the password into the
 * logs, so such a URL is refused at start-up instead.
 */
export function isHttpUrlSetting(value: string): boolean {
  if (value === '') return true;
  if (!HTTP_URL.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === ''
  );
}

/**
 * `text` without credentials: an http(s) URL that parses and has none is returned as is; otherwise
 * everything between the scheme and the last `@` is replaced by `<redacted>`. Works on text
 * that is not a valid URL, since refused values are quoted in errors too (a password with a
 * `/` or `#` makes the URL unparseable): `http://u:p@h/x` → `http://<redacted>@h/x`,
 * `u:p@h/x` → `<redacted>@h/x`.
 */
export function redactUrlCredentials(text: string): string {
  const at = text.lastIndexOf('@');
  if (at === -1) return text;
  try {
    // Only where the parser found an authority: `alice:secret@host/x` parses too, as an
    // opaque path with the scheme `alice:`.
    const url = new URL(text);
    const http = url.protocol === 'http:' || url.protocol === 'https:';
    if (http && url.username === '' && url.password === '') return text;
  } catch {
    // Not a URL: redact conservatively below.
  }
  const scheme = /^[a-z][a-z0-9+.-]*:(?:\/\/|\\\\)/i.exec(text)?.[0] ?? '';
  const start = Math.min(scheme.length, at);
  return `${text.slice(0, start)}<redacted>${text.slice(at)}`;
}

const STORE_URL = /^rediss?:\/\/\S+$/i;

/** `memory`, or a redis:// or rediss:// URL with a host (credentials allowed). */
export function isStoreSetting(value: string): boolean {
  if (value === 'memory') return true;
  if (!STORE_URL.test(value)) return false;
  try {
    return new URL(value).hostname !== '';
  } catch {
    return false;
  }
}
