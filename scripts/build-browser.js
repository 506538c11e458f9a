// Bundles the client SDK (client/index.ts, `resilient-ws/client`) into one minified ES module
// for browsers: dist/browser/resilient-ws-client.js and its source map (sources included).
// It is the package's `resilient-ws/client/browser` export and what the demo page loads from
// GET /sdk/resilient-ws-client.js (client/README.md "In a browser"). Run by `npm run build`.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

await build({
  entryPoints: [join(root, 'client', 'index.ts')],
  outfile: join(root, 'dist', 'browser', 'resilient-ws-client.js'),
  bundle: true,
  format: 'esm',
  // Any `node:*` import reaching the SDK fails the build here instead of in a user's browser.
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  // The SDK loads `ws` only where there is no global WebSocket (Node 20): never in a browser,
  // so the bundle keeps the `import('ws')` it never runs instead of bundling `ws`.
  external: ['ws'],
  banner: { js: `/*! resilient-ws client SDK ${pkg.version} | ${pkg.license} */` },
  logLevel: 'warning',
});
