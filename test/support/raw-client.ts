/**
 * A protocol-level test client over a real `ws` socket: send frames as JSON or raw text,
 * await frames by predicate, and observe the close code. No SDK logic.
 */
import WebSocket from 'ws';

export interface Frame {
  t: string;
  [field: string]: unknown;
}

export class RawClient {
  readonly frames: Frame[] = [];
  /** Raw WebSocket messages as received (to observe batching). */
  readonly messages: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { pred: (f: Frame) => boolean; from: number; resolve: (f: Frame) => void }[] =
    [];
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      this.messages.push(text);
      for (const part of text.split('\n')) {
        const frame = JSON.parse(part) as Frame;
        this.frames.push(frame);
        const index = this.frames.length - 1;
        this.waiters = this.waiters.filter((w) => {
          if (index >= w.from && w.pred(frame)) {
            w.resolve(frame);
            return false;
          }
          return true;
        });
      }
    });
  }

  /**
   * `headers`: extra request headers. A `Sec-WebSocket-Protocol` header given here (with no
   * `protocols`) is sent as is but not checked by `ws`, so a server that answers without a
   * subprotocol still opens and its close code can be observed (`ws` aborts a handshake
   * whose offered subprotocols were not answered, before any close frame is read).
   */
  static async connect(
    url: string,
    protocols: string | string[] = 'rws.v1',
    headers: Record<string, string> = {},
  ): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, { headers });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed with ${code} before open`)));
    });
    return client;
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Send hello and wait for welcome (or an error). */
  async hello(
    resume?: { sid: string; key: string; ack: number },
    extra: Record<string, unknown> = {},
  ): Promise<Frame> {
    this.send({ t: 'hello', v: 1, ...extra, ...(resume === undefined ? {} : { resume }) });
    return this.next((f) => f.t === 'welcome');
  }

  /** The next frame (after those already consumed by `next`) that matches. */
  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    for (let i = this.cursor; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (pred(f)) {
        this.cursor = i + 1;
        return Promise.resolve(f);
      }
    }
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        from: this.frames.length,
        resolve: (f) => {
          clearTimeout(timer);
          this.cursor = this.frames.indexOf(f) + 1;
          resolve(f);
        },
      });
    });
  }

  /** Wait until `count` stored msgs (with seq) have arrived in total; returns them all. */
  async messagesUpTo(count: number, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.msgs().length < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.msgs().length} of ${count} messages arrived`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.msgs();
  }

  msgs(): Frame[] {
    return this.frames.filter((f) => f.t === 'msg');
  }

  close(code = 1000): void {
    this.ws.close(code);
  }

  /** Drop the TCP connection without a close handshake (a network failure). */
  destroy(): void {
    this.ws.terminate();
  }
}

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` returns true (for effects with no event to await). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
