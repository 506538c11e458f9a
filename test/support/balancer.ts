/** A WebSocket constructor that connects to whichever node `target()` names: a load balancer
 *  in front of several nodes, for the SDK's `WebSocket` option. */
import WebSocket from 'ws';
import type { WebSocketCtor } from '../../client/socket.js';

export function balanced(target: () => string): WebSocketCtor {
  return class extends WebSocket {
    constructor(_url: string, protocols?: string | string[]) {
      super(target(), protocols);
    }
  };
}
