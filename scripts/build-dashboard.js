// Bundles the dashboard (dashboard/, docs/operations.md "Dashboard") into dist/dashboard/:
// app.js (the page's TypeScript, the client SDK and uPlot in one ES module), app.css (uPlot's
// stylesheet and ours) and index.html. Run by `npm run build` after tsc.
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
await mkdir(out, { recursive: true });

await build({
  entryPoints: [join(root, 'dashboard', 'src', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  // The SDK loads `ws` only where there is no global WebSocket (Node 20): never in a browser.
  external: ['ws'],
  logLevel: 'warning',
});

const css = await Promise.all([
  readFile(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8'),
  readFile(join(root, 'dashboard', 'style.css'), 'utf8'),
]);
await writeFile(join(out, 'app.css'), css.join('\n'));
await writeFile(join(out, 'index.html'), await readFile(join(root, 'dashboard', 'index.html')));
