import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // @oclif/test's runCommand sees nothing on stdout without this (toolchain.md §8).
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    // Third-party clients against the lab run on their own (`npm run test:conformance`).
    exclude: ['test/conformance/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
