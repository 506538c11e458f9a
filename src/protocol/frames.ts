/**
 * Protocol v1 frames (docs/protocol.md). Every frame is one JSON object with a string `t`.
 * This folder is shared with the client SDK: no Node imports here.
 */
export const PROTOCOL_VERSION = 1;
/**
 * Protocol revision 1.1 (docs/protocol.md, "Versions"): additive, so `v` stays 1 and v1
 * clients keep working. `welcome.minor` is 1; `msg` frames carry `key` and, across a hole in
 * the seqs, `prev`; the server names `session_ended` and `disconnected` before closing.
 */
export const PROTOCOL_MINOR = 1;
export const SUBPROTOCOL = 'rws.v1';
export const WS_PATH = '/ws';
export const MAX_ID_LENGTH = 128;

export interface ResumeRequest {
  sid: string;
  key: string;
  /** Highest seq the client has processed (0 if none). */
  ack: number;
}

// Client → server
export interface HelloFrame {
  t: 'hello';
  v: number;
  token?: string;
  resume?: ResumeRequest;
}
export interface AckFrame {
  t: 'ack';
  seq: number;
}
export interface ClientMsgFrame {
  t: 'msg';
  id: string;
  data: unknown;
}
export interface PingFrame {
  t: 'ping';
}
export interface PongFrame {
  t: 'pong';
}
export interface ByeFrame {
  t: 'bye';
}
export type ClientFrame = HelloFrame | AckFrame | ClientMsgFrame | PingFrame | PongFrame | ByeFrame;

// Server → client
export type ResumeReason = 'new_session' | 'unknown_session' | 'gap' | 'epoch_changed';
export interface WelcomeFrame {
  t: 'welcome';
  v: number;
  sid: string;
  key: string;
  epoch: string;
  resumed: boolean;
  recovered: boolean;
  reason?: ResumeReason;
  missing?: number;
  last: number;
  hb: number;
  /** Protocol revision: 1 from 1.1 on (absent from a 1.0 server). */
  minor?: number;
}
export interface ServerMsgFrame {
  t: 'msg';
  /** Absent for volatile messages, which are never stored. */
  seq?: number;
  /**
   * 1.1: present when the previous stored message this connection was sent is not `seq - 1`
   * (for the first one after `welcome`: when the resume's ack is not `seq - 1`). Every seq
   * between `prev` and `seq` was superseded by a newer message with the same key, or counted
   * in `welcome.missing`: none is a loss to report again.
   */
  prev?: number;
  data: unknown;
  id?: string;
  /** 1.1: the key of a keyed message (latest value wins). */
  key?: string;
}
export interface OkFrame {
  t: 'ok';
  id: string;
  dup?: true;
  data?: unknown;
}
export interface NackFrame {
  t: 'nack';
  id: string;
  code: string;
  message: string;
  retryable: boolean;
  /** With a retryable nack: wait at least this long (ms) before sending the message again. */
  retryAfterMs?: number;
}
export interface ErrorFrame {
  t: 'error';
  code: string;
  message: string;
}
export type ServerFrame =
  WelcomeFrame | ServerMsgFrame | OkFrame | NackFrame | PingFrame | PongFrame | ErrorFrame;
