/**
 * The typed event emitter (shared with the client SDK, so it lives in protocol/, which has
 * no Node imports). See src/protocol/emitter.ts.
 */
export { Emitter, type Listener } from './protocol/emitter.js';
