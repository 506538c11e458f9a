import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'client/**/*.test.ts',
            'mcp/**/*.test.ts',
            'test/unit/**/*.test.ts',
            'bench/**/*.test.ts',
            'dashboard/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 30_000,
          // Integration tests bind real sockets; run files one at a time on this 2-core box.
          fileParallelism: false,
        },
      },
    ],
  },
});
