/**
 * Web origins for the /ws Origin allowlist (`allowedOrigins`): parsed by the configuration
 * (config/values.ts) and compared by the admission of upgrades (transport/admission.ts).
 * Imports nothing, so both layers may use it.
 */

/**
 * `origin` normalised for comparison (`scheme://host[:port]`, lower case, default port left
 * out), or undefined when it is not an http(s) origin (`null`, garbage, a path).
 */
export function normaliseOrigin(origin: string): string | undefined {
  let u: URL;
  try {
    u = new URL(origin.trim());
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username !== '' || u.password !== '') return undefined;
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '') return undefined;
  return u.origin;
}

/** The entries of an `allowedOrigins` value, normalised; undefined if one is not an origin. */
export function parseOriginList(value: string): string[] | undefined {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    if (raw.trim() === '') continue;
    const o = normaliseOrigin(raw);
    if (o === undefined) return undefined;
    out.push(o);
  }
  return out;
}
