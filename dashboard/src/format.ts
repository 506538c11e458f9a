/** Number formatting for the dashboard: short, fixed-width friendly, never "NaN". */

const DASH = '–';

/** 1234 → "1,234"; 1234567 → "1.23 M"; null/undefined/NaN → "–". */
export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1);
}

/** A per-second rate: "0", "3.5", "1,200", "12.3 k". */
export function rate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (Math.abs(n) < 10 && n !== 0) return n.toFixed(1);
  return count(Math.round(n));
}

/** Bytes: "512 B", "1.5 KiB", "12.0 MiB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds as a duration: "850 µs", "12.3 ms", "4.2 s", "3 min 5 s", "2 h 1 min". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const s = Math.max(0, seconds);
  if (s === 0) return '0 s';
  if (s < 0.001) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Milliseconds (the admin API's durations, `…Ms`) as a duration, as `duration` shows it. */
export function durationMs(ms: number | null | undefined): string {
  return duration(ms === null || ms === undefined ? ms : ms / 1000);
}

/** A share as a percentage: 0.1234 → "12.3 %". */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return DASH;
  return `${(share * 100).toFixed(1)} %`;
}

/** An ISO time as a local clock time "14:03:07". */
export function clockTime(iso: string | undefined): string {
  if (iso === undefined) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return d.toLocaleTimeString('en-GB', { hour12: false });
}

/** How long ago an ISO time was, from `now` (ms): "3 s ago". */
export function ago(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return DASH;
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return DASH;
  return `${duration(Math.max(0, now - t) / 1000)} ago`;
}
