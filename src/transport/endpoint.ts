/**
 * The WebSocket endpoint: upgrades on /ws (subprotocol rws.v1, or none), admits them (Origin
 * allowlist, connection limits global and per client IP: refused with an HTTP error before
 * the handshake, admission.ts), enforces the max message size (ws closes with 1009), and
 * hands each socket to the hub through a WsTransport.
 */
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type Server as WsServer } from 'ws';
import { CloseCode, SUBPROTOCOL, WS_PATH } from '../protocol/index.js';
import type { Hub } from '../session/hub.js';
import { Admission, type AdmissionOptions, type RefusalCode } from './admission.js';
import { RwsSocket, WsTransport } from './ws-transport.js';

export interface EndpointOptions extends AdmissionOptions {
  maxFrameBytes: number;
  /** The connections' high-water mark (bytes): writes that may reach its half are watched. */
  highWaterMark: number;
  /** While true, new connections are refused with 4003 (draining). */
  isDraining: () => boolean;
  /** An upgrade was refused before the handshake (for the metrics). */
  onRefused?: (code: RefusalCode) => void;
}

function ignore(): void {}

export class WsEndpoint {
  readonly wss: WsServer<typeof RwsSocket>;
  readonly admission: Admission;
  /** One 'close' listener shared by every socket (no closure per connection). */

  constructor(
    private readonly hub: Hub,
    private readonly options: EndpointOptions,
  ) {
    const admission = (this.admission = new Admission(options));
    // This endpoint's sockets: the slot goes back through their prototype (no per-socket
    // listener), from the socket's one 'close' listener (ws-transport.ts).
    class EndpointSocket extends RwsSocket {}
    EndpointSocket.prototype.releaseSlot = (ip: string) => admission.release(ip);
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: EndpointSocket,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  /** Route upgrades on /ws of this HTTP server to the endpoint. */
  attach(server: HttpServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // Before ws reads anything else and before any session work.
      const ip = this.admission.ipOf(req);
      const refused = this.admission.check(req, ip);
      if (refused !== undefined) {
        this.options.onRefused?.(refused.code);
        const body = JSON.stringify({ error: { code: refused.code, message: refused.message } });
        socket.on('error', ignore);
        socket.end(
          `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status]}\r\n` +
            'Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, req, ip));
    });
  }

  /**
   * A socket that completed the upgrade. Kept out of the upgrade listener's scope on purpose:
   * a closure created there (a listener the socket keeps for its lifetime) would hold that
   * scope's context and with it the whole IncomingMessage, headers and all (≈ 1.5 KB per
   * connection, measured by benchmark memory-per-connection).
   */
  private opened(ws: RwsSocket, req: IncomingMessage, ip: string): void {
    // First: the transport listens for 'error' (an unheard one would crash the process).
    const transport = new WsTransport(ws, this.options.highWaterMark / 2);
    // The slot is held from here until the socket closes, whatever happens next.
    this.admission.admit(ip);
    ws.clientIp = ip;
    if (req.headers['sec-websocket-protocol'] !== undefined && ws.protocol !== SUBPROTOCOL) {
      // The client asked for subprotocols and none is ours: it would misread every frame.
      ws.close(CloseCode.Policy, `unsupported subprotocol; use ${SUBPROTOCOL}`);
      return;
    }
    if (this.options.isDraining()) {
      ws.close(CloseCode.Overloaded, 'draining');
      return;
    }
    // The request's parts go to the hub only for an `authenticate` hook (kept until hello).
    // A value, not a closure: a closure over `req` here would put it in the context that
    // `() => ip` keeps for the connection's life (+100 B per idle connection, measured).
    const request = this.hub.authenticates
      ? { ip, headers: req.headers, url: req.url ?? '/' }
      : undefined;
    const { handlers } = this.hub.accept(transport, () => ip, request);
    transport.bind(handlers);
  }

  close(): void {
    this.wss.close();
  }
}
