/**
 * The WebSocket endpoint: upgrades on /ws (subprotocol rws.v1, or none), enforces the max
 * message size (ws closes with 1009) and the connection limit, and hands each socket to the
 * hub through a WsTransport.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type Server as WsServer } from 'ws';
import { CloseCode, SUBPROTOCOL, WS_PATH } from '../protocol/index.js';
import type { Hub } from '../session/hub.js';
import { RwsSocket, WsTransport } from './ws-transport.js';

export interface EndpointOptions {
  maxFrameBytes: number;
  /** The connections' high-water mark (bytes): writes that may reach its half are watched. */
  highWaterMark: number;
  maxConnections: number;
  /** While true, new connections are refused with 4003 (draining). */
  isDraining: () => boolean;
}

export class WsEndpoint {
  readonly wss: WsServer<typeof RwsSocket>;

  constructor(
    private readonly hub: Hub,
    private readonly options: EndpointOptions,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: RwsSocket,
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
      this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, req));
    });
  }

  /**
   * A socket that completed the upgrade. Kept out of the upgrade listener's scope on purpose:
   * a closure created there (a listener the socket keeps for its lifetime) would hold that
   * scope's context and with it the whole IncomingMessage, headers and all (≈ 1.5 KB per
   * connection, measured by benchmark memory-per-connection).
   */
  private opened(ws: RwsSocket, req: IncomingMessage): void {
    // First: the transport listens for 'error' (an unheard one would crash the process).
    const transport = new WsTransport(ws, this.options.highWaterMark / 2);
    if (req.headers['sec-websocket-protocol'] !== undefined && ws.protocol !== SUBPROTOCOL) {
      // The client asked for subprotocols and none is ours: it would misread every frame.
      ws.close(CloseCode.Policy, `unsupported subprotocol; use ${SUBPROTOCOL}`);
      return;
    }
    if (this.options.isDraining()) {
      ws.close(CloseCode.Overloaded, 'draining');
      return;
    }
    if (this.hub.connectionCount >= this.options.maxConnections) {
      ws.close(CloseCode.Overloaded, 'too many connections');
      return;
    }
    const { handlers } = this.hub.accept(transport, () => req.socket.remoteAddress);
    transport.bind(handlers);
  }

  close(): void {
    this.wss.close();
  }
}
