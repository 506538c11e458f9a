/**
 * A Node client with the SDK: connects, prints what the server pushes, sends one message and
 * prints the answer, then says bye.
 *
 *   npm run build && node dist/examples/node-client.js ws://127.0.0.1:8090/ws
 */
import { ResilientClient } from '../client/index.js';

const url = process.argv[2] ?? 'ws://127.0.0.1:8090/ws';
const client = new ResilientClient(url);

client.on('message', ({ seq, data }) =>
  console.log(`message ${seq ?? '-'}: ${JSON.stringify(data)}`),
);
client.on('resumed', (e) => console.log(`resumed: recovered=${e.recovered} ${e.reason ?? ''}`));
client.on('reconnecting', (e) =>
  console.log(`connection lost (${e.lastCloseCode}): attempt ${e.attempt} in ${e.delayMs} ms`),
);
client.on('close', (e) => console.log(`closed ${e.code}`));

client.connect();
const answer = await client.send({ text: 'hi' });
console.log(`answer: ${JSON.stringify(answer)}`);
await new Promise((resolve) => setTimeout(resolve, 200));
await client.close();
