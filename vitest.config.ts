import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real servers (docker-registry, dynalite, fauxqs) and synthesize CDK stacks.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests that start `image-drift` as a process run dist/cli (the package's bin): build it first.
    globalSetup: ['test/support/build-cli.global.ts'],
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
