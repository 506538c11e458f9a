/**
 * A scriptable stdio "MCP server" in plain JavaScript (no SDK), for the mcp-serve tests:
 * written to a temp dir and run with `node`. It answers JSON-RPC requests by method, so a
 * test can make it misbehave on cue:
 *
 * - `initialize` → `{protocolVersion, capabilities: {}, serverInfo, pid, initializeCount}`
 * - `echo` → `{pid, id, params}`: the id and params it saw (rewritten ones with --shared)
 * - `progress {steps, delayMs}` → one `notifications/progress` per step (token from _meta), then
 *   `{done: steps}`
 * - `noise` → prints a non-JSON line and a JSON line that is not JSON-RPC on stdout, then `{}`
 * - `stderr {text}` → writes `text` to stderr, then `{}`
 * - `hang` → never answers; `exit {code}` → exits at once (mid-call)
 * - `ask` → sends the client a request (`sampling/createMessage`), answers with what came back
 * - `notify` → sends `notifications/message`, then `{}`
 * - `big {bytes}` → a result holding a string of that many bytes
 * - `late` → answers `{}`, then sends a progress (99) for the request's token (a spec breach)
 *
 * Every message it reads is appended to `$RAW_LOG` as `{pid, msg}`. Stdin EOF exits, unless
 * `RAW_IGNORE_EOF=1`; `RAW_IGNORE_TERM=1` ignores SIGTERM.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = String.raw`
const { appendFileSync } = require('node:fs');
const log = process.env.RAW_LOG;
let initializeCount = 0;
const waiting = new Map();
const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const reply = (id, result) => out({ jsonrpc: '2.0', id, result });
if (process.env.RAW_IGNORE_TERM === '1') process.on('SIGTERM', () => process.stderr.write('raw-child: SIGTERM ignored\n'));
process.stderr.write('raw-child: started pid ' + process.pid + '\n');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d.toString('utf8');
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line.trim() !== '') handle(JSON.parse(line));
  }
});
process.stdin.on('end', () => {
  process.stderr.write('raw-child: stdin ended\n');
  if (process.env.RAW_IGNORE_EOF !== '1') process.exit(0);
  setInterval(() => {}, 1000);
});
function handle(m) {
  if (log) appendFileSync(log, JSON.stringify({ pid: process.pid, msg: m }) + '\n');
  if (m.method === undefined) {
    const w = waiting.get(m.id);
    if (w) { waiting.delete(m.id); reply(w, { answer: m }); }
    return;
  }
  if (m.method === 'notifications/cancelled') {
    process.stderr.write('raw-child: cancelled ' + JSON.stringify(m.params.requestId) + '\n');
    return;
  }
  if (m.id === undefined) return;
  const p = m.params || {};
  switch (m.method) {
    case 'initialize':
      initializeCount++;
      return reply(m.id, { protocolVersion: p.protocolVersion, capabilities: {}, serverInfo: { name: 'raw', version: '1' }, pid: process.pid, initializeCount });
    case 'echo':
      return reply(m.id, { pid: process.pid, id: m.id, params: p });
    case 'progress': {
      const token = p._meta && p._meta.progressToken;
      let i = 0;
      const step = () => {
        i++;
        if (token !== undefined) out({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: i, total: p.steps } });
        if (i < p.steps) setTimeout(step, p.delayMs);
        else reply(m.id, { done: p.steps });
      };
      return setTimeout(step, p.delayMs);
    }
    case 'noise':
      process.stdout.write('this line is not JSON\n');
      process.stdout.write(JSON.stringify({ level: 'info', msg: 'a log line on stdout' }) + '\n');
      return reply(m.id, {});
    case 'stderr':
      process.stderr.write(p.text + '\n');
      return reply(m.id, {});
    case 'hang':
      return;
    case 'exit':
      return process.exit(p.code);
    case 'ask':
      waiting.set('srv-1', m.id);
      return out({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} });
    case 'notify':
      out({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hi' } });
      return reply(m.id, {});
    case 'late':
      reply(m.id, {});
      return out({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: p._meta.progressToken, progress: 99 } });
    case 'big':
      return reply(m.id, { text: 'x'.repeat(p.bytes) });
    default:
      out({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no method ' + m.method } });
  }
}
`;

/** Writes the child script into `dir`; returns its path (run it with `node <path>`). */
export function writeRawChild(dir: string): string {
  const path = join(dir, 'raw-mcp-child.cjs');
  writeFileSync(path, SOURCE);
  return path;
}

/** The messages the raw child(ren) logged to `$RAW_LOG`. */
export function rawLog(path: string): { pid: number; msg: Record<string, unknown> }[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { pid: number; msg: Record<string, unknown> });
}

/** Touches the log file so that it exists (empty). */
export function touch(path: string): void {
  appendFileSync(path, '');
}
