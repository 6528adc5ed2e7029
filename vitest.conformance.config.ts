import {defineConfig} from 'vitest/config'

// The conformance suite: clients and tests the project did not write, run against the lab
// (`npm run test:conformance`; .ci/run installs the Debian packages it needs).
export default defineConfig({
  test: {
    include: ['test/conformance/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/conformance/table-reporter.ts'],
  },
})
