/** The SDK uses the emitter shared with the server (src/protocol/emitter.ts). */
export { Emitter, type Listener } from '../src/protocol/emitter.js';
