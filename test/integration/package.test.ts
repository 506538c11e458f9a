/**
 * The npm package holds what a user needs and nothing of the repository's own tooling:
 * `npm pack --dry-run` after `npm run build` (this project runs after it) has the entry
 * points (every `exports` target, `main`, `types`, `bin`, the browser build, the dashboard
 * the server serves), no benchmarks, tests, test helpers, examples or TypeScript sources, is
 * self-contained (every relative import of a shipped module is shipped; every package import
 * is a dependency, the optional peer `vitest`, or a Node built-in), and stays small. Then the
 * real tarball, unpacked into a temporary `node_modules` (its dependencies linked from this
 * repository's, no registry), is imported by its entry names and runs `serve --demo`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

interface PackageJson {
  name: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

async function npmPack(args: string[]): Promise<PackResult> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', ...args], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as PackResult[])[0]!;
}

/** `./dist/x.js` → `dist/x.js` (a path as npm lists it). */
const rel = (p: string): string => posix.normalize(p).replace(/^\.\//, '');

/** Every path `exports` names (all conditions), `main`, `types` and `bin`. */
const ENTRY_FILES = [
  ...Object.values(pkg.exports).flatMap((conditions) => Object.values(conditions)),
  pkg.main,
  pkg.types,
  ...Object.values(pkg.bin),
].map(rel);

/** Module specifiers a shipped file imports (static, dynamic with a literal, `export from`). */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The package files a relative specifier of `from` can mean (`.js` also via its `.d.ts`). */
function targets(from: string, specifier: string): string[] {
  const p = posix.normalize(posix.join(posix.dirname(from), specifier));
  return p.endsWith('.js') ? [p, p.replace(/\.js$/, '.d.ts')] : [p];
}

describe('npm package contents', () => {
  let packed: PackResult;
  let paths: Set<string>;

  beforeAll(async () => {
    packed = await npmPack(['--dry-run']);
    paths = new Set(packed.files.map((f) => f.path));
  });

  it('has every entry point, the browser build and the dashboard the server serves', () => {
    const expected = [
      ...ENTRY_FILES,
      'dist/browser/resilient-ws-client.js',
      'dist/browser/resilient-ws-client.js.map',
      ...['index.html', 'app.js', 'app.js.map', 'app.css'].map((f) => `dist/dashboard/${f}`),
      'README.md',
      'LICENSE',
      'package.json',
    ];
    expect(expected.filter((p) => !paths.has(p))).toEqual([]);
    expect(pkg.exports['./client/browser']).toEqual({
      types: './dist/client/index.d.ts',
      default: './dist/browser/resilient-ws-client.js',
    });
  });

  it('holds no benchmarks, tests, test helpers, examples or TypeScript sources', () => {
    const top = new Set([...paths].map((p) => p.split('/')[0]));
    expect([...top].sort()).toEqual(
      [
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'SECURITY.md',
        'bin',
        'client', // client/README.md only
        'dist',
        'docs',
        'package.json',
      ].sort(),
    );
    const dist = new Set(
      [...paths].filter((p) => p.startsWith('dist/')).map((p) => p.split('/')[1]),
    );
    expect([...dist].sort()).toEqual(['browser', 'client', 'dashboard', 'mcp', 'src']);
    expect([...paths].filter((p) => p.startsWith('client/'))).toEqual(['client/README.md']);
    const unwanted = [...paths].filter(
      (p) =>
        /(^|\/)(bench|test|tests|examples|fuzz|screenshots|coverage|node_modules)\//.test(p) ||
        /\.(test|bench|property)\.|\.tsbuildinfo$/.test(p) ||
        (/\.[cm]?ts$/.test(p) && !p.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  it('ships test helpers only where an entry point imports them (FakeTransport of resilient-ws/testing)', () => {
    // Reachable from the entry points, through the .js and .d.ts import graphs.
    const seen = new Set<string>();
    const queue = ENTRY_FILES.filter((p) => paths.has(p));
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file) || !/\.(js|d\.ts)$/.test(file)) continue;
      seen.add(file);
      for (const s of importsOf(readFileSync(join(ROOT, file), 'utf8')))
        if (s.startsWith('.')) queue.push(...targets(file, s).filter((t) => paths.has(t)));
    }
    const helpers = [...paths].filter((p) => /test-support/.test(p) && !p.endsWith('.map'));
    expect(helpers.filter((p) => !seen.has(p))).toEqual([]);
    expect(helpers.sort()).toEqual([
      'dist/src/session/test-support/fake-transport.d.ts',
      'dist/src/session/test-support/fake-transport.js',
    ]);
  });

  it('is self-contained: relative imports are shipped, package imports are dependencies', () => {
    const allowed = new Set([
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.peerDependencies),
      pkg.name,
    ]);
    const missing: string[] = [];
    const foreign: string[] = [];
    for (const file of paths) {
      if (!/\.(js|d\.ts)$/.test(file)) continue;
      for (const s of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
        if (s.startsWith('.')) {
          if (!targets(file, s).some((t) => paths.has(t))) missing.push(`${file} → ${s}`);
          continue;
        }
        const name = /^(@[^/]+\/[^/]+|[^/]+)/.exec(s)?.[1] ?? s;
        if (s.startsWith('node:') || builtinModules.includes(name)) continue;
        // `ws` is loaded only where there is no global WebSocket (never in a browser).
        if (!allowed.has(name)) foreign.push(`${file} → ${s}`);
      }
    }
    expect(missing).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('stays small', () => {
    // Today about 535 files, 0.8 MB packed, 3 MB unpacked; the benchmarks alone were 100 files.
    expect(packed.entryCount).toBeLessThan(600);
    expect(packed.size).toBeLessThan(1_000_000);
    expect(packed.unpackedSize).toBeLessThan(3_500_000);
    const browser = packed.files.find((f) => f.path === 'dist/browser/resilient-ws-client.js');
    expect(browser?.size).toBeLessThan(40_000);
  });
});

describe('the packed tarball, installed', () => {
  let dir: string;
  let app: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rws-pack-'));
    const { filename } = await npmPack(['--pack-destination', dir]);
    app = join(dir, 'app');
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, pkg.name), { recursive: true });
    await run('tar', [
      '-xzf',
      join(dir, filename),
      '-C',
      join(modules, pkg.name),
      '--strip-components=1',
    ]);
    // Its dependencies (and the optional peer vitest, for resilient-ws/testing) are linked
    // from this repository's node_modules: the test needs no registry.
    const repoModules = realpathSync(join(ROOT, 'node_modules'));
    for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]) {
      mkdirSync(dirname(join(modules, name)), { recursive: true });
      symlinkSync(join(repoModules, name), join(modules, name), 'dir');
    }
  }, 60_000);

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('imports resilient-ws, resilient-ws/client, resilient-ws/client/browser and resilient-ws/testing by name', async () => {
    const script = `
      const names = ['resilient-ws', 'resilient-ws/client', 'resilient-ws/client/browser', 'resilient-ws/testing'];
      const out = {};
      for (const name of names) {
        const mod = await import(name);
        out[name] = { path: import.meta.resolve(name), exports: Object.keys(mod).sort() };
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
    });
    const out = JSON.parse(stdout) as Record<string, { path: string; exports: string[] }>;
    const inApp = (p: string): string =>
      fileURLToPath(out[p]!.path).replace(realpathSync(app), '<app>');
    expect(inApp('resilient-ws')).toBe('<app>/node_modules/resilient-ws/dist/src/index.js');
    expect(inApp('resilient-ws/client')).toBe(
      '<app>/node_modules/resilient-ws/dist/client/index.js',
    );
    expect(inApp('resilient-ws/client/browser')).toBe(
      '<app>/node_modules/resilient-ws/dist/browser/resilient-ws-client.js',
    );
    expect(inApp('resilient-ws/testing')).toBe(
      '<app>/node_modules/resilient-ws/dist/src/testing.js',
    );
    expect(out['resilient-ws']!.exports).toEqual(
      expect.arrayContaining(['createServer', 'MemoryStore']),
    );
    // The single-file build exports exactly what resilient-ws/client does.
    expect(out['resilient-ws/client/browser']!.exports).toEqual(
      out['resilient-ws/client']!.exports,
    );
    expect(out['resilient-ws/client']!.exports).toContain('ResilientClient');
    expect(out['resilient-ws/testing']!.exports).toEqual(
      expect.arrayContaining(['runStoreContract', 'FakeTransport', 'ManualClock']),
    );
  });

  it('runs `resilient-ws serve --demo` from the package: page, browser build, dashboard, echo', async () => {
    const bin = join(app, 'node_modules', pkg.name, pkg.bin['resilient-ws']!);
    const child = spawn(process.execPath, [bin, 'serve', '--demo', '--port', '0'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '' },
      stdio: 'pipe',
    });
    children.push(child);
    const http = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 10_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        const m = /listening on ws:\/\/\S+ \(HTTP (http:\/\/[^)\s]+)\)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/sdk/resilient-ws-client.js', 'text/javascript'],
      ['/sdk/resilient-ws-client.js.map', 'application/json'],
      ['/dashboard', 'text/html'],
      ['/dashboard/app.js', 'text/javascript'],
      ['/dashboard/app.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${http}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      await res.arrayBuffer();
    }
    const c = await RawClient.connect(`${http.replace(/^http/, 'ws')}/ws`);
    await c.hello();
    c.send({ t: 'msg', id: 'p1', data: 'from the package' });
    expect(await c.next((f) => f.t === 'ok')).toMatchObject({
      id: 'p1',
      data: { echo: 'from the package' },
    });
    c.close();
    child.kill('SIGTERM');
  });
});
