/** The hub's shutdown of its connections (`Hub.closeAll`). */
import type { Connection } from './connection.js';

/**
 * Close every connection of `open` with `code` and `reason`; resolves when all have closed,
 * terminating those still open after `graceMs` (and giving up ~1 s after that).
 */
export async function closeConnections(
  open: ReadonlySet<Connection>,
  code: number,
  reason: string,
  graceMs: number,
): Promise<void> {
  // Real time on purpose: shutdown must end even when a test has frozen the injected clock.
  for (const c of open) c.close(code, reason);
  const deadline = Date.now() + graceMs;
  while (open.size > 0 && Date.now() < deadline) await delay(10);
  for (const c of open) c.transport.terminate();
  while (open.size > 0 && Date.now() < deadline + 1000) await delay(10);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
