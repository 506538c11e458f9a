/**
 * A minimal gateway built with the library: answers every client message with an echo
 * (refusing empty ones with a typed nack), and pushes a stored message to each new session.
 *
 *   npm run build && node dist/examples/echo-server.js [port]
 */
import { createServer, NackError } from '../src/index.js';

const server = createServer({
  port: Number(process.argv[2] ?? 8090),
  sessionTtl: '2m',
  onMessage: ({ sid, data }) => {
    if (data === '' || data === null)
      throw new NackError('empty', 'send something', { retryable: false });
    return { echo: data, sid };
  },
});

server.on('resume', (e) => {
  if (!e.resumed) void server.send(e.sid, { welcome: 'hello from the server' });
  else if (!e.recovered)
    console.log(`session ${e.sid} resumed with a ${e.reason} (${e.missing} missing)`);
});

const { url } = await server.listen();
console.log(`listening ${url}`);

const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
