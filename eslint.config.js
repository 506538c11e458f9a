// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction (docs/architecture.md):
 *   cli → server → transport → session → outbox → store
 *   server → upstream → (resilience, session types)
 *   session → auth (principal types) → config, protocol
 *   leaves: errors, clock, events, core-events (types), protocol, resilience; nothing but
 *   server/ imports metrics/; client/ imports only src/protocol and src/resilience; mcp/
 *   imports client/index.js and public modules of src/ (src/index.js for types only).
 * Each entry lists the project modules a folder may NOT import.
 */
const ROOT_LEAVES = ['errors', 'clock', 'events', 'core-events'];
const FOLDERS = [
  'protocol',
  'resilience',
  'upstream',
  'config',
  'store',
  'outbox',
  'session',
  'transport',
  'server',
  'cli',
  'metrics',
  'auth',
];
const except = (...allowed) => FOLDERS.filter((f) => !allowed.includes(f));

export const layers = {
  protocol: [...except(), ...ROOT_LEAVES],
  // Browser-safe root leaves only (the SDK imports src/resilience): errors, clock, events.
  resilience: [...except(), 'core-events'],
  config: except('config'),
  store: except('store', 'protocol'),
  outbox: except('outbox', 'store', 'protocol'),
  // Who a client is (principal types; the token and JWT checks built from the configuration).
  auth: except('auth', 'protocol', 'config'),
  session: except('session', 'outbox', 'store', 'protocol', 'auth'),
  transport: except('transport', 'session', 'outbox', 'store', 'protocol'),
  upstream: except('upstream', 'resilience', 'session', 'protocol'),
  server: except(
    'server',
    'upstream',
    'transport',
    'session',
    'outbox',
    'store',
    'protocol',
    'config',
    'resilience',
    'metrics',
    'auth',
  ),
  metrics: except('metrics', 'protocol', 'resilience'),
  cli: ['metrics'],
};

function bannedPatterns(banned) {
  const groups = banned.flatMap((m) =>
    ROOT_LEAVES.includes(m)
      ? [`../${m}.js`, `../../${m}.js`]
      : [`../${m}/*`, `../${m}`, `../../${m}/*`],
  );
  return groups.length === 0
    ? []
    : [
        {
          group: groups,
          message: 'This import breaks the dependency direction (docs/architecture.md).',
        },
      ];
}

export const boundaryConfigs = [
  ...Object.entries(layers).map(([folder, banned]) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...bannedPatterns(banned),
            ...(['protocol', 'resilience'].includes(folder)
              ? [
                  {
                    group: ['node:*'],
                    message:
                      'src/protocol and src/resilience run in browsers too (the SDK): no Node modules.',
                  },
                ]
              : []),
            ...(['transport', 'server', 'cli'].includes(folder)
              ? []
              : [
                  {
                    group: ['ws'],
                    message: 'Only src/transport (and the composition root) may import ws.',
                  },
                ]),
          ],
        },
      ],
    },
  })),
  {
    // Root leaves import nothing of the project but protocol types.
    files: ['src/errors.ts', 'src/clock.ts', 'src/events.ts', 'src/core-events.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...except('protocol').map((f) => `./${f}/*`), 'ws'],
              message: 'Leaf modules must not import the layers above them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../src/*',
                '!../src/protocol',
                '!../src/resilience',
                '../src/*/**',
                '!../src/protocol/**',
                '!../src/resilience/**',
                '../../src/*',
                '!../../src/protocol',
                '!../../src/resilience',
                '../../src/*/**',
                '!../../src/protocol/**',
                '!../../src/resilience/**',
                'node:*',
              ],
              message:
                'The client SDK may import only src/protocol and src/resilience (it runs in browsers).',
            },
          ],
        },
      ],
    },
  },
  {
    // resilient-ws/mcp, the library transports (mcp/*.ts; the CLIs under mcp/cli/ are not
    // bound here): the client SDK through its entry point; src/ through public modules only
    // (the modules src/index.ts exports from), src/index.ts itself for types only, since it
    // loads the whole server (~0.5 s); no Node modules (the client transport runs in
    // browsers, as the client SDK does).
    files: ['mcp/*.ts'],
    ignores: ['mcp/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../client/*', '!../client/index.js'],
              message: 'mcp/ uses the client SDK through its entry point, ../client/index.js.',
            },
            {
              group: [
                '../src/*',
                '!../src/index.js',
                '!../src/errors.js',
                '!../src/protocol',
                '!../src/session',
                '../src/*/**',
                '!../src/protocol/**',
                '!../src/session/client-messages.js',
              ],
              message:
                'mcp/ may import only public modules of src/: index.js (types), errors.js, protocol/, session/client-messages.js.',
            },
            {
              group: ['../src/index.js'],
              allowTypeImports: true,
              message:
                'src/index.js loads the whole server: import types from it and values from their own module.',
            },
            {
              group: ['node:*'],
              message:
                'resilient-ws/mcp runs in browsers too (the client transport): no Node modules.',
            },
          ],
        },
      ],
    },
  },
];

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
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='only']",
          message: 'No .only in committed tests.',
        },
      ],
    },
  },
  ...boundaryConfigs,
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
  {
    files: ['bin/*.js', 'scripts/*.js', 'examples/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        URL: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
);
