import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          // The type checks run beside the unit tests (scripts/test-all.sh): a test that takes 3 s alone can
          // take over 5 s (vitest's default limit) on two shared cores.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'gpu',
          include: ['tests/gpu/**/*.test.ts'],
          environment: 'node',
          // dawn.node must live in a real process (not a worker thread); one process keeps one device warm.
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          // Builds dist/ and serves it on 127.0.0.1; tests read the URL with inject('studioUrl').
          globalSetup: ['tests/e2e/global-setup.ts'],
          // One Chromium at a time: SwiftShader already uses every core.
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
