/**
 * The two text formats of `/metrics`, chosen by content negotiation: Prometheus text 0.0.4
 * (the default: curl, browsers, old scrapers) and OpenMetrics 1.0 (what Prometheus asks for
 * first). They differ in counter family names (OpenMetrics drops `_total` from the family),
 * `_created` samples, `# UNIT`, the escaping of HELP, and the final `# EOF`.
 */
import type { FamilySnapshot } from './types.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** A parameter value as a quoted string (`"1.0.0"`, RFC 9110 §5.6.4) is read without its quotes. */
function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"')
    ? v.slice(1, -1).replace(/\\(.)/g, '$1')
    : v;
}

/**
 * Picks the format from an Accept header: OpenMetrics when it is accepted (version 1.0.0 or
 * unversioned; the version may be quoted) with a quality at least that of text/plain or a
 * wildcard; otherwise text 0.0.4.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'prometheus';
  let om = 0;
  let other = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const [k, raw = ''] = p.split('=').map((s) => s.trim());
      const v = unquote(raw);
      if (k === 'q') q = Number.isFinite(Number(v)) ? Number(v) : 0;
      else if (k === 'version') version = v;
    }
    if (type === 'application/openmetrics-text') {
      if (version === undefined || version === '1.0.0' || version === '0.0.1') om = Math.max(om, q);
    } else if (type === 'text/plain' || type === 'text/*' || type === '*/*') {
      other = Math.max(other, q);
    }
  }
  return om > 0 && om >= other ? 'openmetrics' : 'prometheus';
}

function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(v: string, format: ExpositionFormat): string {
  const re = format === 'openmetrics' ? /[\\"\n]/g : /[\\\n]/g;
  return v.replace(re, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function formatNumber(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** OpenMetrics wants canonical floats for `le` ("1.0", not "1"). */
function formatBound(v: number, om: boolean): string {
  return om && Number.isInteger(v) ? v.toFixed(1) : formatNumber(v);
}

function labelText(
  names: readonly string[],
  values: readonly string[],
  extra?: readonly [string, string],
): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Renders the families in one format; the text ends with a newline (and `# EOF` for OpenMetrics). */
export function formatMetrics(
  families: readonly FamilySnapshot[],
  format: ExpositionFormat,
): string {
  const om = format === 'openmetrics';
  const out: string[] = [];
  for (const f of families) {
    const family = om && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    out.push(`# HELP ${family} ${escapeHelp(f.help, format)}`);
    out.push(`# TYPE ${family} ${f.type}`);
    if (om && f.unit !== undefined && family.endsWith(`_${f.unit}`))
      out.push(`# UNIT ${family} ${f.unit}`);
    for (const s of f.series) {
      const labels = labelText(f.labelNames, s.labelValues);
      const created =
        om && s.created !== undefined
          ? `${family}_created${labels} ${formatNumber(s.created)}`
          : '';
      if (f.type === 'histogram') {
        const bounds = f.bounds ?? [];
        const buckets = s.buckets ?? [];
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          cumulative += buckets[i] ?? 0;
          const le = i < bounds.length ? formatBound(bounds[i]!, om) : '+Inf';
          out.push(
            `${family}_bucket${labelText(f.labelNames, s.labelValues, ['le', le])} ${formatNumber(cumulative)}`,
          );
        }
        out.push(`${family}_sum${labels} ${formatNumber(s.sum ?? 0)}`);
        out.push(`${family}_count${labels} ${formatNumber(s.value)}`);
      } else if (f.type === 'counter') {
        out.push(`${family}${om ? '_total' : ''}${labels} ${formatNumber(s.value)}`);
      } else {
        out.push(`${family}${labels} ${formatNumber(s.value)}`);
      }
      if (created !== '') out.push(created);
    }
  }
  if (om) out.push('# EOF');
  return out.join('\n') + '\n';
}
