// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction (docs/architecture.md):
 *   cli → server → transport → session → outbox → store
 *   leaves: errors, clock, events, protocol, resilience (no project imports but each other's
 *   leaf-level types where listed); nothing but server/ imports metrics/; client/ imports only
 *   src/protocol.
 * Each entry lists the project folders a folder may NOT import from.
 */
const layers = {
  protocol: ['config', 'store', 'outbox', 'session', 'transport', 'server', 'cli', 'metrics', 'resilience', 'errors', 'clock', 'events'],
  resilience: ['config', 'store', 'outbox', 'session', 'transport', 'server', 'cli', 'metrics', 'protocol'],
  config: ['store', 'outbox', 'session', 'transport', 'server', 'cli', 'metrics'],
  store: ['outbox', 'session', 'transport', 'server', 'cli', 'metrics', 'config'],
  outbox: ['session', 'transport', 'server', 'cli', 'metrics', 'config'],
  session: ['transport', 'server', 'cli', 'metrics', 'config'],
  transport: ['server', 'cli', 'metrics', 'config'],
  server: ['cli'],
  cli: [],
};

const folderPatterns = (folders) =>
  folders.flatMap((f) => [`../${f}/*`, `../${f}`, `../../src/${f}/*`]).concat(
    folders.flatMap((f) => (['errors', 'clock', 'events'].includes(f) ? [`../${f}.js`] : [])),
  );

const boundaryConfigs = Object.entries(layers).map(([folder, banned]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: folderPatterns(banned),
            message: `src/${folder} must not import this layer (see docs/architecture.md, dependency direction).`,
          },
          { group: ['ws'], message: 'Only src/transport and src/server may import ws.' },
        ].filter((p) => !(p.group[0] === 'ws' && (folder === 'transport' || folder === 'server' || folder === 'cli'))),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No .only in committed tests.' },
      ],
    },
  },
  ...boundaryConfigs,
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../src/*', '!../src/protocol', '../src/!(protocol)/**', 'node:*'],
              message: 'The client SDK may import only src/protocol (it runs in browsers).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', '**/*.contract.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
