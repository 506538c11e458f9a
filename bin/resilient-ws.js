#!/usr/bin/env node
// Entry point of the `resilient-ws` command (built code in dist/; run `npm run build` first).
import { main } from '../dist/src/cli/main.js';

main({
  argv: process.argv.slice(2),
  env: process.env,
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `resilient-ws: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
