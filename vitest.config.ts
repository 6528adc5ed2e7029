import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // @oclif/test's runCommand sees nothing on stdout without this (toolchain.md §8).
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
