/**
 * The application's position in the session's stream of stored messages: drops replayed
 * duplicates by seq, reports holes, starts again from 0 when the server starts a new stream,
 * and feeds the ack batcher.
 */
import type { WelcomeFrame } from '../src/protocol/index.js';
import type { AckBatcher } from './ack-batcher.js';
import type { ClientGapEvent, ClientResumedEvent } from './events.js';

export interface WelcomeOutcome {
  /** Set when `hello` asked to resume. */
  resumed?: ClientResumedEvent;
  /**
   * Set when the server could not replay everything: reason `gap`, or any `missing` > 0
   * (also with `epoch_changed`).
   */
  gap?: ClientGapEvent;
}

export class InboundStream {
  private processed: number;
  /**
   * `welcome.last` of a resume: seqs up to it are the replay, whose losses `welcome.missing`
   * already counted, so a hole at or below it is never reported again as a live gap.
   */
  private replayUntil = 0;
  /** The server names the seq before each hole (`msg.prev`, protocol 1.1). */
  private attests = false;

  constructor(
    initial: number,
    private readonly acks: AckBatcher,
  ) {
    this.processed = initial;
  }

  /** Highest seq processed (what `hello.resume.ack` carries). */
  get last(): number {
    return this.processed;
  }

  /** The connection is gone: pending acks are moot, the next `hello` carries `last`. */
  detach(): void {
    this.acks.reset(this.processed);
  }

  /** Applies a `welcome`; `resumeAsked` = `hello` carried `resume`. */
  welcome(w: WelcomeFrame, resumeAsked: boolean): WelcomeOutcome {
    // A new session (or a stream rebuilt after data loss) numbers its messages from 1 again.
    if (resumeAsked && (!w.resumed || w.reason === 'epoch_changed')) this.processed = 0;
    this.replayUntil = w.resumed ? w.last : 0;
    this.attests = (w.minor ?? 0) >= 1;
    this.acks.reset(this.processed);
    if (!resumeAsked) return {};
    if (!w.resumed) return { resumed: { recovered: false, reason: w.reason ?? 'unknown_session' } };
    const resumed: ClientResumedEvent = { recovered: w.recovered };
    if (w.reason !== undefined) resumed.reason = w.reason;
    if (w.missing !== undefined) resumed.missing = w.missing;
    const missing = w.missing ?? 0;
    if (w.reason !== 'gap' && missing <= 0) return { resumed };
    return { resumed, gap: { reason: 'resume', missing } };
  }

  /**
   * Takes a stored message's seq (and `prev`, the seq the server wrote before it): `dup` if it
   * was processed already (drop it), else marks it processed, schedules its ack and returns
   * the loss before it, if any. From a 1.1 server only seqs the server did not account for
   * are lost: those up to `prev` (the ones after it were superseded or counted in `missing`).
   * From a 1.0 server, the hole's part above `replayUntil` (the rest was counted by the
   * resume's `missing`), superseded or not.
   */
  accept(seq: number, prev: number | undefined): 'dup' | ClientGapEvent | undefined {
    if (seq <= this.processed) {
      // The server may not have our ack yet; make sure it gets one, or it replays again.
      this.acks.processed(this.processed);
      return 'dup';
    }
    const from = this.attests ? this.processed + 1 : Math.max(this.processed, this.replayUntil) + 1;
    const to = this.attests ? (prev ?? seq - 1) : seq - 1;
    this.processed = seq;
    this.acks.processed(seq);
    if (to < from) return undefined;
    return { reason: 'live', from, to };
  }
}
